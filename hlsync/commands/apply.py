"""``hlsync apply [PATH | PLANFILE]``: make the account match the config.

Two ways in:

* ``hlsync apply PLANFILE`` (a file saved by ``hlsync plan --out``, recognised by its
  content): load the plan (its checksum must match), load the config it was made from
  (``--config PATH``, default the ``config_root`` recorded in the plan) and refuse the
  plan if the config changed since; refuse it while a safety gate holds (``--force``
  lifts the forceable ones); re-read ONLY the objects the plan touches and refuse a stale
  plan, naming every object that changed; then execute exactly the plan's changes. The
  plan already was the review, so there is no prompt.
* ``hlsync apply [PATH]`` (a config): plan, show the plan, refuse it while a gate holds,
  then ask "Do you want to apply?" on a terminal (only ``yes`` proceeds); when stdin is
  not a terminal, ``--auto-approve`` is required (exit 1 with a hint, before anything is
  read). A location that seeds with an integration whose token its sink lacks
  (``TargetAccess.pending``) is not read by that plan: its repair runs first, then the
  rest of it is planned with the new token, shown and applied in the same run (a saved
  plan holds only the repair).

Minted Private Integration tokens go to each integration's sink (``hlsync.tokens.sinks``:
a 0600 file by default, an env-file entry or a command), with an intent recorded in the
token journal before each is minted and the delivery after (``hlsync.tokens.journal``); a
token minted but not stored fails its change, says how to recover, and the next plan
reports it. Before anything runs, the generations of existing integrations the journal
does not know yet are recorded (adopted), so a later bump is seen, and the previous
tokens kept for rotations whose overlap has ended are let go (``custody.release_ended``:
``apply`` does it, since ``plan`` writes nothing). Progress goes to stderr
(``--progress``, :mod:`hlsync.commands.progress`: live lines per location on a
terminal, plain lines every 10 s or 10 % after the first 10 s otherwise); the report (one outcome per change
and a summary table) to stdout in ``--format text|markdown|json``.
After the changes, apply waits (bounded by ``--settle-timeout``, on the progress line)
until upstream's search shows the contacts it wrote (``hlsync.engine.settle``), so the
next plan on any runner is clean; a wait that runs out is a warning, not a failure. With ``--format json``
stdout holds only the result JSON; the plan shown before applying goes to stderr.
Exit code: the result's (0 all done, 1 anything failed or was skipped, 4 on the
live cloud when Private Integration changes are left to do by hand: the runbook goes
to ``<config dir>/.hlsync/runbook.txt`` and ``.md``; everything else still applies).

One apply per location at a time (``hlsync.locks``): before the target is opened, the
local lock file of each targeted location (and of the agency when its integrations
are in the run); once it is open, the lease of each targeted location in the account;
both held, the lease renewed, until the report is written. Another run's lock is
waited for up to ``--lock-timeout`` seconds (default 0), then exit 1 naming its
holder and since when.

Ctrl-C once changes have started: the running changes are cancelled, and the report
shows what was decided until then (marked interrupted), then the stored-tokens line and
how many changes were not finished; exit 130. Before any change starts, Ctrl-C just
says "interrupted" (``cli``), as nothing was done.

Fan-out: ``--shard I/N`` plans and applies shard I of the selected locations
(``engine.sharding``; a shard's saved plan already holds only its part, so ``apply
PLANFILE`` takes no ``--shard``); ``--parallel-locations N`` reads and writes at most
N locations at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from pathlib import Path
from typing import TextIO

from hlsync.commands._common import (
    make_plan,
    plan_observed,
    plan_shard,
    read_plan_file,
    render_plan,
    targeted,
    want_color,
)
from hlsync.commands.progress import ApplyProgress
from hlsync.config.loader import display_path, find_files, load_config
from hlsync.core.model import AgencySpec, DesiredState
from hlsync.core.plan import Plan
from hlsync.core.render import (
    render_result_json,
    render_result_markdown,
    render_result_text,
)
from hlsync.core.result import EXIT_INTERRUPTED, ApplyResult, Outcome
from hlsync.engine import event_loop
from hlsync.engine.applier import apply_plan
from hlsync.engine.reader import ObjectRef, read_objects
from hlsync.engine.settle import SETTLE_TIMEOUT, await_visible
from hlsync.errors import HlsyncError
from hlsync.live.manual import manual_note, runbook_dir, split_manual, write_runbook
from hlsync.locks.guard import Holder, leases, local_locks, lock_names, whoami
from hlsync.targets.access import TargetAccess
from hlsync.targets.target import open_target
from hlsync.tokens.custody import TokenCustody, release_ended
from hlsync.tokens.journal import Journal, adopt_generations
from hlsync.tokens.rotation import token_key
from hlsync.tokens.sinks.routing import find_declared, preflight

PROMPT = (
    "\nDo you want to apply these changes?\n"
    "  hlsync will make exactly the changes shown above.\n"
    "  Only 'yes' will be accepted to approve.\n\n"
    "  Enter a value: "
)


def run(args: argparse.Namespace) -> int:
    plan = read_plan_file(Path(args.path))
    stored: list[Path] = []
    partial = _Partial()
    result: ApplyResult | None
    try:
        if plan is not None:
            result = _apply_saved(plan, args, stored, partial)
        else:
            result = _apply_config(args, stored, partial)
    except KeyboardInterrupt:
        if partial.plan is None:
            raise  # no change had started: nothing to report
        _report(partial.result(), args, stored, after_plan=plan is None)
        sys.stderr.write(partial.note())
        return EXIT_INTERRUPTED
    _report(result, args, stored, after_plan=plan is None)
    return 1 if result is None else result.exit_code


def _report(
    result: ApplyResult | None,
    args: argparse.Namespace,
    stored: list[Path],
    *,
    after_plan: bool,
) -> None:
    if result is not None:
        sys.stdout.write(_render_result(result, args, after_plan=after_plan))
        sys.stdout.flush()
    if stored:
        where = ", ".join(display_path(p) for p in stored)
        sys.stderr.write(f"New integration tokens stored (0600): {where}\n")


def _apply_saved(
    plan: Plan, args: argparse.Namespace, stored: list[Path], partial: _Partial
) -> ApplyResult:
    if args.location or args.exclude or args.shard is not None:
        raise HlsyncError(
            "--location/--exclude/--shard cannot narrow a saved plan: it applies "
            "exactly what it shows",
            hints=("pass them to 'hlsync plan --out FILE' instead",),
        )
    config_path = args.config or plan.config_root
    if config_path is None:
        raise HlsyncError(
            "the plan does not say which config it was made from",
            hints=("name it with --config PATH",),
        )
    if args.config is None:
        try:
            find_files(Path(config_path))
        except HlsyncError as exc:
            raise HlsyncError(
                f"the plan was made from the config at {config_path!r} (relative to "
                "the folder 'hlsync plan' ran in); there is none here",
                hints=("run from that folder, or pass --config PATH",),
            ) from exc
    desired = _plan_scope(load_config(config_path, allow=args.allow_path), plan)
    plan.raise_if_config_differs(desired.config_digest)
    plan.raise_if_unsafe(args.force)
    if desired.target.kind != "leadconnector":
        preflight(plan, desired)  # every sink works before anything is minted
    refs = [ObjectRef(kind, location, key) for kind, location, key in plan.targets()]
    me = whoami()

    async def go() -> ApplyResult:
        async with (
            open_target(desired, timeout=args.timeout) as access,
            _leases(access, desired, me, args),
        ):
            observed = await read_objects(
                desired, access, refs, parallel=args.parallel_locations
            )
            plan.raise_if_stale(observed)
            release_ended(desired, observed)
            return await _execute(plan, desired, access, args, stored, partial)

    with _local(desired, me, args):
        return event_loop.run(go())


def _plan_scope(desired: DesiredState, plan: Plan) -> DesiredState:
    """The config narrowed to what the plan covers, so only its targets are opened."""
    names = {p.name for p in plan.locations}
    unknown = sorted(names - {s.name for s in desired.locations})
    if unknown:
        raise HlsyncError(
            "the plan names locations the config does not have: " + ", ".join(unknown),
            hints=("run 'hlsync plan --out FILE' again and review the new plan",),
        )
    agency = desired.agency
    if not any(c.location is None for c in plan.pending):
        agency = AgencySpec(token=agency.token)
    return dataclasses.replace(
        desired,
        agency=agency,
        locations=tuple(s for s in desired.locations if s.name in names),
    )


def _apply_config(
    args: argparse.Namespace, stored: list[Path], partial: _Partial
) -> ApplyResult | None:
    if args.config is not None:
        raise HlsyncError("--config goes with a plan file; give the config as PATH")
    # the config is read (no network) before the approval check, so a broken config is
    # reported first rather than after the user has added --auto-approve
    desired = targeted(load_config(args.path, allow=args.allow_path), args)
    if not args.auto_approve and not sys.stdin.isatty():
        raise HlsyncError(
            "refusing to apply without approval: stdin is not a terminal",
            hints=(
                "review 'hlsync plan' and run again with --auto-approve, or save a "
                "plan with 'hlsync plan --out FILE' and run 'hlsync apply FILE'",
            ),
        )
    shown: TextIO = sys.stderr if args.format == "json" else sys.stdout
    me = whoami()

    async def go() -> ApplyResult | None:
        async with (
            open_target(desired, timeout=args.timeout) as access,
            _leases(access, desired, me, args),
        ):
            plan, observed = await plan_observed(
                desired,
                access,
                args.path,
                shard=plan_shard(args),
                parallel=args.parallel_locations,
                progress=args.progress,
            )
            color = want_color(args) and shown is sys.stdout
            shown.write(render_plan(plan, _plan_format(args), color=color))
            shown.flush()
            if not plan.has_changes:
                release_ended(desired, observed)
                _adopt(plan, desired)
                return ApplyResult(outcomes=(), plan_checksum=plan.checksum)
            plan.raise_if_unsafe(args.force)
            if not args.auto_approve and not _confirm():
                sys.stderr.write("Apply cancelled.\n")
                return None
            release_ended(desired, observed)
            result = await _execute(plan, desired, access, args, stored, partial)
            return await _after_repair(result, desired, access, args, stored, partial)

    with _local(desired, me, args):
        return event_loop.run(go())


def _local(
    desired: DesiredState, me: Holder, args: argparse.Namespace
) -> AbstractContextManager[None]:
    """The local lock files of the run (``hlsync.locks.guard``)."""
    names = lock_names(desired, agency=bool(desired.agency.integrations))
    return local_locks(desired, names, me, args.lock_timeout)


def _leases(
    access: TargetAccess, desired: DesiredState, me: Holder, args: argparse.Namespace
) -> AbstractAsyncContextManager[None]:
    """The leases of the run's locations in the account (``hlsync.locks.guard``)."""
    names = [spec.name for spec in desired.locations]
    return leases(access, names, me, args.lock_timeout)


