"""``hlsync validate [PATH]``: check a config without touching the network.

Exit 0 and a one-line summary on stdout when the config is valid; otherwise every
problem goes to stderr as ``file:line:column: message`` (printed by ``cli.main`` from
the ``HlsyncError`` that ``load_config`` raises) and the exit code is 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hlsync.config.loader import display_path, load_config
from hlsync.core.model import DesiredState
from hlsync.kinds.registry import KINDS


def run(args: argparse.Namespace) -> int:
    state = load_config(args.path)
    print(f"{display_path(Path(args.path))}: valid — {summary(state)}")
    return 0


def summary(state: DesiredState) -> str:
    """``1 location, 2 integrations, 2 custom fields, 3 tags, 5 contacts``."""
    counts = [(len(state.locations), "location", "locations")]
    for kind in KINDS:
        n = sum(len(kind.declared(loc)) for loc in state.locations)
        if kind.name == "integration":
            n += len(state.agency.integrations)
        counts.append((n, *kind.nouns))
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in counts)
