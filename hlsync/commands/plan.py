"""``hlsync plan [PATH]``: read the account, diff it against the config, show the diff.

Only reads. ``--out FILE`` also saves the plan (JSON, ``schemas/plan.schema.json``) for
``hlsync apply FILE``; the file records the config's digest, where the config lives and
a fingerprint of every object it will touch, so a later apply can refuse it when either
changed. Exit 0, or with ``--detailed-exitcode`` 0 for no changes and 2 for changes.
On the live cloud (``target: leadconnector``) text and markdown output end with the
runbook: each Private Integration change as numbered steps in the HighLevel UI.
``--shard I/N`` plans shard I of the selected locations (``engine.sharding``), and
``--parallel-locations N`` reads at most N locations at once.
"""

from __future__ import annotations

import argparse
import sys

from hlsync.commands._common import (
    make_plan,
    plan_shard,
    render_plan,
    targeted,
    want_color,
    write_text_atomic,
)
from hlsync.commands.validate import write_warnings
from hlsync.config.loader import display_path, load_config
from hlsync.core.plan import Plan
from hlsync.core.render import render_plan_json
from hlsync.engine import event_loop
from hlsync.live.runbook import (
    render_runbook_markdown,
    render_runbook_text,
    runbook_items,
)
from hlsync.targets.target import open_target

EXIT_CHANGES = 2


def run(args: argparse.Namespace) -> int:
    config = load_config(args.path, allow=args.allow_path)
    write_warnings(config)
    desired = targeted(config, args)

    async def plan_it() -> Plan:
        async with open_target(desired, timeout=args.timeout) as access:
            return await make_plan(
                desired,
                access,
                args.path,
                shard=plan_shard(args),
                parallel=args.parallel_locations,
                progress=args.progress,
            )

    plan = event_loop.run(plan_it())
    sys.stdout.write(render_plan(plan, args.format, color=want_color(args)))
    if desired.target.kind == "leadconnector" and runbook_items(plan):
        # live cloud: integration changes are made by hand; show how (hlsync.live.manual)
        if args.format == "text":
            sys.stdout.write("\n" + render_runbook_text(plan))
        elif args.format == "markdown":
            sys.stdout.write("\n" + render_runbook_markdown(plan))
    if args.out is not None:
        write_text_atomic(args.out, render_plan_json(plan))
        shown = display_path(args.out)
        note = (
            f"\nSaved the plan to: {shown}\n"
            f"To apply exactly these changes, run: hlsync apply {shown}\n"
        )
        (sys.stdout if args.format == "text" else sys.stderr).write(note)
    if args.detailed_exitcode and plan.has_changes:
        return EXIT_CHANGES
    return 0