async def _after_repair(
    result: ApplyResult,
    desired: DesiredState,
    access: TargetAccess,
    args: argparse.Namespace,
    stored: list[Path],
    partial: _Partial,
) -> ApplyResult | None:
    """The locations that waited for their seeding integration's repaired token
    (``access.pending``): once the repair stored it (their API switched to it), read,
    plan, show and apply the rest of them with it, in this run; the report holds both
    parts. Nothing more when the first part failed or a token did not arrive (the live
    cloud: it is delivered by hand)."""
    ready = sorted(n for n in access.pending if access.locations[n].has_token)
    if not ready or result.exit_code == 1:
        return result
    shown: TextIO = sys.stderr if args.format == "json" else sys.stdout
    rest = dataclasses.replace(
        desired,
        agency=AgencySpec(token=desired.agency.token),
        locations=tuple(s for s in desired.locations if s.name in ready),
    )
    now = dataclasses.replace(access, pending=access.pending - set(ready))
    plan = await make_plan(rest, now, args.path, parallel=args.parallel_locations)
    shown.write(
        f"\n{', '.join(ready)}: the seeding token is repaired; the rest, read with it:\n"
        + render_plan(plan, _plan_format(args), color=False)
    )
    shown.flush()
    if not plan.has_changes:
        return result
    plan.raise_if_unsafe(args.force)
    if not args.auto_approve and not _confirm():
        sys.stderr.write("Apply cancelled.\n")
        return result
    more = await _execute(plan, rest, now, args, stored, partial)
    return dataclasses.replace(
        more,
        outcomes=result.outcomes + more.outcomes,
        plan_checksum=result.plan_checksum,
        elapsed_seconds=(result.elapsed_seconds or 0) + (more.elapsed_seconds or 0),
        manual_steps=result.manual_steps + more.manual_steps,
    )


