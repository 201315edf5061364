"""``hlsync verify NAME [PATH]``: probe a Private Integration's token for its scopes.

A token's scopes cannot be read back from HighLevel (reference §7.2); the only signal is
``401 The token is not authorized for this scope.`` So, with the integration's delivered
token (read back from its ``file`` or ``env_file`` sink, where ``hlsync token deliver``
stored it; a ``command`` sink cannot be read back: an error says so), this sends one read-only request per
declared scope that has a read-only probe, and reports each scope as

* ``ok`` — the probe answered 2xx;
* ``MISSING`` — 401 "not authorized for this scope": the box is not ticked in the UI;
* ``not verifiable`` — a write scope (checking it would mean writing), or a scope with
  no read-only probe here.

Probes (Version ``2021-07-28``, through :class:`~hlsync.upstream.client.ApiClient`):
``contacts.readonly`` → ``POST /contacts/search`` (pageLimit 1); ``locations.readonly``
→ ``GET /locations/{id}``; ``locations/customFields.readonly`` →
``GET /locations/{id}/customFields``; ``locations/tags.readonly`` →
``GET /locations/{id}/tags``; ``locations/customValues.readonly`` →
``GET /locations/{id}/customValues``. An agency token probes ``locations.readonly``
on the first declared location. Scopes the token holds beyond the declared ones cannot
be seen this way.

Exit 0 when every verifiable scope is there, 1 when any is missing or the token is
refused outright (invalid, expired, another location's). The target is the config's
(``url`` or ``leadconnector``; ``HLSYNC_LEADCONNECTOR_URL`` redirects the latter for
tests); the embedded sandbox has no address to probe.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from hlsync.config.loader import display_path, load_config
from hlsync.core.model import DesiredState
from hlsync.errors import HlsyncError
from hlsync.live.ledger import integration_key
from hlsync.live.manual import find_integration, leadconnector_base_url
from hlsync.tokens.sinks.registry import sink_of
from hlsync.tokens.sinks.routing import config_dir, sink_for
from hlsync.upstream.bounds import Bounds
from hlsync.upstream.client import ApiClient, ApiError, RetryPolicy

NOT_AUTHORIZED = "not authorized for this scope"
Status = Literal["ok", "MISSING", "not verifiable"]


@dataclass(frozen=True, slots=True)
class Probe:
    method: str
    path: str  # "{id}" stands for the location id
    body: Mapping[str, Any] | None = None  # "{id}" values likewise


PROBES: Mapping[str, Probe] = {
    "contacts.readonly": Probe(
        "POST", "/contacts/search", {"locationId": "{id}", "pageLimit": 1}
    ),
    "locations.readonly": Probe("GET", "/locations/{id}"),
    "locations/customFields.readonly": Probe("GET", "/locations/{id}/customFields"),
    "locations/tags.readonly": Probe("GET", "/locations/{id}/tags"),
    "locations/customValues.readonly": Probe("GET", "/locations/{id}/customValues"),
}
AGENCY_PROBES = frozenset({"locations.readonly"})


@dataclass(frozen=True, slots=True)
class ScopeCheck:
    scope: str
    status: Status
    detail: str  # the probe, or why it cannot be verified


def run(args: argparse.Namespace) -> int:
    desired = load_config(args.path, allow=args.allow_path)
    spec, decl = find_integration(desired, args.name)
    location = None if spec is None else spec.name
    key = integration_key(location, decl.name)
    if decl.ensure == "absent":
        raise HlsyncError(f"{key} is declared `ensure: absent`; nothing to verify")
    base_url = _base_url(desired)
    token = _delivered_token(desired, location, decl.name, key)
    location_id = spec.id if spec is not None else _agency_probe_location(desired)
    checks = asyncio.run(
        check_scopes(
            base_url,
            token,
            decl.scopes,
            location_id,
            agency=spec is None,
            key=key,
            timeout=args.timeout,
        )
    )
    print(render_checks(key, base_url, checks))
    return 1 if any(c.status == "MISSING" for c in checks) else 0


def _base_url(desired: DesiredState) -> str:
    if desired.target.kind == "sandbox":
        raise HlsyncError(
            "verify probes a running API; the embedded sandbox has none",
            hints=("use it with `target: leadconnector` or `target: {url: ...}`",),
        )
    return leadconnector_base_url(desired.target, os.environ)


def _agency_probe_location(desired: DesiredState) -> str | None:
    return desired.locations[0].id if desired.locations else None


def _delivered_token(
    desired: DesiredState, location: str | None, name: str, key: str
) -> str:
    """The token in the integration's sink (``file`` or ``env_file``, the default
    token file when none is configured); a ``command`` sink cannot be read back."""
    spec = sink_for(desired, location, name)
    sink = sink_of(spec)
    if not sink.readable:
        label = sink.label(config_dir(desired))
        raise HlsyncError(
            f"{key} delivers its token to {sink.noun} sink ({label}), which cannot be "
            "read back, so verify has no token to probe with",
            spec.source,
            hints=("verify reads the token from a file or env_file sink",),
        )
    value = sink.read()
    if not value:
        raise HlsyncError(
            f"no token of {key} has been delivered ({sink.why_empty(display_path)})",
            hints=(f"run 'hlsync token deliver {key}' with the token from the UI",),
        )
    return value


async def check_scopes(
    base_url: str,
    token: str,
    scopes: Sequence[str],
    location_id: str | None,
    *,
    agency: bool,
    key: str,
    timeout: float | None = None,
) -> tuple[ScopeCheck, ...]:
    """One :class:`ScopeCheck` per scope, in ``scopes`` order; probes run in turn.
    ``timeout``: each probe's time budget in seconds (default 60).

    Raises :class:`HlsyncError` when the token is refused for another reason than a
    missing scope (invalid or expired token, wrong location) or the API fails.
    """
    retry = RetryPolicy(attempts=3)
    bounds = Bounds() if timeout is None else Bounds(budget=timeout)
    timeouts = bounds.timeout(bounds.budget)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeouts) as http:
        api = ApiClient(http, retry=retry, bounds=bounds)
        return tuple(
            [
                await _check(api, token, scope, location_id, agency, key)
                for scope in scopes
            ]
        )


async def _check(
    api: ApiClient,
    token: str,
    scope: str,
    location_id: str | None,
    agency: bool,
    key: str,
) -> ScopeCheck:
    if not scope.endswith(".readonly"):
        return ScopeCheck(
            scope, "not verifiable", "a write scope: checking it means writing"
        )
    probe = PROBES.get(scope)
    if probe is None or (agency and scope not in AGENCY_PROBES):
        return ScopeCheck(scope, "not verifiable", "no read-only probe for it")
    if location_id is None:
        return ScopeCheck(scope, "not verifiable", "no location declared to probe")
    path = probe.path.replace("{id}", location_id)
    body = (
        None
        if probe.body is None
        else {k: location_id if v == "{id}" else v for k, v in probe.body.items()}
    )
    shown = f"{probe.method} {probe.path.replace('{id}', '{locationId}')}"
    try:
        await api.request(
            probe.method,
            path,
            token=token,
            location_id=location_id,
            json_body=body,
        )
    except ApiError as exc:
        upstream = exc.upstream_message or ""
        if exc.status == 401 and NOT_AUTHORIZED in upstream.lower():
            return ScopeCheck(scope, "MISSING", f"{shown} -> 401 {upstream}")
        if exc.status in (401, 403):
            raise HlsyncError(
                f"the token of {key} was refused: {shown} -> {exc.status} "
                f"{upstream or '(no message)'}",
                hints=(
                    "it is not a valid token of this location (expired, rotated, "
                    f"or another account's); deliver a fresh one with "
                    f"'hlsync token deliver {key}'",
                ),
            ) from exc
        raise
    return ScopeCheck(scope, "ok", shown)


def render_checks(key: str, base_url: str, checks: Sequence[ScopeCheck]) -> str:
    """The report: one line per scope, then a summary line."""
    lines = [f"Verifying the token of {key} at {base_url}", ""]
    width = max((len(c.scope) for c in checks), default=0)
    for c in checks:
        lines.append(f"  {c.scope.ljust(width)}  {c.status.ljust(14)}  {c.detail}")
    counts = {s: sum(c.status == s for c in checks) for s in ("MISSING", "ok")}
    unknown = len(checks) - counts["MISSING"] - counts["ok"]
    missing = counts["MISSING"]
    lines += [
        "",
        f"Result: {missing} {'scope' if missing == 1 else 'scopes'} missing, "
        f"{counts['ok']} ok, {unknown} not verifiable.",
    ]
    if missing:
        lines.append(
            "Tick the missing scopes in the UI (three-dot menu › Edit), then "
            f"run 'hlsync verify {key}' again."
        )
    return "\n".join(lines)
