"""Every subcommand's flags, and nothing else: what ``cli`` needs to parse argv.

``hlsync --version``, ``--help`` and a usage error must not pay for the web stack, the
HTTP client, jsonschema or deepdiff, so the parser is built from this module alone and
a command's own module (``hlsync/commands/<name>.py``, which imports all of those) is
imported only when that command runs (see :class:`hlsync.commands.Command`). Keep this
module to argparse, the standard library and constants: a test runs ``hlsync
--version`` in a fresh interpreter and asserts on ``sys.modules``.

Each ``configure_<command>`` fills the subparser of one command; the ``add_*`` helpers
are the flags several commands share (one definition each, so they cannot drift).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

from hlsync.emulator.ratelimit import Limits
from hlsync.scaffold.settings import CI_KITS, DEFAULT_CI_KITS

Configure = Callable[[argparse.ArgumentParser], None]

FORMATS = ("text", "markdown", "json")
DEFAULT_COMPANY_ID = "emulatorAgency000001"
_DEFAULT_LIMITS = Limits()


def add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), markdown (for a pull-request comment) or json",
    )
    parser.add_argument(
        "--no-color", action="store_true", help="no colour even on a terminal"
    )


def add_integration_args(
    parser: argparse.ArgumentParser, *, by: str | None = None
) -> None:
    """NAME (``<location>/<integration>`` or ``agency/<integration>``) and PATH, as
    ``confirm``, ``verify`` and the ``token`` verbs take them; ``by``: the help of a
    ``--by WHO`` option (who acted, for the ledger's history), added when given."""
    parser.add_argument(
        "name",
        metavar="NAME",
        help="the integration: <location>/<integration> or agency/<integration>",
    )
    add_config_path(parser)
    if by is not None:
        parser.add_argument(
            "--by",
            metavar="WHO",
            help=f"{by}, for the ledger's history (default: $USER)",
        )


def add_config_path(parser: argparse.ArgumentParser) -> None:
    """PATH (the config file or directory, default ``.``) and ``--allow-path``."""
    parser.add_argument(
        "path",
        nargs="?",
        default=".",
        metavar="PATH",
        help="config file, or directory of *.yaml files (default: .)",
    )
    add_allow_path(parser)


def add_allow_path(parser: argparse.ArgumentParser) -> None:
    """``--allow-path DIR``: a directory besides the config folder that the paths the
    config names may lead to (``hlsync.config.containment``); shown in the plan."""
    parser.add_argument(
        "--allow-path",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="let the config's paths (seed files, token files, sinks) lead into DIR "
        "too; by default they must stay inside the config folder (repeatable)",
    )


def _seconds(text: str, *, zero: bool) -> float:
    """A finite number of seconds: positive, or also 0 when ``zero``."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 <= value if zero else 0 < value) or value == float("inf"):
        what = "zero or a positive" if zero else "a positive"
        raise argparse.ArgumentTypeError(
            f"must be {what} number of seconds, not {text!r}"
        )
    return value


def positive_seconds(text: str) -> float:
    """``--timeout``'s value: a positive, finite number of seconds."""
    return _seconds(text, zero=False)


def non_negative_seconds(text: str) -> float:
    """``--lock-timeout`` and ``--settle-timeout``: 0 or a positive, finite number of
    seconds."""
    return _seconds(text, zero=True)


def port_number(text: str) -> int:
    """``--port``'s value: a TCP port, 0 to 65535 (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"must be a port number from 0 to 65535, not {text!r}"
        )
    return value


_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def host_name(text: str) -> str:
    """``--host``'s value: an IP address or a host name (letters, digits and ``-``
    in dot-separated labels of at most 63, at most 253 in all)."""
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    labels = text.removesuffix(".").split(".")
    if len(text) <= 253 and all(_LABEL.fullmatch(label) for label in labels):
        return text
    raise argparse.ArgumentTypeError(
        f"must be an IP address or a host name, not {text!r}"
    )


def add_timeout(parser: argparse.ArgumentParser) -> None:
    """``--timeout SECONDS``: each API request's total time budget (retries, backoff
    and reading the answer included; ``hlsync.upstream.bounds``)."""
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        metavar="SECONDS",
        help="give up on an API request after this long, retries included "
        "(default: 60)",
    )


def add_lock_timeout(parser: argparse.ArgumentParser) -> None:
    """``--lock-timeout SECONDS``: how long to wait for another run's apply lock
    (``hlsync.locks``); 0, the default, fails at once naming the holder."""
    parser.add_argument(
        "--lock-timeout",
        type=non_negative_seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run holding a location's apply lock "
        "(default: 0, fail at once naming the holder)",
    )


def add_targeting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--location",
        action="append",
        default=[],
        metavar="NAME",
        help="only this location (repeatable; 'agency' for the agency's integrations)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="NAME",
        help="leave this location out (repeatable; 'agency' too)",
    )


_SHARD = re.compile(r"([0-9]+)/([0-9]+)")


def shard_spec(text: str) -> tuple[int, int]:
    """``--shard I/N``'s value: (I, N), shard I of N, 1 <= I <= N."""
    match = _SHARD.fullmatch(text.strip())
    if match is not None:
        index, count = int(match[1]), int(match[2])
        if 1 <= index <= count:
            return index, count
    raise argparse.ArgumentTypeError(
        f"must be I/N with 1 <= I <= N (shard I of N, counting from 1), not {text!r}"
    )


