"""``hlsync validate [PATH]``: check a config without touching the network.

Exit 0 and a one-line summary on stdout when the config is valid; otherwise every
problem goes to stderr as ``file:line:column: message`` (printed by ``cli.main`` from
the ``HlsyncError`` that ``load_config`` raises) and the exit code is 1. Warnings (a
phone number upstream stores but no numbering plan has) go to stderr as
``file:line:column: warning: message`` and leave the exit code alone; ``plan`` prints
them the same way (:func:`write_warnings`). A config with errors shows its errors only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hlsync.config.loader import display_path, load_config
from hlsync.core.model import DesiredState
from hlsync.kinds.registry import KINDS


def run(args: argparse.Namespace) -> int:
    state = load_config(args.path, allow=args.allow_path)
    write_warnings(state)
    count = len(state.warnings)
    noted = f" ({count} warning{'' if count == 1 else 's'})" if count else ""
    print(f"{display_path(Path(args.path))}: valid — {summary(state)}{noted}")
    return 0


def write_warnings(state: DesiredState) -> None:
    """The config's warnings on stderr, each ``file:line:column: warning: message``."""
    for warning in state.warnings:
        sys.stderr.write(f"{warning}\n")


def summary(state: DesiredState) -> str:
    """``1 location, 2 integrations, 2 custom fields, 3 tags, 5 contacts``."""
    counts = [(len(state.locations), "location", "locations")]
    for kind in KINDS:
        n = sum(len(kind.declared(loc)) for loc in state.locations)
        if kind.name == "integration":
            n += len(state.agency.integrations)
        counts.append((n, *kind.nouns))
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts)
