"""``hlsync init [DIR]``: scaffold a working config, its ``.gitignore`` and CI files.

Off a terminal (a script, CI) the flags say everything: at least one ``--location
NAME=ID``; ``--target`` defaults to the sandbox and ``--ci`` to the GitHub workflow
and the pre-commit hook. On a terminal without ``--location``, init asks for what the
flags left out. Every value is checked before anything is written, and the files are
written all or none, never over an existing file (:mod:`hlsync.scaffold.writer`).

``--from-export`` adopts existing sub-accounts: the config is an export of what they
hold, with init's seeding integration added (:mod:`hlsync.scaffold.adoption`); the
account is read before anything is written, so a bad token or an unreachable target
leaves nothing behind.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from hlsync.errors import HlsyncError
from hlsync.scaffold.adoption import (
    Adopted,
    adopt,
    expected_files,
    missing_tokens,
    other_yaml,
)
from hlsync.scaffold.config_text import SEED_INTEGRATION
from hlsync.scaffold.layout import Scaffold, build_scaffold
from hlsync.scaffold.settings import (
    InitSettings,
    InputEnded,
    ask_missing,
    check_adoptable,
    settings_from_flags,
)
from hlsync.scaffold.writer import refuse_existing, write_new_files


def run(args: argparse.Namespace) -> int:
    if args.contacts and not args.from_export:
        raise HlsyncError(
            "hlsync init: --contacts needs --from-export",
            hints=("contacts come from an existing account's export",),
        )
    settings = settings_from_flags(args.dir, args.location, args.target, args.ci)
    if args.from_export and args.target is not None:
        check_adoptable(settings.target)
    elif args.from_export and args.location:  # flags only: nothing asks for it
        raise HlsyncError(
            "hlsync init --from-export: no --target given",
            hints=(
                "give the account's: --target leadconnector (the live HighLevel "
                "API) or the URL of a running 'hlsync emulator serve'",
            ),
        )
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
            adopting=args.from_export,
        )
    adopted = None
    if args.from_export:
        adopted = _adopt(check_adopting(settings), args.contacts)
    scaffold = build_scaffold(settings, None if adopted is None else adopted.files)
    shown = {path: _shown(path) for path, _ in scaffold.files}
    write_new_files(scaffold.files, shown)
    print(report(settings, scaffold, shown, adopted))
    if adopted is not None:
        for warning in adopted.warnings:
            sys.stderr.write(f"Warning: {warning}\n")
    return 0


def check_adopting(settings: InitSettings) -> InitSettings:
    """``--from-export``'s settings: a target holding an account, and every
    location's token variable set (the export reads with them)."""
    check_adoptable(settings.target)
    missing = missing_tokens(settings, os.environ)
    if missing:
        names = ", ".join(site.token_variable for site in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise HlsyncError(
            f"hlsync init --from-export: {names} {verb} not set",
            hints=(
                "the export reads each location with its sub-account token: set "
                + ", ".join(f"{s.token_variable} to {s.name}'s" for s in missing)
                + "; nothing was written",
            ),
        )
    return settings


def _adopt(settings: InitSettings, contacts: bool) -> Adopted:
    """The export, after refusing (before reading the account) a folder it would
    overwrite a file in or whose other YAML files would join the config."""
    expected = expected_files(settings, contacts=contacts)
    planned = build_scaffold(settings, [(name, "") for name in expected])
    refuse_existing(planned.files, {path: _shown(path) for path, _ in planned.files})
    folder = Path(os.path.abspath(settings.folder))
    others = other_yaml(folder, expected)
    if others:
        raise HlsyncError(
            f"hlsync init --from-export: {', '.join(_shown(p) for p in others)} "
            "would become part of the exported config (a config folder's YAML "
            "files are all read)",
            hints=("nothing was written; init into an empty folder",),
        )
    try:
        return adopt(settings, contacts=contacts)
    except HlsyncError as exc:  # the account could not be read, or not adopted
        *rest, last = exc.problems
        hint = "; ".join(filter(None, (last.hint, "nothing was written")))
        problems = (*rest, replace(last, hint=hint))
        raise HlsyncError(exc.message, exc.location, problems=problems) from exc


def report(
    settings: InitSettings,
    scaffold: Scaffold,
    shown: dict[Path, str],
    adopted: Adopted | None = None,
) -> str:
    absolute = Path(os.path.abspath(settings.folder))
    folder = _shown(absolute)
    lines = ["hlsync init wrote:"]
    rows = {} if adopted is None else adopted.contacts
    for path, _ in scaffold.files:
        inside = path.is_relative_to(absolute)
        count = rows.get(path.relative_to(absolute).as_posix()) if inside else None
        more = "" if count is None else f" ({count} contact{'s' * (count != 1)})"
        lines.append(f"  {shown[path]}{more}")
    where = "the sandbox" if settings.target == "sandbox" else settings.target
    lines += [
        "Next:",
        f"  hlsync validate {folder}    check it, without the network",
        f"  hlsync plan {folder}        what would change in {where}",
    ]
    if adopted is not None:
        lines += _adopted_plan(adopted, folder)
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


def _adopted_plan(adopted: Adopted, folder: str) -> list[str]:
    """What the plan right after an adoption shows, and what applies it."""
    kept = [
        f"    ({name}'s account has a {SEED_INTEGRATION} already: kept as exported, "
        f"and {name} writes with its own token)"
        for name in adopted.kept
    ]
    if not adopted.seeded:
        return ["    (no change: the config is what the account holds)", *kept]
    where = ", ".join(adopted.seeded)
    return [
        f"    (only {SEED_INTEGRATION} to create in {where}, the least-privilege "
        "integration the config writes with; the rest is what the account holds)",
        *kept,
        f"  hlsync apply {folder}       create it",
    ]


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