ProgressMode = Literal["auto", "always", "never", "plain"]
PROGRESS_MODES: tuple[ProgressMode, ...] = get_args(ProgressMode)


def add_progress(parser: argparse.ArgumentParser) -> None:
    """``--progress auto|always|never|plain`` (``hlsync.commands.progress``)."""
    parser.add_argument(
        "--progress",
        choices=PROGRESS_MODES,
        default="auto",
        help="where the work is (an apply's changes, a long plan's reads), on "
        "stderr: 'auto' (default) redraws a line per location on a terminal and "
        "otherwise writes plain lines every 10 s or 10 %% after the first 10 s; 'always' redraws even off "
        "a terminal; 'plain' always writes plain lines; 'never' says nothing",
    )


def add_fan_out(parser: argparse.ArgumentParser) -> None:
    """``--shard I/N`` and ``--parallel-locations N`` (``hlsync.engine.sharding``)."""
    parser.add_argument(
        "--shard",
        type=shard_spec,
        metavar="I/N",
        help="only shard I of N of the selected locations (each location's shard "
        "follows from a hash of its id; the agency's integrations are in shard 1), "
        "for a CI matrix of N jobs; 'hlsync show' combines their saved plans",
    )
    parser.add_argument(
        "--parallel-locations",
        type=positive_count,
        metavar="N",
        help="read and write at most N locations at once (default: all of them)",
    )


SHELLS = ("bash", "zsh", "fish")


def configure_init(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir",
        nargs="?",
        default=".",
        type=Path,
        metavar="DIR",
        help="the folder for the new config (default: .; created when missing)",
    )
    parser.add_argument(
        "--location",
        action="append",
        default=[],
        metavar="NAME=ID",
        help="a sub-account: its local name and its HighLevel location id "
        "(repeatable; without any, init asks on a terminal)",
    )
    parser.add_argument(
        "--target",
        metavar="TARGET",
        help="sandbox (default), leadconnector (the live API) or the URL of a "
        "running 'hlsync emulator serve'",
    )
    parser.add_argument(
        "--ci",
        action="append",
        default=[],
        choices=(*CI_KITS, "none"),
        help="CI files to write, at the top of the git repository holding DIR (else "
        "in DIR): github, gitlab, pre-commit, or none (repeatable; default: "
        + " and ".join(DEFAULT_CI_KITS)
        + ")",
    )
    parser.add_argument(
        "--from-export",
        action="store_true",
        help="adopt existing sub-accounts: the config is an export of what they hold "
        "(read with each location's token from HL_<NAME>_TOKEN), plus a "
        "least-privilege seeding integration; needs --target leadconnector or a URL",
    )
    parser.add_argument(
        "--contacts",
        action="store_true",
        help="with --from-export: also export contacts, as contacts/<location>.jsonl",
    )


def configure_completion(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "shell",
        choices=SHELLS,
        metavar="SHELL",
        help="bash, zsh or fish",
    )


def configure_validate(parser: argparse.ArgumentParser) -> None:
    add_config_path(parser)


def configure_plan(parser: argparse.ArgumentParser) -> None:
    add_config_path(parser)
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="also save the plan for 'apply FILE'"
    )
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when there are changes, 0 when there are none",
    )
    add_format(parser)
    add_targeting(parser)
    add_fan_out(parser)
    add_timeout(parser)
    add_progress(parser)


# Contact fields ``--contacts-filter`` may name: upstream search fields that take
# ``eq`` (reference §5.6), values at most 75 characters.
FILTER_FIELDS = (
    "assignedTo",
    "city",
    "companyName",
    "country",
    "email",
    "phone",
    "postalCode",
    "source",
    "state",
    "tags",
    "timezone",
    "type",
    "website",
)
FILTER_VALUE_MAX = 75


