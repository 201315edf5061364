"""``hlsync init [DIR]``: scaffold a working config, its ``.gitignore`` and CI files.

Off a terminal (a script, CI) the flags say everything: at least one ``--location
NAME=ID``; ``--target`` defaults to the sandbox and ``--ci`` to the GitHub workflow
and the pre-commit hook. On a terminal without ``--location``, init asks for what the
flags left out. Every value is checked before anything is written, and the files are
written all or none, never over an existing file (:mod:`hlsync.scaffold.writer`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hlsync.errors import HlsyncError
from hlsync.scaffold.layout import Scaffold, build_scaffold
from hlsync.scaffold.settings import (
    InitSettings,
    InputEnded,
    ask_missing,
    settings_from_flags,
)
from hlsync.scaffold.writer import write_new_files


def run(args: argparse.Namespace) -> int:
    settings = settings_from_flags(args.dir, args.location, args.target, args.ci)
    if not args.location:
        if not sys.stdin.isatty():
            raise HlsyncError(
                "hlsync init: no --location given, and no terminal to ask on",
                hints=(
                    "name each sub-account as --location NAME=ID (repeatable), for "
                    "example: hlsync init --location main=ve9EPM428h8vShlRW1KT",
                ),
            )
        settings = ask_missing(
            settings,
            ask_target=args.target is None,
            ask_sites=True,
            ask_kits=not args.ci,
            ask=_ask,
            say=_say,
        )
    scaffold = build_scaffold(settings)
    shown = {path: _shown(path) for path, _ in scaffold.files}
    write_new_files(scaffold.files, shown)
    print(report(settings, scaffold, shown))
    return 0


def report(settings: InitSettings, scaffold: Scaffold, shown: dict[Path, str]) -> str:
    folder = _shown(Path(os.path.abspath(settings.folder)))
    lines = ["hlsync init wrote:"]
    lines += [f"  {shown[path]}" for path, _ in scaffold.files]
    where = "the sandbox" if settings.target == "sandbox" else settings.target
    lines += [
        "Next:",
        f"  hlsync validate {folder}    check it, without the network",
        f"  hlsync plan {folder}        what would change in {where}",
    ]
    if "pre-commit" in settings.kits:
        lines.append("  pre-commit install    validate the config before each commit")
    if set(settings.kits) & {"github", "gitlab"}:
        secrets = ", ".join(
            name
            for site in settings.sites
            for name in (site.token_variable, site.seed_variable)
        )
        lines.append(
            f"CI reads the secrets {secrets} (the second of each pair once its "
            "seed-bot exists); the comment at the top of each CI file says more."
        )
    return "\n".join(lines)


def _ask(prompt: str) -> str:
    try:
        return input(prompt)
    except EOFError:
        raise InputEnded(
            "hlsync init: the input ended before every question was answered",
            hints=("nothing was written",),
        ) from None


def _say(text: str) -> None:
    sys.stderr.write(f"{text}\n")


def _shown(path: Path) -> str:
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()
