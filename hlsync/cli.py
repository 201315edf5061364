"""The ``hlsync`` command: argv in, exit code out.

Each subcommand is an entry of :data:`hlsync.commands.COMMANDS`: its flags come from
the light :mod:`hlsync.commands.arguments`, and its module ``hlsync/commands/<name>.py``
(``run(args) -> int``) is imported only once argv names it, so ``--version``, ``--help``
and usage errors load none of the heavy dependencies. This module wires them up and is
the one place that turns errors into exit codes:

* 0: success (or no changes), 1: a user-facing :class:`HlsyncError`,
* 2: changes present under ``--detailed-exitcode``,
* 4: ``apply`` on the live cloud left Private Integration changes to do by hand
  (``result.EXIT_MANUAL_PENDING``; the runbook says how),
* 130: interrupted (Ctrl-C), 3: a bug in hlsync (the message says so).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from functools import cache
from typing import NoReturn

from hlsync import __version__
from hlsync.commands import COMMANDS, Command
from hlsync.core.result import EXIT_INTERRUPTED
from hlsync.errors import HlsyncError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_BUG = 3


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage mistakes as exit 1, like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise HlsyncError(
            f"{self.prog}: {message}", hints=(f"see '{self.prog} --help'",)
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hlsync",
        description="Config-as-code for HighLevel accounts: validate, plan, apply.",
    )
    parser.add_argument("--version", action="version", version=f"hlsync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for command in COMMANDS:
        child = sub.add_parser(
            command.name, help=command.help, description=command.help
        )
        command.configure(child)
        child.set_defaults(_command=command)
    return parser


@cache
def _parser() -> argparse.ArgumentParser:
    """:func:`build_parser`'s parser, built once per process: in-process callers
    (the pytest plugin, the tests) run :func:`main` many times, and each build costs
    ~5 ms (argparse looks up a translation for every help heading)."""
    return build_parser()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        command: Command = args._command
        return command.runner()(args)
    except HlsyncError as exc:
        sys.stderr.write(f"error: {exc}\n" if len(exc.problems) == 1 else f"{exc}\n")
        if len(exc.problems) > 1:
            sys.stderr.write(f"{len(exc.problems)} problems found\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # a bug: say so plainly, traceback only on request
        if os.environ.get("HLSYNC_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(
            f"hlsync: internal error ({type(exc).__name__}); this is a bug in hlsync.\n"
            "Run again with HLSYNC_DEBUG=1 for the traceback and report it.\n"
        )
        return EXIT_BUG
