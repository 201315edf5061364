"""Execute a plan's changes: ``apply_plan(plan, access) -> ApplyResult``.

The caller has already refused an unsafe, stale or foreign plan (``Plan.raise_if_unsafe``,
``raise_if_stale``, ``raise_if_config_differs``); this module only carries out
``plan.pending`` (the changes that make API calls), exactly as the plan describes them
(``hlsync.engine.change_writer`` says how each kind of change is written).

Scheduling:

* A change starts once every change it ``depends_on`` has finished; if one of them failed
  or was skipped, it is skipped ("depends on X, which failed") and so, in turn, are its own
  dependents. Everything else keeps going: one bad contact never blocks the others.
* Integration deletes run after every other change has finished (a deleted integration
  may hold the token the other calls use), whatever those outcomes were.
* Independent changes run concurrently, at most :data:`IN_FLIGHT_PER_LOCATION` per
  location (and per agency): the pacer's cap, so its Little's-law in-flight limit
  (rate × latency) is what bounds a location, even while a contact update waits
  between its calls. Request pacing itself is ``client.Pacer``'s.
* ``parallel_locations``: at most that many locations (the agency counts as one) have
  changes running at once (``location_slots``; ``--parallel-locations``).
* ``fail_fast``: after the first failure no further change starts (changes already
  running finish, so nothing is cut off mid-write); the rest are skipped and the result
  is marked ``interrupted``.
* One :class:`~hlsync.core.result.Outcome` per pending change, in plan order; ``on_outcome``
  is called as each one is decided (for a progress display). ``api_calls`` counts the
  HTTP requests a change sent, retries included (``client.attempt_counter``).

An exception that is not a change's failure (a bug, or ``on_outcome`` raising) cancels
the run. Changes run concurrently, so several can raise before the cancellation lands;
none of them is dropped (issue 10, item 7; :func:`_one_error`): a single one (or the same
one from every change, such as a closed progress stream) propagates as itself, and
otherwise one :class:`~hlsync.errors.HlsyncError` lists every change and what it raised.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from hlsync.core.plan import AGENCY, Change, Plan
from hlsync.core.result import ApplyResult, Outcome
from hlsync.engine.change_writer import ChangeWriter, known_field_ids
from hlsync.engine.location_slots import LocationSlots
from hlsync.errors import HlsyncError, Problem
from hlsync.kinds.integration_writer import Custody, DeliverToken
from hlsync.targets.access import TargetAccess
from hlsync.upstream.pacing import DEFAULT_MAX_IN_FLIGHT

__all__ = [
    "IN_FLIGHT_PER_LOCATION",
    "Custody",
    "DeliverToken",
    "OutcomeCallback",
    "apply_plan",
]

IN_FLIGHT_PER_LOCATION = DEFAULT_MAX_IN_FLIGHT  # the pacer's cap

OutcomeCallback = Callable[[Outcome], None]


async def apply_plan(
    plan: Plan,
    access: TargetAccess,
    *,
    fail_fast: bool = False,
    on_outcome: OutcomeCallback | None = None,
    deliver_token: DeliverToken | None = None,
    custody: Custody | None = None,
    parallel_locations: int | None = None,
) -> ApplyResult:
    """Make every pending change of ``plan`` through ``access``; see the module docstring.

    Minted tokens go to ``custody`` (journal and sink, ``custody.TokenCustody``), else to
    the bare ``deliver_token`` callable.

    Never raises for a change that fails: that is a ``failed`` outcome. An exception from
    ``on_outcome`` (or any non-``HlsyncError`` bug) cancels the run and propagates.
    """
    started = time.monotonic()
    pending = plan.pending
    twice = sorted(_repeated(pending))
    if twice:
        raise HlsyncError(
            f"the plan lists {', '.join(twice)} more than once",
            hints=("make a new plan with 'hlsync plan --out FILE'",),
        )
    writer = ChangeWriter(access, deliver_token, known_field_ids(plan.changes), custody)
    by_address = {c.address: c for c in pending}
    finished = {c.address: asyncio.Event() for c in pending}
    outcomes: dict[str, Outcome] = {}
    stop = asyncio.Event()
    stopped_any = False
    limits: dict[str, asyncio.Semaphore] = {}
    slots = LocationSlots(parallel_locations)
    others = [c.address for c in pending if not _is_integration_delete(c)]

    def waits_for(change: Change) -> tuple[list[str], list[str]]:
        """(dependencies that must succeed, changes that must merely finish first)"""
        needs = [a for a in change.depends_on if a in by_address]
        after = others if _is_integration_delete(change) else []
        return needs, after

    cyclic = _cyclic(pending, waits_for)

    def decide(outcome: Outcome) -> None:
        outcomes[outcome.change_address] = outcome
        if outcome.status == "failed" and fail_fast:
            stop.set()
        if on_outcome is not None:
            on_outcome(outcome)
        finished[outcome.change_address].set()

    raised: list[tuple[BaseException, str]] = []  # what each change's task raised

    async def run(change: Change) -> None:
        try:
            await run_one(change)
        except BaseException as exc:
            raised.append((exc, change.address))
            raise

    async def run_one(change: Change) -> None:
        nonlocal stopped_any
        needs, after = waits_for(change)
        for address in (*needs, *after):
            await finished[address].wait()
        blocker = next((a for a in needs if outcomes[a].status != "ok"), None)
        if blocker is not None:
            verb = "failed" if outcomes[blocker].status == "failed" else "was skipped"
            decide(_skipped(change, f"depends on {blocker}, which {verb}"))
            return
        if change.gate == "protected":
            decide(_skipped(change, "held back: it is protected (`protect: true`)"))
            return
        bucket = change.location or AGENCY
        limit = limits.setdefault(bucket, asyncio.Semaphore(IN_FLIGHT_PER_LOCATION))
        async with slots.hold(bucket), limit:
            if stop.is_set():
                stopped_any = True
                decide(_skipped(change, "not run: --fail-fast stopped the apply"))
                return
            decide(await writer.execute(change))

    for change in pending:
        if change.address in cyclic:
            message = (
                "not run: it is part of (or waits on) a dependency cycle in the plan"
            )
            decide(Outcome(change.address, "failed", message, 0, change.action))
    try:
        async with asyncio.TaskGroup() as group:
            for change in pending:
                if change.address not in cyclic:
                    group.create_task(run(change))
    except BaseExceptionGroup as failed:  # a bug, or on_outcome raised
        error = _one_error(failed, raised)
        if isinstance(error, HlsyncError) and error not in failed.exceptions:
            raise error from failed  # a new error listing them: keep the originals
        raise error from None
    return ApplyResult(
        outcomes=tuple(outcomes[c.address] for c in pending),
        plan_checksum=plan.checksum,
        elapsed_seconds=round(time.monotonic() - started, 3),
        interrupted=stopped_any,
    )


def _one_error(
    group: BaseExceptionGroup[BaseException],
    raised: Sequence[tuple[BaseException, str]],
) -> BaseException:
    """The one exception that reports every exception of ``group`` (module docstring).

    ``raised`` names the change whose task raised each one (an exception not in it
    came from outside any change)."""
    leaves = _leaves(group)  # never KeyboardInterrupt: asyncio raises it at once
    first = leaves[0]
    if all(type(e) is type(first) and str(e) == str(first) for e in leaves):
        return first  # one failure, reached by several changes
    problems: list[Problem] = []
    for leaf in leaves:
        if isinstance(leaf, HlsyncError):
            problems.extend(leaf.problems)
            continue
        address = next((a for e, a in raised if e is leaf), None)
        where = f"{address}: " if address is not None else ""
        problems.append(
            Problem(
                f"{where}internal error ({type(leaf).__name__}: {leaf})",
                None,
                "this is a bug in hlsync; please report it",
            )
        )
    return HlsyncError.collect(problems)


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """Every exception of ``group`` and of the groups inside it, in order."""
    found: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found.extend(_leaves(exc))
        else:
            found.append(exc)
    return found


def _cyclic(
    changes: Sequence[Change],
    waits_for: Callable[[Change], tuple[list[str], list[str]]],
) -> set[str]:
    """Addresses that can never start: on a dependency cycle or behind one (Kahn)."""
    waiting: dict[str, int] = {}
    blocks: dict[str, list[str]] = {}
    for change in changes:
        needs, after = waits_for(change)
        edges = {*needs, *after}
        waiting[change.address] = len(edges)
        for address in edges:
            blocks.setdefault(address, []).append(change.address)
    ready = [a for a, n in waiting.items() if n == 0]
    while ready:
        for follower in blocks.get(ready.pop(), []):
            waiting[follower] -= 1
            if waiting[follower] == 0:
                ready.append(follower)
    return {a for a, n in waiting.items() if n > 0}


def _repeated(changes: Sequence[Change]) -> set[str]:
    seen: set[str] = set()
    again = set()
    for change in changes:
        if change.address in seen:
            again.add(change.address)
        seen.add(change.address)
    return again


def _is_integration_delete(change: Change) -> bool:
    return change.kind == "integration" and change.action == "delete"


def _skipped(change: Change, message: str) -> Outcome:
    return Outcome(change.address, "skipped", message, 0, change.action)
