"""``hlsync sandbox reset [PATH]``: remove what sandbox runs left beside a config.

The database, the tokens the sandbox minted into the config's sinks and their journal
records (:mod:`hlsync.targets.sandbox_reset`), one ``removed`` line each; then one
``kept`` line, with the reason, for each thing left in place.
"""

from __future__ import annotations

import argparse

from hlsync.targets.sandbox_reset import reset, shown


def run(args: argparse.Namespace) -> int:
    report = reset(args.path, args.allow_path)
    lines = [f"sandbox reset: removed {item}" for item in report.removed]
    if not report.removed:
        lines.append(f"no sandbox at {shown(report.database)}; nothing to reset")
    lines += [f"sandbox reset: kept {item}" for item in report.kept]
    print("\n".join(lines))
    return 0
