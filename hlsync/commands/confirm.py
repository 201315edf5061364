"""``hlsync confirm NAME [PATH] [--by WHO]``: record a change made by hand in the UI.

On the live cloud (manual driver) a Private Integration is created, edited, rotated or
deleted in the HighLevel web app by following the runbook. This command records that the
pending change of integration ``NAME`` (``<location>/<integration>`` or
``agency/<integration>``) was done: it loads the config, plans the integrations against
the ledger (no network: the ledger is the observed state) and writes the desired state
of that one integration into the ledger, with who (``--by``, else ``$USER``), when, and
which plan change. The plan is made with the options of ``hlsync plan`` (token journal,
generations the ledger confirmed, sinks; ``_common.plan_options``), so a token verb it
showed (``rotate_now`` after a ``token.generation`` bump, a rotation by age on the local
clock, the clock the ledger's own timestamps use) is confirmed like any other change.
Only for ``target: leadconnector``: elsewhere hlsync makes the change itself, and a
ledger entry would record a step nobody took (refused, with a hint). Exit 0 when
recorded, or when nothing was pending; 1 on an error.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import os
from datetime import UTC, datetime
from pathlib import Path

from hlsync.commands._common import plan_options
from hlsync.config.loader import display_path, load_config
from hlsync.engine.planner import build_plan
from hlsync.errors import HlsyncError
from hlsync.live.ledger import confirm_change, load_ledger, save_ledger
from hlsync.live.manual import (
    find_integration,
    integration_plan,
    ledger_file,
    pending_change,
    require_live_cloud,
)
from hlsync.live.runbook import integration_name


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
    path = ledger_file(desired)
    shown = display_path(path)
    ledger = load_ledger(path, shown)
    location = None if spec is None else spec.name
    at = datetime.now(UTC)
    options = plan_options(desired)
    planner = functools.partial(build_plan, options=options)
    plan = integration_plan(desired, ledger, planner, now=at)
    change = pending_change(plan, location, decl.name)
    key = f"{location or 'agency'}/{decl.name}"
    if change is None:
        print(f"{key}: nothing to confirm; the ledger already matches the config.")
        return 0
    if change.gate == "protected":
        raise HlsyncError(
            f"{change.address} is marked `protect: true`; its deletion is not confirmed",
            decl.source,
            hints=("remove `protect: true` from its config first if you mean it",),
        )
    updated = confirm_change(
        ledger,
        change,
        by=who,
        at=at,
        config_digest=desired.config_digest,
    )
    save_ledger(path, updated)
    print(f"Recorded in {shown}: {change.action} of {change.address}, by {who}.")
    follow = _next_step(change.action, integration_name(change), args.path)
    if follow:
        print(follow)
    return 0


def _next_step(action: str, key: str, path: str) -> str | None:
    where = "" if Path(path) == Path(".") else f" {path}"
    if action in ("create", "rotate", "rotate_now"):
        return f"Next: hlsync token deliver {key}{where}  (paste the new token)"
    if action == "update":
        return f"Next: hlsync verify {key}{where}"
    return None