def _plan_format(args: argparse.Namespace) -> str:
    return "text" if args.format == "json" else str(args.format)


def _confirm() -> bool:
    """Ask on the terminal. A plain blocking read: nothing else runs meanwhile, and
    Ctrl-C interrupts it at once (a read in a worker thread would hold the exit)."""
    sys.stderr.write(PROMPT)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    sys.stderr.write("\n")
    return answer.strip() == "yes"


async def _execute(
    plan: Plan,
    desired: DesiredState,
    access: TargetAccess,
    args: argparse.Namespace,
    stored: list[Path],
    partial: _Partial,
) -> ApplyResult:
    """Run the plan; the paths of stored tokens are added to ``stored`` and each
    outcome to ``partial`` as it is decided (both kept when the run is interrupted),
    for the caller to report after the result."""
    journal = _adopt(plan, desired)
    custody = TokenCustody(desired, journal, plan.checksum)
    custody.stored = stored
    to_run, manual = split_manual(plan, access)  # live cloud: integrations by hand
    progress = ApplyProgress(
        to_run,
        access.traffic,
        sys.stderr,
        args.progress,
        agency_key=access.company_id,
    )
    partial.start(to_run)

    def decided(outcome: Outcome) -> None:
        partial.outcomes.append(outcome)
        progress.decided(outcome)

    async with progress.running():
        result = await apply_plan(
            to_run,
            access,
            fail_fast=args.fail_fast,
            on_outcome=decided,
            custody=custody,
            parallel_locations=args.parallel_locations,
        )
        settled = await await_visible(
            to_run,
            result,
            desired,
            access,
            timeout=SETTLE_TIMEOUT
            if args.settle_timeout is None
            else args.settle_timeout,
            on_wait=progress.waiting,
        )
    warning = settled.warning()
    if warning is not None:
        sys.stderr.write(warning)
    if manual:
        folder = runbook_dir(desired)
        files = write_runbook(plan, folder)
        sys.stderr.write(manual_note(manual, files, display_path(folder)))
        result = dataclasses.replace(
            result, manual_steps=tuple(c.address for c in manual)
        )
    return result


