"""One soak trial: a fresh emulator, the faulty phase, convergence, the audit.

Convergence runs with the faults off except the search lag, which is how upstream's
index always behaves: ``plan --detailed-exitcode``; on exit 2 (or 1) an ``apply
--auto-approve`` (no ``--force``) and plan again, right away, up to
:data:`~tests.soak.settings.MAX_CONVERGE_APPLIES` applies. A trial converges when a plan
exits 0; "applies to converge" counts the applies it took after the faulty phase.

Convergence applies wait for the apply lock (``--lock-timeout``) as the faulty phase's
do; the faulty phase ends by aging the leases its dead runs left (``leases.py``), so
convergence does not wait out a killed run's lease.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

from tests.soak.account import soak_locations, write_config
from tests.soak.audit import Audit, audit, present
from tests.soak.chaos import ChaosResult, chaos
from tests.soak.runs import TRACEBACK, Finished, run
from tests.soak.settings import LOCK_WAIT, MAX_CONVERGE_APPLIES, Settings
from tests.soak.upstream import Upstream, serve

INJECTED_DROP = "ConnectionDropped: fault injection"


@dataclass(frozen=True, slots=True)
class TrialResult:
    audit: Audit
    chaos: ChaosResult
    written: int  # declared contacts present when the faulty phase ended
    converge: tuple[Finished, ...]
    applies_to_converge: int | None  # None: no plan exited 0 within the bound
    emulator_tracebacks: int
    seconds: float

    @property
    def runs(self) -> tuple[Finished, ...]:
        return self.chaos.runs + self.converge

    @property
    def tracebacks(self) -> int:
        """Runs of hlsync whose output holds a traceback."""
        return sum(r.traceback for r in self.runs)

    @property
    def internal_errors(self) -> int:
        return sum(r.internal_error for r in self.runs)


def trial(folder: Path, settings: Settings, number: int) -> TrialResult:
    started = time.monotonic()
    rng = random.Random(f"{settings.seed}:{number}")
    locations = soak_locations(settings.locations)
    folder.mkdir(parents=True, exist_ok=True)
    with serve(folder, locations, settings) as upstream:
        write_config(folder, upstream.url, locations, settings.contacts)
        env = {loc.variable: upstream.tokens[loc.id] for loc in locations}
        upstream.set_faults(settings, rng.randrange(2**31), lag_only=False)
        faulty = chaos(folder, upstream, locations, env, settings, rng)
        written = present(upstream, locations, settings.contacts)
        upstream.set_faults(settings, 0, lag_only=True)
        converge, applies = _converge(folder, env)
        found = audit(folder, upstream, locations, settings.contacts)
    return TrialResult(
        found,
        faulty,
        written,
        converge,
        applies,
        _emulator_tracebacks(upstream),
        time.monotonic() - started,
    )


def _converge(
    folder: Path, env: dict[str, str]
) -> tuple[tuple[Finished, ...], int | None]:
    runs: list[Finished] = []
    for applies in range(MAX_CONVERGE_APPLIES + 1):
        plan = run(
            folder, f"converge-{applies}-plan", env, "plan", ".", "--detailed-exitcode"
        )
        runs.append(plan)
        if plan.code == 0:
            return tuple(runs), applies
        if applies == MAX_CONVERGE_APPLIES:
            break
        name = f"converge-{applies + 1}-apply"
        runs.append(run(folder, name, env, "apply", ".", "--auto-approve", *LOCK_WAIT))
    return tuple(runs), None


def _emulator_tracebacks(upstream: Upstream) -> int:
    """Tracebacks in the emulator's stderr, less those of injected dropped connections
    (the server logs each one it closes on purpose)."""
    text = upstream.stderr.read_text(encoding="utf-8", errors="replace")
    blocks = text.split(TRACEBACK)[1:]
    return sum(INJECTED_DROP not in block for block in blocks)
