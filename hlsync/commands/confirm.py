"""``hlsync confirm NAME [PATH] [--by WHO]``: record a change made by hand in the UI.

On the live cloud (manual driver) a Private Integration is created, edited, rotated or
deleted in the HighLevel web app by following the runbook. This command records that the
pending change of integration ``NAME`` (``<location>/<integration>`` or
``agency/<integration>``) was done: it loads the config, plans the integrations against
the ledger (the ledger is the observed state) and writes the desired state of that one
integration into the ledger, with who (``--by``, else ``$USER``), when, and which plan
change.

When: the upstream's time (the ``Date`` header of one request that needs no token,
``upstream.server_time``; its only request), or this machine's clock when the API
cannot be reached; the output and the event's ``clock`` say which. The plan is made on
that time too, with the options of ``hlsync plan`` (token journal, generations the
ledger confirmed, sinks; ``_common.plan_options``), so a token verb it showed
(``rotate_now`` after a ``token.generation`` bump, a rotation by age) is confirmed like
any other change. Load, change and write happen under the ledger's lock
(``live.ledger_lock``), so two confirms started together are both recorded.

``--cancel-rotation`` records a rotation cancelled in the UI ("Cancel rotation", which
no plan proposes: ``hlsync token cancel-rotation NAME`` shows its runbook steps): the
ledger's open rotation ends, and the old token, kept when the rotation's new one was
delivered, goes back into the sink (the new one no longer works).

Only for ``target: leadconnector``: elsewhere hlsync makes the change itself, and a
ledger entry would record a step nobody took (refused, with a hint). Exit 0 when
recorded, or when nothing was pending; 1 on an error.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import os
from pathlib import Path

from hlsync.commands._common import plan_options
from hlsync.config.loader import display_path, load_config
from hlsync.core.model import DesiredState
from hlsync.core.plan import Change
from hlsync.engine import event_loop
from hlsync.engine.planner import build_plan
from hlsync.errors import HlsyncError
from hlsync.kinds.integration_plan import RequestVerb
from hlsync.live.ledger import confirm_change, load_ledger, save_ledger, stamp
from hlsync.live.ledger_lock import hold_ledger
from hlsync.live.manual import (
    find_integration,
    integration_plan,
    leadconnector_base_url,
    ledger_file,
    pending_change,
    require_live_cloud,
)
from hlsync.live.runbook import integration_name
from hlsync.tokens.custody import TokenCustody
from hlsync.tokens.journal import Journal
from hlsync.tokens.sinks.routing import config_dir
from hlsync.upstream.server_time import upstream_time


def operator(given: str | None) -> str:
    """Who confirms: ``--by``, else ``$USER`` / ``$LOGNAME``, else the login name."""
    who = given if given is not None else _login()
    who = (who or "").strip()
    if not who or any(ch in who for ch in "\r\n"):
        raise HlsyncError(
            "cannot tell who confirms this change",
            hints=("pass --by NAME (one line, not empty)",),
        )
    return who


def _login() -> str:
    for variable in ("USER", "LOGNAME"):
        if os.environ.get(variable, "").strip():
            return os.environ[variable]
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def run(args: argparse.Namespace) -> int:
    who = operator(args.by)
    desired = load_config(args.path, allow=args.allow_path)
    require_live_cloud(desired, "confirm")
    spec, decl = find_integration(desired, args.name)
    base_url = leadconnector_base_url(desired.target, os.environ)
    path = ledger_file(desired)
    shown = display_path(path)
    location = None if spec is None else spec.name
    key = f"{location or 'agency'}/{decl.name}"
    when = event_loop.run(upstream_time(base_url))
    with hold_ledger(config_dir(desired)):
        ledger = load_ledger(path, shown)  # inside the lock: the latest one
        requests: dict[str, RequestVerb] = {}
        if args.cancel_rotation:
            requests[key] = "cancel_rotation"
        options = plan_options(desired, requests)
        planner = functools.partial(build_plan, options=options)
        plan = integration_plan(desired, ledger, planner, now=when.at)
        change = pending_change(
            plan, location, decl.name, "cancel_rotation" if requests else None
        )
        if change is None:
            print(f"{key}: nothing to confirm; the ledger already matches the config.")
            return 0
        if change.gate == "protected":
            raise HlsyncError(
                f"{change.address} is marked `protect: true`; its deletion is not "
                "confirmed",
                decl.source,
                hints=("remove `protect: true` from its config first if you mean it",),
            )
        updated = confirm_change(
            ledger,
            change,
            by=who,
            at=when.at,
            config_digest=desired.config_digest,
            clock=when.source,
        )
        save_ledger(path, updated)
    print(
        f"Recorded in {shown}: {change.action} of {change.address}, by {who}, "
        f"at {stamp(when.at)} on {when.how}."
    )
    if change.action == "cancel_rotation":
        return _restore_previous(desired, change)
    follow = _next_step(change.action, integration_name(change), args.path)
    if follow:
        print(follow)
    return 0


def _restore_previous(desired: DesiredState, change: Change) -> int:
    """After a rotation cancelled in the UI: the old token, kept when the rotation's
    new one was delivered, back into the sink (the new one no longer works)."""
    custody = TokenCustody(desired, Journal.for_config(desired), "")
    key = integration_name(change)
    problem = custody.restore_problem(change.location, change.key)
    if problem is None:
        note, _ = event_loop.run(custody.restore_previous(change))
        print(f"{key}: {note}. Next: hlsync verify {key}")
        return 0
    raise HlsyncError(
        f"{key}: the cancellation is recorded, but its sink still holds the token the "
        f"rotation made, which no longer works: {problem}",
        hints=(
            f"deliver the old token if you have it: 'hlsync token deliver {key}'",
            "otherwise make a new one: bump the integration's token.generation and "
            "follow the plan's runbook (rotate now)",
        ),
    )


def _next_step(action: str, key: str, path: str) -> str | None:
    where = "" if Path(path) == Path(".") else f" {path}"
    if action in ("create", "rotate", "rotate_now"):
        return f"Next: hlsync token deliver {key}{where}  (paste the new token)"
    if action == "update":
        return f"Next: hlsync verify {key}{where}"
    return None
