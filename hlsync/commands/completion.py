"""``hlsync completion SHELL``: print the completion script for bash, zsh or fish.

The script is rendered from the parser this very ``hlsync`` runs
(:func:`hlsync.completion.tree.command_tree` over ``cli.build_parser()``), so it knows
exactly the commands, flags and choices of the installed version.
"""

from __future__ import annotations

import argparse
import sys

from hlsync.cli import build_parser
from hlsync.completion.bash import render_bash
from hlsync.completion.fish import render_fish
from hlsync.completion.tree import command_tree
from hlsync.completion.zsh import render_zsh


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(script(args.shell))
    return 0


def script(shell: str) -> str:
    """The completion script for ``shell`` (one of ``arguments.SHELLS``)."""
    root = command_tree(build_parser())
    match shell:
        case "bash":
            return render_bash(root)
        case "zsh":
            return render_zsh(root)
        case "fish":
            return render_fish(root)
    raise ValueError(f"no completion for shell {shell!r}")
