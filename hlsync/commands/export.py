"""``hlsync export [PATH] --out DIR``: an existing account as a config to adopt.

PATH is a config naming the target and the locations (ids and token references; it
may say nothing else). DIR receives a directory config of everything those locations
hold — integrations with their scopes, custom fields, tags, custom values and, with
``--contacts``, contacts as seed files — that ``hlsync plan DIR --detailed-exitcode``
finds nothing to change in (``hlsync.adopt.export``). ``--as-template NAME`` makes the
one selected location a golden template other locations extend. It reads the account
and writes only DIR; it never writes to the account.
"""

from __future__ import annotations

import argparse
import sys

from hlsync.adopt.export import ExportResult, export_config
from hlsync.commands._common import select
from hlsync.commands.validate import write_warnings
from hlsync.config.loader import display_path, load_config
from hlsync.errors import HlsyncError
from hlsync.kinds.base import ContactSelection


def run(args: argparse.Namespace) -> int:
    if not args.contacts and (args.contacts_filter or args.limit is not None):
        raise HlsyncError(
            "hlsync export: --contacts-filter and --limit need --contacts",
            hints=("see 'hlsync export --help'",),
        )
    config = load_config(args.path, allow=args.allow_path)
    write_warnings(config)
    desired = select(config, args.location, args.exclude)
    contacts = None
    if args.contacts:
        contacts = ContactSelection(tuple(args.contacts_filter), args.limit)
    result = export_config(
        desired,
        args.out,
        contacts=contacts,
        template=args.as_template,
        timeout=args.timeout,
    )
    sys.stdout.write(report(result))
    for warning in result.warnings:
        sys.stderr.write(f"Warning: {warning}\n")
    return 0


def report(result: ExportResult) -> str:
    """One line per file, then how to check the export."""
    lines = []
    counts = {f"contacts/{name}.jsonl": n for name, n in result.contacts.items()}
    for verb, paths in (
        ("wrote", result.written),
        ("unchanged", result.unchanged),
        ("removed", result.removed),
        ("copied", result.copied),
    ):
        for path in paths:
            rows = counts.get(path.relative_to(result.out).as_posix())
            more = (
                "" if rows is None else f" ({rows} contact{'s' if rows != 1 else ''})"
            )
            lines.append(f"export: {verb} {display_path(path)}{more}")
    out = display_path(result.out)
    allow = "".join(f" --allow-path {display_path(p)}" for p in result.allow)
    if allow:
        lines.append(
            f"Its token files, sinks or database lie outside {out}: its commands "
            f"need{allow}"
        )
    lines.append(
        f"Check it: hlsync plan {out}{allow} --detailed-exitcode "
        "(exit 0: the account matches it)"
    )
    return "\n".join(lines) + "\n"