def _adopt(plan: Plan, desired: DesiredState) -> Journal:
    """Record the generation of each existing integration the journal lacks one for."""
    journal = Journal.for_config(desired)
    adopted: dict[str, int] = {}
    for change in plan.changes:
        if change.kind != "integration" or change.action in ("create", "delete"):
            continue
        decl = find_declared(desired, change.location, change.key)
        if decl is not None and decl.ensure == "present":
            adopted[token_key(change.location, change.key)] = decl.token.generation
    adopt_generations(journal, journal.history(), adopted)
    return journal


def _render_result(
    result: ApplyResult, args: argparse.Namespace, *, after_plan: bool
) -> str:
    if args.format == "json":
        return render_result_json(result)
    if args.format == "markdown":
        return render_result_markdown(result)
    if not result.outcomes and not result.interrupted:
        return ""  # nothing to do: the plan already said "No changes."
    text = render_result_text(result, color=want_color(args))
    return "\n" + text if after_plan else text


@dataclasses.dataclass(slots=True)
class _Partial:
    """The outcomes an apply has decided so far: its report when Ctrl-C stops it."""

    plan: Plan | None = None
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    started: float = 0.0

    def start(self, plan: Plan) -> None:
        self.plan = plan
        self.started = time.monotonic()

    def result(self) -> ApplyResult:
        """The decided outcomes in plan order, marked interrupted."""
        assert self.plan is not None, "no apply started"
        order = {c.address: i for i, c in enumerate(self.plan.pending)}
        done = sorted(self.outcomes, key=lambda o: order.get(o.change_address, 0))
        return ApplyResult(
            outcomes=tuple(done),
            plan_checksum=self.plan.checksum,
            elapsed_seconds=round(time.monotonic() - self.started, 3),
            interrupted=True,
        )

    def note(self) -> str:
        total = 0 if self.plan is None else len(self.plan.pending)
        left = total - len(self.outcomes)
        return (
            f"apply interrupted: {left} of {total} change{'s' if total != 1 else ''} "
            "not finished (any that were running may be partly done); run "
            "'hlsync plan' to see what is left\n"
        )
