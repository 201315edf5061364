"""The soak's knobs: one frozen record built from the command line."""

from __future__ import annotations

from dataclasses import dataclass

# Bounds that keep every loop finite whatever the flags say.
APPLY_TIMEOUT = 300.0  # seconds one hlsync run may work before it is killed
# Every apply waits for the apply lock up to another run's whole bound, so that of two
# started together the second applies after the first instead of failing at once.
LOCK_TIMEOUT = APPLY_TIMEOUT
LOCK_WAIT = ("--lock-timeout", f"{LOCK_TIMEOUT:.0f}")
RUN_TIMEOUT = LOCK_TIMEOUT + APPLY_TIMEOUT  # seconds one run may last, waiting included
MAX_CONVERGE_APPLIES = 5  # applies after the faults before a trial counts as stuck
ROUND_SLACK = 3  # chaos rounds beyond one per kill


@dataclass(frozen=True, slots=True)
class Settings:
    """What one soak run does (``python -m tests.soak --help`` explains each)."""

    locations: int = 3
    contacts: int = 300
    error_rate: float = 0.10
    fail_after_commit: float = 0.05
    drop_share: float = 0.5
    latency_ms: int = 0
    search_lag_ms: int = 2000
    concurrent: int = 2
    kills: int = 20
    trials: int = 3
    seed: int = 1
    burst_max: int = 10_000

    def problems(self) -> list[str]:
        """What is wrong with these settings, one sentence each."""
        found: list[str] = []
        for name in ("locations", "contacts", "concurrent", "trials", "burst_max"):
            if getattr(self, name) < 1:
                found.append(f"--{name.replace('_', '-')} must be 1 or more")
        for name in ("kills", "latency_ms", "search_lag_ms"):
            if getattr(self, name) < 0:
                found.append(f"--{name.replace('_', '-')} must be 0 or more")
        for name in ("error_rate", "fail_after_commit", "drop_share"):
            if not 0 <= getattr(self, name) <= 1:
                found.append(f"--{name.replace('_', '-')} must be from 0 to 1")
        if self.contacts > 9_000:
            found.append("--contacts must be 9000 or fewer (one search window)")
        return found