def contact_filter(text: str) -> tuple[str, str]:
    """``--contacts-filter``'s value: ``FIELD=VALUE`` (upstream search, ``eq``)."""
    name, sep, value = text.partition("=")
    if not sep or name not in FILTER_FIELDS or not value:
        raise argparse.ArgumentTypeError(
            f"must be FIELD=VALUE with FIELD one of {', '.join(FILTER_FIELDS)}, "
            f"not {text!r}"
        )
    if len(value) > FILTER_VALUE_MAX:
        raise argparse.ArgumentTypeError(
            f"a value is at most {FILTER_VALUE_MAX} characters (upstream's search)"
        )
    return name, value


def positive_count(text: str) -> int:
    """``--limit``'s and ``--parallel-locations``' value: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1, not {text!r}")
    return value


def configure_export(parser: argparse.ArgumentParser) -> None:
    add_config_path(parser)
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="the folder to write the exported config to (created; a folder an "
        "earlier export wrote is updated in place)",
    )
    parser.add_argument(
        "--contacts",
        action="store_true",
        help="also export contacts, as contacts/<location>.jsonl seed files",
    )
    parser.add_argument(
        "--contacts-filter",
        type=contact_filter,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="with --contacts: only contacts whose FIELD equals VALUE (upstream "
        "search; repeatable, all must match), e.g. tags=vip",
    )
    parser.add_argument(
        "--limit",
        type=positive_count,
        metavar="N",
        help="with --contacts: at most N contacts per location, the oldest first",
    )
    parser.add_argument(
        "--as-template",
        metavar="NAME",
        help="write the (one) location as template NAME that other locations "
        "extend: the template holds what they share, the location its parameters "
        "(id, token, custom values, where its integrations' tokens are held)",
    )
    add_targeting(parser)
    add_timeout(parser)


def configure_show(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="a saved plan; several (the plans of a --shard matrix) are shown as one",
    )
    add_format(parser)


def configure_apply(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        default=".",
        metavar="PATH|PLANFILE",
        help="config file or directory (default: .), or a plan saved by "
        "'hlsync plan --out'",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="with a plan file: the config to check it against (default: the one "
        "the plan was made from)",
    )
    add_allow_path(parser)
    parser.add_argument(
        "--auto-approve",
        action="store_true",
        help="apply without asking (required when stdin is not a terminal)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="allow changes held by a safety gate (deletes, replaces, scope removals, "
        "tokens ended at once: rotate_now, expire_old)",
    )
    parser.add_argument(
        "--fail-fast",
        action="store_true",
        help="start no new change after the first failure",
    )
    parser.add_argument(
        "--settle-timeout",
        type=non_negative_seconds,
        metavar="SECONDS",
        help="after the changes, wait up to this long for upstream's search to show "
        "the contacts written, so the next plan is clean (default: 15; 0: do not wait)",
    )
    add_format(parser)
    add_targeting(parser)
    add_fan_out(parser)
    add_timeout(parser)
    add_lock_timeout(parser)
    add_progress(parser)


def configure_confirm(parser: argparse.ArgumentParser) -> None:
    add_integration_args(parser, by="who made the change")
    parser.add_argument(
        "--cancel-rotation",
        action="store_true",
        help='record a rotation cancelled in the UI ("Cancel rotation"); the old '
        "token goes back into the sink",
    )


def configure_token_deliver(parser: argparse.ArgumentParser) -> None:
    add_integration_args(parser, by="who delivers it")


def configure_token_verb(
    parser: argparse.ArgumentParser, *, now_flag: bool, force_flag: bool
) -> None:
    add_integration_args(parser)
    if now_flag:
        parser.add_argument(
            "--now",
            action="store_true",
            help="the old token stops working at once (default: after the overlap)",
        )
    if force_flag:
        parser.add_argument(
            "--force",
            action="store_true",
            help="allow ending a token at once (rotate --now, expire-old): anything "
            "still using it stops working",
        )
    parser.add_argument(
        "--auto-approve",
        action="store_true",
        help="do it without asking (required when stdin is not a terminal)",
    )
    add_format(parser)
    add_timeout(parser)
    add_lock_timeout(parser)


def configure_token_rotate(parser: argparse.ArgumentParser) -> None:
    configure_token_verb(parser, now_flag=True, force_flag=True)


def configure_token_expire_old(parser: argparse.ArgumentParser) -> None:
    configure_token_verb(parser, now_flag=False, force_flag=True)


def configure_token_other(parser: argparse.ArgumentParser) -> None:
    configure_token_verb(parser, now_flag=False, force_flag=False)


# token verbs, in --help order; hlsync.commands.token.RUNS maps each name to its run
TOKEN_VERBS: tuple[tuple[str, str, Configure], ...] = (
    (
        "deliver",
        "Store a token copied from the HighLevel UI (read from stdin, not echoed) "
        "in the integration's sink and record the delivery in the ledger.",
        configure_token_deliver,
    ),
    (
        "rotate",
        "Rotate the integration's token now, through plan and apply: a new token "
        "into its sink; the old one works through the overlap (--now --force: dies "
        "at once).",
        configure_token_rotate,
    ),
    (
        "cancel-rotation",
        "Cancel a rotation in progress: keep the old token, revoke the new one.",
        configure_token_other,
    ),
    (
        "expire-old",
        "End a rotation's overlap now: only the newest token keeps working "
        "(needs --force).",
        configure_token_expire_old,
    ),
)


def configure_token(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="token_command", metavar="VERB")
    sub.required = True
    for name, help_text, configure_one in TOKEN_VERBS:
        child = sub.add_parser(name, help=help_text, description=help_text)
        configure_one(child)


def configure_force_unlock(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "location",
        metavar="LOCATION",
        help="the location (its name in the config) whose apply lock to release",
    )
    add_config_path(parser)
    parser.add_argument(
        "--auto-approve",
        action="store_true",
        help="release without asking (required when stdin is not a terminal)",
    )
    add_timeout(parser)


def configure_verify(parser: argparse.ArgumentParser) -> None:
    add_integration_args(parser)
    parser.add_argument(
        "--excess",
        action="store_true",
        help="also probe the catalog scopes the integration does not declare, and "
        "fail (exit 1) naming each one its token holds",
    )
    add_timeout(parser)


def configure_scopes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scope", nargs="?", help="show this scope in full")
    parser.add_argument(
        "--level",
        choices=("agency", "sub-account"),
        help="only scopes a token of this level may hold",
    )
    parser.add_argument(
        "--prefix",
        metavar="TEXT",
        help="only scopes whose name starts with TEXT (or matches the glob TEXT)",
    )


def configure_emulator(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="emulator_command", metavar="ACTION")
    sub.required = True
    serve = sub.add_parser(
        "serve",
        help="serve the emulator over HTTP",
        description="Serve the emulator over HTTP, on 127.0.0.1 unless told otherwise.",
    )
    serve.add_argument(
        "--host", type=host_name, default="127.0.0.1", help="default: 127.0.0.1"
    )
    serve.add_argument(
        "--port",
        type=port_number,
        default=8765,
        help="0 picks a free port (default: 8765)",
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the admin API has no authentication)",
    )
    serve.add_argument("--db", type=Path, help="SQLite file (default: in memory)")
    serve.add_argument(
        "--tokens-file", type=Path, help="write the bootstrap credentials here (0600)"
    )
    serve.add_argument(
        "--print-tokens",
        action="store_true",
        help="also print the bootstrap credentials JSON to stdout",
    )
    serve.add_argument("--company-id", help=f"agency id (default {DEFAULT_COMPANY_ID})")
    serve.add_argument(
        "--locations",
        type=int,
        default=2,
        metavar="N",
        help="locations to create on a new database (default: 2)",
    )
    serve.add_argument(
        "--location",
        action="append",
        default=[],
        metavar="ID[:NAME]",
        help="a location to provision if missing (repeatable; replaces --locations)",
    )
    serve.add_argument("--verbose", action="store_true", help="log every request")
    limits = serve.add_argument_group("rate limits (upstream defaults)")
    limits.add_argument("--burst-max", type=int, default=_DEFAULT_LIMITS.burst_max)
    limits.add_argument(
        "--burst-interval-ms", type=int, default=_DEFAULT_LIMITS.interval_ms
    )
    limits.add_argument("--daily-limit", type=int, default=_DEFAULT_LIMITS.daily_max)
    faults = serve.add_argument_group("faults (on every upstream route)")
    faults.add_argument("--latency-ms", type=int, default=0)
    faults.add_argument("--error-rate", type=float, default=0.0, metavar="RATE")
    faults.add_argument("--fail-after-commit", type=float, default=0.0, metavar="RATE")
    faults.add_argument("--search-lag-ms", type=int, default=0)
    faults.add_argument("--fault-seed", type=int, default=0)


def configure_sandbox(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="sandbox_command", metavar="ACTION")
    sub.required = True
    reset = sub.add_parser(
        "reset",
        help="remove the sandbox of the config at PATH, and the tokens it minted",
        description="Remove what sandbox runs left beside a config: its database "
        "(target.sandbox.db, by default <config dir>/.hlsync/sandbox.sqlite3), the "
        "tokens the sandbox minted into the config's file sinks, their .previous "
        "files and their token journal records; it lists what it keeps and why. The "
        "next run starts from an empty sandbox.",
    )
    reset.add_argument(
        "path",
        nargs="?",
        default=".",
        type=Path,
        help="the config file or its folder (default: the current folder)",
    )
    add_allow_path(reset)
