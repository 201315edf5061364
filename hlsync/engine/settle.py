"""Read-your-writes after an apply: wait, bounded, until reads show what it wrote.

Upstream's contact search trails writes by seconds (reference §5.6: "changes can take a
few seconds to show up in search"). Without this step a plan made just after an apply —
on this runner or on any other — shows changes already made, and a plan saved then is
refused as stale once the index catches up, blaming someone else.

``await_visible`` takes the changes an apply made (outcome ``ok``) of every kind whose
read lags (``ResourceKind.lagging_read``: contacts) and re-reads them as a saved plan
does (``reader.read_objects``: batched lookups, ``ceil(N / 100)`` searches a round, plus
the field list), then plans them again with their kind's ``plan``. A change that plans
as a noop is visible. Rounds repeat, re-reading only what is still unseen, after pauses
of 0.25, 0.5, 1 and then 2 s, until everything is visible or ``timeout`` seconds
(``apply --settle-timeout``, default :data:`SETTLE_TIMEOUT`) have passed. Kinds read
from plain lists (tags, custom fields, custom values, integrations) are not waited for.

When the index answers in time — the common case — this costs one round: one batched
search per 100 written contacts and one field list per location. When it does not, the
apply still succeeds and names what the index did not show yet; the next plan may show
those changes again (a repeated apply is safe: contact creates are upserts).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from hlsync.core.catalog import load_catalog
from hlsync.core.model import DesiredState, ObservedState
from hlsync.core.plan import Change, Plan
from hlsync.core.result import ApplyResult
from hlsync.engine.reader import ObjectRef, read_objects
from hlsync.errors import HlsyncError
from hlsync.kinds.base import PlanContext
from hlsync.kinds.integration_plan import PlanOptions
from hlsync.kinds.registry import KINDS, kind_named
from hlsync.targets.access import TargetAccess

SETTLE_TIMEOUT = 15.0  # seconds; upstream's lag is "a few seconds", 10 s seen at worst
POLL_PAUSES = (0.25, 0.5, 1.0, 2.0)

# Called before each pause with (changes not visible yet, seconds waited so far).
WaitCallback = Callable[[int, float], None]


@dataclass(frozen=True, slots=True)
class Settled:
    """What the wait found: ``checked`` changes looked at, ``unseen`` the addresses
    still not visible when it ended, ``problem`` a re-read that failed (the apply's
    outcome stands; only the wait was cut short)."""

    checked: int = 0
    waited_seconds: float = 0.0
    unseen: tuple[str, ...] = ()
    problem: str | None = None

    def warning(self) -> str | None:
        """A line for stderr when something may still show in the next plan."""
        if self.problem is not None:
            return (
                f"Warning: could not confirm that search shows this apply's writes "
                f"({self.problem}); the next plan may show some of them again\n"
            )
        if not self.unseen:
            return None
        shown = ", ".join(self.unseen[:3]) + (", …" if len(self.unseen) > 3 else "")
        return (
            f"Warning: after {self.waited_seconds:.0f} s upstream's search still does "
            f"not show {len(self.unseen)} of the changes just made ({shown}); the next "
            "plan may show them again until it catches up (raise --settle-timeout to "
            "wait longer)\n"
        )


async def await_visible(
    plan: Plan,
    result: ApplyResult,
    desired: DesiredState,
    access: TargetAccess,
    *,
    timeout: float = SETTLE_TIMEOUT,
    on_wait: WaitCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Settled:
    """Wait until a re-read plans each lagging change of ``result`` as a noop; see the
    module docstring. Never raises for an upstream error (that is ``problem``)."""
    done = {o.change_address for o in result.outcomes if o.status == "ok"}
    written = [
        c
        for c in plan.pending
        if c.address in done
        and c.location is not None
        and kind_named(c.kind).lagging_read
    ]
    if not written or timeout <= 0:
        return Settled(checked=len(written))
    started = clock()
    unseen = written
    rounds = 0
    while True:
        try:
            unseen = await _still_unseen(desired, access, unseen)
        except HlsyncError as exc:
            problem = "; ".join(p.message for p in exc.problems)
            return Settled(len(written), clock() - started, _addresses(unseen), problem)
        waited = clock() - started
        if not unseen or waited >= timeout:
            return Settled(len(written), waited, _addresses(unseen))
        if on_wait is not None:
            on_wait(len(unseen), waited)
        await pause(
            min(POLL_PAUSES[min(rounds, len(POLL_PAUSES) - 1)], timeout - waited)
        )
        rounds += 1


async def _still_unseen(
    desired: DesiredState, access: TargetAccess, changes: Sequence[Change]
) -> list[Change]:
    names = {c.location for c in changes}
    scope = dataclasses.replace(
        desired, locations=tuple(s for s in desired.locations if s.name in names)
    )
    refs = [ObjectRef(c.kind, c.location, c.key) for c in changes]
    observed = await read_objects(scope, access, refs)
    pending = _replanned(scope, observed)
    return [c for c in changes if c.address in pending]


def _replanned(desired: DesiredState, observed: ObservedState) -> set[str]:
    """Addresses the lagging kinds still plan as a change against ``observed``."""
    options = PlanOptions()
    catalog = load_catalog()
    out: set[str] = set()
    for spec in desired.locations:
        obs = observed.locations.get(spec.name)
        if obs is None:
            continue
        ctx = PlanContext(spec.name, spec.id, options, catalog, None, [])
        for kind in KINDS:
            if kind.lagging_read:
                out |= {c.address for c in kind.plan(spec, obs, ctx) if not c.is_noop}
    return out


def _addresses(changes: Sequence[Change]) -> tuple[str, ...]:
    return tuple(c.address for c in changes)
