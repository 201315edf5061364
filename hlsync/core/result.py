"""What an apply did: one :class:`Outcome` per change, and the exit code.

The applier fills these in plan order; ``render`` turns them into the report. An outcome
is ``ok`` (done), ``failed`` (the upstream refused or the call broke; ``message`` says
why) or ``skipped`` (not attempted: it depends on a failed change, a safety gate held it,
or ``--fail-fast`` stopped the run). Messages must never hold a token value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["ok", "failed", "skipped"]

EXIT_OK = 0
EXIT_FAILED = 1
# Live cloud: Private Integration changes were left to do by hand (see the runbook).
EXIT_MANUAL_PENDING = 4
# Ctrl-C: the report shows what was done before it (``cli`` exits so for any command).
EXIT_INTERRUPTED = 130


@dataclass(frozen=True, slots=True)
class Outcome:
    change_address: str
    status: Status
    message: str = ""
    api_calls: int = 0  # requests actually sent, retries included
    action: str | None = None  # the change's action, for the report

    @property
    def location(self) -> str:
        """``main`` for ``main.contact["…"]``, ``agency`` for agency changes."""
        return self.change_address.partition(".")[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.change_address,
            "action": self.action,
            "status": self.status,
            "message": self.message,
            "api_calls": self.api_calls,
        }


@dataclass(frozen=True, slots=True)
class LocationTally:
    location: str
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    api_calls: int = 0


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The outcomes of one apply, in the order the changes ran."""

    outcomes: tuple[Outcome, ...]
    plan_checksum: str | None = None
    elapsed_seconds: float | None = None
    interrupted: bool = False  # --fail-fast or Ctrl-C stopped the run early
    # addresses of Private Integration changes left to do by hand (manual driver)
    manual_steps: tuple[str, ...] = ()

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def api_calls(self) -> int:
        return sum(o.api_calls for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """0 when every change went through; 1 when any failed or was skipped; else
        4 when integration changes are left to do by hand (``manual_steps``)."""
        if self.interrupted or self.count("failed") or self.count("skipped"):
            return EXIT_FAILED
        if self.manual_steps:
            return EXIT_MANUAL_PENDING
        return EXIT_OK

    def by_location(self) -> tuple[LocationTally, ...]:
        """One row per location (agency first, then by name) for the summary table."""
        rows: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            row = rows.setdefault(
                o.location, {"ok": 0, "failed": 0, "skipped": 0, "api_calls": 0}
            )
            row[o.status] += 1
            row["api_calls"] += o.api_calls
        order = sorted(rows, key=lambda name: (name != "agency", name))
        return tuple(LocationTally(name, **rows[name]) for name in order)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "plan_checksum": self.plan_checksum,
            "exit_code": self.exit_code,
            "interrupted": self.interrupted,
            "elapsed_seconds": self.elapsed_seconds,
            "summary": {
                "ok": self.count("ok"),
                "failed": self.count("failed"),
                "skipped": self.count("skipped"),
                "api_calls": self.api_calls,
            },
            "outcomes": [o.to_dict() for o in self.outcomes],
        }
        if self.manual_steps:
            data["manual_steps"] = list(self.manual_steps)
        return data
