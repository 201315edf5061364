"""``hlsync show FILE``: render a saved plan (text, markdown or JSON) without reading
the account or the config. The file's checksum is verified; an edited plan is refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hlsync.commands._common import render_plan, want_color
from hlsync.config.loader import display_path
from hlsync.core.plan import Plan
from hlsync.errors import HlsyncError, Location


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise HlsyncError("no such file", Location(shown)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise HlsyncError(
            "cannot read the plan file", Location(shown), hints=(str(exc),)
        ) from exc
    plan = Plan.from_json(text, source=shown)
    sys.stdout.write(render_plan(plan, args.format, color=want_color(args)))
    return 0
