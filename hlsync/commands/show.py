"""``hlsync show FILE...``: render a saved plan (text, markdown or JSON) without reading
the account or the config. The file's checksum is verified; an edited plan is refused.

Several files (the saved plans of a ``--shard I/N`` matrix) are combined into one plan
and rendered once: one report, one pull-request comment (``engine.sharding.merge_plans``
refuses plans that do not belong together and names the shards a combination lacks).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hlsync.commands._common import render_plan, want_color
from hlsync.config.loader import display_path
from hlsync.core.plan import Plan
from hlsync.engine.sharding import merge_plans
from hlsync.errors import HlsyncError, Location


def run(args: argparse.Namespace) -> int:
    paths: list[Path] = args.file
    plan = merge_plans([_load(path) for path in paths])
    sys.stdout.write(render_plan(plan, args.format, color=want_color(args)))
    return 0


def _load(path: Path) -> tuple[str, Plan]:
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise HlsyncError("no such file", Location(shown)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise HlsyncError(
            "cannot read the plan file", Location(shown), hints=(str(exc),)
        ) from exc
    return shown, Plan.from_json(text, source=shown)
