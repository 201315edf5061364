"""``hlsync token rotate|cancel-rotation|expire-old NAME``: token verbs on request.

Imperative escapes that still go through plan and apply (issue 5 item 5): the command
reads the integration through the target, plans exactly one change for it with the
requested verb (``PlanOptions.requests``), shows that plan, asks for approval like
``hlsync apply`` (a terminal prompt, or ``--auto-approve`` when stdin is not a
terminal), then applies it with the token journal and the integration's sink, exactly as
``apply`` would. Nothing else of the config is read or changed.

* ``rotate NAME`` — a new token into the sink; the old one keeps working through the
  overlap (``token.overlap``, default 7 days). ``--now``: the old one dies at once (the
  way to recover a token that was minted but not stored); needs ``--force``.
* ``cancel-rotation NAME`` — keep the old token, revoke the one the rotation minted:
  the old token (kept by the custody when the rotation stored the new one) goes back
  into the sink. Refused before anything is read when it cannot (a command sink, or no
  previous token held): the sink would be left holding a revoked token.
* ``expire-old NAME`` — end the overlap now: only the newest token keeps working; needs
  ``--force``.

They write, so they take the apply lock of the integration's location (or the agency's
local lock) like ``apply`` (``--lock-timeout``).

Ending a token that may still be in use is irreversible (DESIGN.md §3), so ``rotate
--now`` and ``expire-old`` refuse without ``--force`` before anything is read, with a
hint; their plan carries the ``token_expiry`` gate like ``apply``'s.

NAME is ``<location>/<integration>`` or ``agency/<integration>``. On the live cloud
(``target: leadconnector``) these are UI steps: ``rotate`` and ``expire-old`` refuse and
say how the plan gets there; ``cancel-rotation``, which no plan proposes, prints its
runbook steps (the last one: ``hlsync confirm NAME --cancel-rotation``) and exits 4.
Exit 0 when done, 1 when the change failed or was cancelled.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
from datetime import UTC, datetime
from pathlib import Path

from hlsync.commands._common import (
    plan_observed,
    plan_options,
    render_plan,
    want_color,
)
from hlsync.config.loader import display_path, load_config
from hlsync.core.model import AgencySpec, DesiredState, LocationSpec
from hlsync.core.plan import Plan
from hlsync.core.render import (
    render_result_json,
    render_result_markdown,
    render_result_text,
)
from hlsync.core.result import EXIT_MANUAL_PENDING, ApplyResult
from hlsync.engine import event_loop
from hlsync.engine.applier import apply_plan
from hlsync.engine.planner import build_plan
from hlsync.errors import HlsyncError
from hlsync.kinds.integration_plan import EXPIRING, RequestVerb
from hlsync.live.ledger import load_ledger
from hlsync.live.manual import find_integration, integration_plan, ledger_file
from hlsync.live.runbook import render_runbook_text
from hlsync.locks.guard import leases, local_locks, lock_names, whoami
from hlsync.targets.target import open_target
from hlsync.tokens.custody import TokenCustody, release_ended
from hlsync.tokens.journal import Journal
from hlsync.tokens.rotation import token_key

PROMPT = (
    "\nDo you want to make this token change?\n"
    "  Only 'yes' will be accepted to approve.\n\n"
    "  Enter a value: "
)


def run_rotate(args: argparse.Namespace) -> int:
    return _run(args, "rotate_now" if args.now else "rotate")


def run_cancel_rotation(args: argparse.Namespace) -> int:
    return _run(args, "cancel_rotation")


def run_expire_old(args: argparse.Namespace) -> int:
    return _run(args, "expire_old")


def narrow(desired: DesiredState, name: str) -> tuple[DesiredState, str]:
    """The config reduced to the one integration ``name`` names, and its key."""
    spec, decl = find_integration(desired, name)
    key = token_key(None if spec is None else spec.name, decl.name)
    if decl.ensure == "absent":
        raise HlsyncError(f"{key} is declared `ensure: absent`", decl.source)
    if spec is None:
        return (
            dataclasses.replace(
                desired,
                agency=AgencySpec(token=desired.agency.token, integrations=(decl,)),
                locations=(),
            ),
            key,
        )
    only: LocationSpec = dataclasses.replace(
        spec, integrations=(decl,), custom_fields=(), tags=(), contacts=()
    )
    return (
        dataclasses.replace(
            desired, agency=AgencySpec(token=desired.agency.token), locations=(only,)
        ),
        key,
    )


def _run(args: argparse.Namespace, verb: RequestVerb) -> int:
    loaded = load_config(args.path, allow=args.allow_path)
    if verb == "cancel_rotation" and loaded.target.kind == "leadconnector":
        return _cancel_by_hand(loaded, args.name, args.path)  # nothing to approve
    if not args.auto_approve and not sys.stdin.isatty():
        raise HlsyncError(
            "refusing to change a token without approval: stdin is not a terminal",
            hints=("review the change and run again with --auto-approve",),
        )
    desired, key = narrow(loaded, args.name)
    if desired.target.kind == "leadconnector":
        raise HlsyncError(
            f"{key}: on the live cloud tokens are rotated in the HighLevel UI",
            hints=(
                "bump the integration's `token.generation` (rotate now) and run "
                "'hlsync plan' for the runbook steps, then 'hlsync token deliver'",
            ),
        )

    force = bool(getattr(args, "force", False))
    if verb in EXPIRING and not force:
        raise _needs_force(verb, key)
    if verb == "cancel_rotation":
        _check_restorable(desired, key)

    stored: list[Path] = []
    me = whoami()

    async def go() -> ApplyResult | None:
        async with (
            open_target(desired, timeout=args.timeout) as access,
            leases(access, [s.name for s in desired.locations], me, args.lock_timeout),
        ):
            full, observed = await plan_observed(
                desired, access, args.path, requests={key: verb}
            )
            plan = _only(full, verb)
            shown = sys.stderr if args.format == "json" else sys.stdout
            fmt = "text" if args.format == "json" else str(args.format)
            shown.write(render_plan(plan, fmt, color=want_color(args)))
            shown.flush()
            plan.raise_if_unsafe(force)
            if not args.auto_approve and not _confirm():
                sys.stderr.write("Cancelled.\n")
                return None
            release_ended(desired, observed)  # as apply does
            custody = TokenCustody(desired, Journal.for_config(desired), plan.checksum)
            custody.stored = stored
            return await apply_plan(plan, access, custody=custody)

    names = lock_names(desired, agency=bool(desired.agency.integrations))
    with local_locks(desired, names, me, args.lock_timeout):
        result = event_loop.run(go())
    if result is None:
        return 1
    if args.format == "json":
        sys.stdout.write(render_result_json(result))
    elif args.format == "markdown":
        sys.stdout.write(render_result_markdown(result))
    else:
        sys.stdout.write("\n" + render_result_text(result, color=want_color(args)))
    sys.stdout.flush()
    if stored:
        where = ", ".join(display_path(p) for p in stored)
        sys.stderr.write(f"New token stored (0600): {where}\n")
    return result.exit_code


def _cancel_by_hand(desired: DesiredState, name: str, path: str) -> int:
    """The live cloud: a rotation is cancelled in the UI. Show the runbook steps
    (the plan of the requested cancellation against the ledger) and exit
    ``EXIT_MANUAL_PENDING``; ``hlsync confirm NAME --cancel-rotation`` records it."""
    narrowed, key = narrow(desired, name)
    ledger = load_ledger(ledger_file(narrowed))
    planner = functools.partial(
        build_plan, options=plan_options(narrowed, {key: "cancel_rotation"})
    )
    plan = integration_plan(narrowed, ledger, planner, now=datetime.now(UTC))
    plan = dataclasses.replace(
        _only(plan, "cancel_rotation"),
        config_root=None if path in (".", "") else path,
    )
    sys.stdout.write(render_runbook_text(plan))
    where, _, short = key.partition("/")
    location = None if narrowed.location(where) is None else where
    problem = TokenCustody(narrowed, None, "").restore_problem(location, short)
    if problem is not None:
        sys.stderr.write(
            f"Warning: {problem}, so after cancelling its sink would keep the token "
            "the rotation made, which stops working: deliver the old token yourself "
            f"('hlsync token deliver {key}'), or keep the new one and let the overlap "
            "end instead.\n"
        )
    return EXIT_MANUAL_PENDING


def _check_restorable(desired: DesiredState, key: str) -> None:
    """Refuse, before the upstream is asked, a cancellation whose sink could not get
    its previous token back: it would be left holding the token the cancel revokes."""
    where, _, name = key.partition("/")
    location = None if desired.location(where) is None else where
    problem = TokenCustody(desired, None, "").restore_problem(location, name)
    if problem is not None:
        raise HlsyncError(
            f"refusing to cancel the rotation of {key}: {problem}, and cancelling "
            "revokes the new token the sink holds",
            hints=(
                f"keep the new token instead: 'hlsync token expire-old {key} --force' "
                "(or let the overlap end)",
            ),
        )


def _needs_force(verb: RequestVerb, key: str) -> HlsyncError:
    """The refusal of a verb that ends a token at once, without ``--force``."""
    check = "make sure nothing still uses that token, then run again with --force"
    if verb == "rotate_now":
        return HlsyncError(
            f"refusing to rotate {key} now without --force: its current token stops "
            "working at once, and something may still be using it",
            hints=(
                check,
                f"'hlsync token rotate {key}' (without --now) keeps the old token "
                "working through the overlap",
            ),
        )
    return HlsyncError(
        f"refusing to expire the old token of {key} without --force: it stops "
        "working at once, and something may still be using it",
        hints=(check, "left alone, it expires by itself when the overlap ends"),
    )


def _only(plan: Plan, verb: str) -> Plan:
    """The plan's one requested token change, on its own (no update beside it)."""
    changes = tuple(
        dataclasses.replace(c, depends_on=())
        for c in plan.changes
        if c.kind == "integration" and c.action == verb
    )
    return dataclasses.replace(plan, changes=changes, warnings=plan.warnings)


def _confirm() -> bool:
    sys.stderr.write(PROMPT)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    sys.stderr.write("\n")
    return answer.strip() == "yes"
