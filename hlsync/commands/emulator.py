"""``hlsync emulator serve``: the HighLevel API v2 emulator over HTTP on loopback.

On the first start of a database (or always, without ``--db``) it provisions one agency
and its locations (``--locations N`` generated ones, or ``--location ID[:NAME]``
repeated). Each start re-mints the bootstrap tokens (the database keeps only hashes) and
writes them, with the base URL, to ``--tokens-file`` (mode 0600) as JSON:
``{"baseUrl", "agency": {"companyId", "token"}, "locations": [{"id", "name", "token"}]}``.
Tokens reach stdout only with ``--print-tokens``. SIGINT or SIGTERM stop it with exit 0.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from pathlib import Path
from typing import Any

from hlsync.commands.arguments import DEFAULT_COMPANY_ID
from hlsync.emulator.app import create_app
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.faults import FaultRule
from hlsync.emulator.ratelimit import Limits
from hlsync.emulator.server import base_url, bind, serve_forever, stop_on_signals
from hlsync.emulator.state import EmulatorState
from hlsync.errors import HlsyncError


def run(args: argparse.Namespace) -> int:
    _check_host(args.host, args.allow_remote)
    try:
        limits = Limits(args.burst_max, args.burst_interval_ms, args.daily_limit)
    except ValueError as exc:
        raise HlsyncError(str(exc)) from exc
    rule = _fault_rule(args)
    if args.db is not None:
        state = EmulatorState.open_sqlite(args.db, limits=limits)
    else:
        state = EmulatorState.in_memory(limits=limits)
    try:
        with stop_on_signals():
            if rule is not None:
                state.faults.set([rule], args.fault_seed)
            credentials = _bootstrap(state, args)
            _serve(state, credentials, args)
    finally:
        state.close()
    print("hlsync emulator stopped", file=sys.stderr)
    return 0


def _serve(
    state: EmulatorState, credentials: dict[str, Any], args: argparse.Namespace
) -> None:
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise HlsyncError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    with sock:
        url = base_url(sock)
        credentials = {"baseUrl": url, **credentials}
        if args.tokens_file is not None:
            _write_private(args.tokens_file, credentials)
        text = f"hlsync emulator listening on {url}\n"
        if args.print_tokens:
            text += json.dumps(credentials, indent=2) + "\n"
        sys.stdout.write(text)  # one write: a signal cannot split URL and tokens
        sys.stdout.flush()
        if args.tokens_file is None and not args.print_tokens:
            sys.stderr.write(
                "bootstrap tokens not shown: use --tokens-file FILE or --print-tokens\n"
            )
        serve_forever(create_app(state), sock, verbose=args.verbose)


def _check_host(host: str, allow_remote: bool) -> None:
    if host == "localhost" or allow_remote:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise HlsyncError(
            f"refusing to listen on {host}: the admin API has no authentication",
            hints=("use --host 127.0.0.1, or --allow-remote if you really mean it",),
        )


def _fault_rule(args: argparse.Namespace) -> FaultRule | None:
    values = {
        "latencyMs": args.latency_ms,
        "errorRate": args.error_rate,
        "failAfterCommit": args.fail_after_commit,
        "searchLagMs": args.search_lag_ms,
    }
    if not any(values.values()):
        return None
    try:
        return FaultRule.from_json(values, "faults")
    except EmulatorError as exc:
        raise HlsyncError("; ".join(exc.body["message"])) from exc


def _parse_locations(args: argparse.Namespace) -> list[tuple[str | None, str]]:
    if args.location:
        found: list[tuple[str | None, str]] = []
        for item in args.location:
            id, _, name = item.partition(":")
            if not id.strip():
                raise HlsyncError(f"--location {item!r}: the id is empty")
            found.append((id.strip(), name.strip() or id.strip()))
        return found
    if args.locations < 0:
        raise HlsyncError("--locations must be 0 or more")
    return [(None, f"Location {n}") for n in range(1, args.locations + 1)]


def _bootstrap(state: EmulatorState, args: argparse.Namespace) -> dict[str, Any]:
    """Provision what is missing, re-mint every bootstrap token, return credentials."""
    wanted = _parse_locations(args)
    with state.lock:
        agencies = sorted(state.auth.agencies)
        company_id = args.company_id or (
            agencies[0] if agencies else DEFAULT_COMPANY_ID
        )
        fresh = company_id not in state.auth.agencies
        if fresh:
            _, agency_token = state.provision_agency(company_id, "hlsync emulator")
        else:
            agency_token = state.remint_bootstrap(company_id)
        for location_id, name in wanted:
            if location_id is None and not fresh:
                continue
            if location_id is None or state.store.get_location(location_id) is None:
                state.provision_location(company_id, name, location_id)
        locations = [
            {
                "id": loc["id"],
                "name": loc["name"],
                "token": state.remint_bootstrap(company_id, loc["id"]),
            }
            for loc in state.store.locations(company_id)
        ]
        state.commit()
    return {
        "agency": {"companyId": company_id, "token": agency_token},
        "locations": locations,
    }


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write JSON readable by the owner only (0600, also when the file existed)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
    except OSError as exc:
        raise HlsyncError(f"{path}: cannot write the tokens file ({exc})") from exc
