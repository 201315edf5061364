"""Open the target a config names and hand back a :class:`TargetAccess`.

``open_target(desired)`` is an async context manager: everything it opens (the HTTP
client, the sandbox database and its lock) is closed when the block ends, also on an
error or Ctrl-C. One :class:`~hlsync.upstream.client.ApiClient` serves the whole run, so every
location is paced by its own budget and the locations run in parallel.

Targets (DESIGN.md §2):

* ``sandbox`` — the emulator in-process (``open_sandbox``) over ``httpx.ASGITransport``.
  Each process gets freshly minted bootstrap tokens (only hashes are stored), so a
  location's token reference is NOT read on the sandbox: the sandbox's own sub-account
  token is used. This is a decision, not an accident: a token from the environment
  cannot belong to this local database unless hlsync minted it here, and reading one
  meant for a real account would only turn into a confusing 401. Private Integrations go
  through the api driver; the agency is the sandbox's.
* ``url`` — a running ``hlsync emulator serve``: a real ``httpx.AsyncClient`` to the URL;
  each location's token comes from its token reference (environment variable or file).
  Integrations go through the api driver (``/_emulator/``); the agency's company id is
  asked of the admin API (the company owning the first declared location), and only
  when agency integrations are declared.
* ``leadconnector`` — the live API. Tokens as for ``url``. There is no API for Private
  Integrations upstream, so they go through the manual driver (``hlsync.live.manual``): the
  ledger beside the config is their observed state, and changes become runbook steps;
  ``/_emulator/`` is never called there. ``HLSYNC_LEADCONNECTOR_URL`` replaces the base
  URL (for tests: the emulator standing in for the live service).

Seeding token (``auth: {integration: NAME}``, issue 5 item 6): such a location's API uses
the token in that integration's sink (file or env_file; a command sink cannot be read
back: an error) once the integration exists — checked through the driver, so a sink left
over from a reset sandbox is not used, and with the api driver the upstream confirms the
token is one of the integration's live ones — and the bootstrap token (the sandbox's, or
the location's token reference) only while the integration does not exist yet. It never
falls back silently (issue 9): when the integration exists but its sink lacks a working
token, the location is *pending* (``TargetAccess.pending``): its API gets no token, the
plan repairs the integration's token first (``tokens.health``) and ``apply`` plans and
applies the location's other changes with the new token in the same run. ``auth:
{fallback: location-token}`` opts out: the location's own token is used instead, and
every plan warns about it. ``TargetAccess.seeded_by`` tells the applier to switch
the location to the integration's new token as soon as it is stored, so on the sandbox
hlsync creates the least-privilege integration with its bootstrap token and then seeds
with the new one.

A missing token is an :class:`HlsyncError` naming the location, the variable or file and
what to do; every missing one is reported in one run. A token value never appears in a
message, a log line or a ``repr``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from hlsync.core.model import DesiredState
from hlsync.errors import HlsyncError
from hlsync.live.ledger import load_ledger
from hlsync.live.manual import (
    leadconnector_base_url,
    ledger_file,
    manual_target_access,
)
from hlsync.targets.access import TargetAccess, build_access
from hlsync.targets.drivers import (
    ApiIntegrationDriver,
    IntegrationDriver,
    IntegrationScope,
    Token,
)
from hlsync.targets.location_tokens import own_tokens, resolve_tokens
from hlsync.tokens.sinks.routing import read_sink_token, sink_for
from hlsync.upstream.bounds import Bounds
from hlsync.upstream.client import ApiClient
from hlsync.upstream.http_client import upstream_client

ADMIN_LOCATIONS = "/_emulator/locations"
ADMIN_AGENCIES = "/_emulator/agencies"


@asynccontextmanager
async def open_target(
    desired: DesiredState,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> AsyncIterator[TargetAccess]:
    """A :class:`TargetAccess` for every location of ``desired`` (see module docstring).

    ``environ`` (default ``os.environ``) is where token variables are looked up.
    ``timeout`` is each request's time budget in seconds (``--timeout``; default
    :data:`~hlsync.upstream.bounds.DEFAULT_BUDGET`). Raises :class:`HlsyncError` for a
    missing token, a locked or foreign sandbox database, or an unreadable ledger
    (``leadconnector``).
    """
    env = os.environ if environ is None else environ
    bounds = Bounds() if timeout is None else Bounds(budget=timeout)
    kind = desired.target.kind
    if kind == "sandbox":
        async with _sandbox(desired, bounds) as access:
            yield access
    elif kind == "url":
        async with _emulator_url(desired, env, bounds) as access:
            yield access
    else:
        async with _leadconnector(desired, env, bounds) as access:
            yield access


@asynccontextmanager
async def _sandbox(
    desired: DesiredState, bounds: Bounds
) -> AsyncIterator[TargetAccess]:
    if desired.target.sandbox_db is None:
        raise HlsyncError("the sandbox target has no database path")
    # Imported here: the emulator (Starlette, its store) costs ~0.1 s of start-up that
    # a run against a served emulator or the live cloud has no use for.
    from hlsync.emulator.sandbox import open_sandbox

    sandbox = open_sandbox(
        Path(desired.target.sandbox_db),
        [(spec.id, spec.name) for spec in desired.locations],
    )
    try:
        async with httpx.AsyncClient(
            transport=sandbox.transport,
            base_url=sandbox.base_url,
            timeout=bounds.timeout(bounds.budget),
        ) as http:
            api = ApiClient(http, bounds=bounds)
            driver = ApiIntegrationDriver(api)
            tokens = {
                spec.name: sandbox.location_tokens[spec.id]
                for spec in desired.locations
            }
            own = dict(tokens)
            seeding = await seed_tokens(desired, driver)
            tokens.update(seeding.tokens)
            for name in seeding.pending:
                del tokens[name]  # never the sandbox's own token instead
            access = build_access(
                api,
                desired,
                tokens,
                integrations=driver,
                company_id=sandbox.company_id,
                seeded_by=seeded_by(desired),
                pending=seeding.pending,
                own_tokens=own,
                unique_names=True,
            )
            yield await with_token_holders(
                access, desired, driver, own, sandbox.agency_token
            )
    finally:
        sandbox.close()


@asynccontextmanager
async def _emulator_url(
    desired: DesiredState, environ: Mapping[str, str], bounds: Bounds
) -> AsyncIterator[TargetAccess]:
    async with upstream_client(
        desired.target.base_url, bounds.timeout(bounds.budget)
    ) as http:
        api = ApiClient(http, bounds=bounds)
        driver = ApiIntegrationDriver(api)
        seeding = await seed_tokens(desired, driver)
        tokens = resolve_tokens(
            desired, environ, skip={*seeding.tokens, *seeding.pending}
        )
        tokens.update(seeding.tokens)
        company_id = None
        if desired.agency.integrations:
            company_id = await _emulator_company_id(api, desired)
        own = own_tokens(desired, environ)
        access = build_access(
            api,
            desired,
            tokens,
            integrations=driver,
            company_id=company_id,
            seeded_by=seeded_by(desired),
            pending=seeding.pending,
            own_tokens=own,
            unique_names=True,
        )
        yield await with_token_holders(
            access, desired, driver, own, _agency_token(desired, environ)
        )


@asynccontextmanager
async def _leadconnector(
    desired: DesiredState, environ: Mapping[str, str], bounds: Bounds
) -> AsyncIterator[TargetAccess]:
    ledger = load_ledger(ledger_file(desired))

    def confirmed(location: str, name: str) -> bool:
        return name in ledger.present(location)

    seeding = await seed_tokens(desired, None, confirmed)
    tokens = resolve_tokens(desired, environ, skip={*seeding.tokens, *seeding.pending})
    tokens.update(seeding.tokens)
    async with upstream_client(
        leadconnector_base_url(desired.target, environ),
        bounds.timeout(bounds.budget),
    ) as http:
        api = ApiClient(http, bounds=bounds)
        access = manual_target_access(api, desired, tokens, pending=seeding.pending)
        own = own_tokens(desired, environ)
        yield dataclasses.replace(
            access,
            seeded_by=seeded_by(desired),
            pending=seeding.pending,
            own={
                spec.name: api.location(spec.id, own[spec.name])
                for spec in desired.locations
                if spec.name in own
            },
        )


def seeded_by(desired: DesiredState) -> dict[str, str]:
    """Location name → the integration whose token it seeds with."""
    return {
        spec.name: spec.auth_integration
        for spec in desired.locations
        if spec.auth_integration is not None
    }


@dataclass(frozen=True, slots=True)
class Seeding:
    """The seeding tokens found (location name → the integration's token) and the
    locations ``pending`` a repair: their integration exists but its token is not in
    its sink (or no longer works), and they did not opt out with ``fallback:
    location-token``."""

    tokens: dict[str, str]
    pending: frozenset[str] = frozenset()


async def seed_tokens(
    desired: DesiredState,
    driver: IntegrationDriver | None,
    confirmed: Callable[[str, str], bool] | None = None,
) -> Seeding:
    """The seeding integration's token of each location that has one ready.

    Read from the integration's sink; used only when ``driver`` (None: not checked)
    lists the integration and says the token is one of its live tokens (the api
    driver), since a token in the sink of an integration that does not exist (yet,
    or any more) cannot work. An integration not created yet leaves the location on
    its bootstrap token (the plan creates it first). One that exists with no working
    token in its sink makes the location pending (module docstring); without a
    driver, ``confirmed(location, name)`` says whether it exists (the ledger).
    """
    found: dict[str, str] = {}
    pending: set[str] = set()
    for spec in desired.locations:
        name = spec.auth_integration
        if name is None:
            continue
        value = read_sink_token(sink_for(desired, spec.name, name))
        if driver is None:
            exists = confirmed is not None and confirmed(spec.name, name)
            works = value is not None
        else:
            scope = IntegrationScope.location(spec.id)
            listed = (await driver.list(scope)).get(name)
            exists = listed is not None
            works = value is not None and listed is not None
            if (
                works
                and listed is not None
                and isinstance(driver, ApiIntegrationDriver)
            ):
                check = await driver.token_check(scope, listed.id, Token(value or ""))
                works = check.live
        if works and value is not None:
            found[spec.name] = value
        elif exists and not spec.auth_fallback:
            pending.add(spec.name)
    return Seeding(found, frozenset(pending))


async def with_token_holders(
    access: TargetAccess,
    desired: DesiredState,
    driver: ApiIntegrationDriver,
    own: Mapping[str, str],
    agency_token: str | None,
) -> TargetAccess:
    """``access`` knowing, per location (and for the agency), the id of the
    integration its own token belongs to: part of its access, not an object the
    config manages (never listed as unmanaged, deleted by an exclusive ``manage`` or
    exported); one admin request each, all at once (a plan of 100 locations must not
    wait for 100 round trips in a row)."""
    asked = [spec for spec in desired.locations if own.get(spec.name)]
    owners = await asyncio.gather(
        *(
            driver.token_owner(IntegrationScope.location(spec.id), own[spec.name])
            for spec in asked
        )
    )
    found = {
        spec.name: owner
        for spec, owner in zip(asked, owners, strict=True)
        if owner is not None
    }
    agency = None
    if agency_token and access.company_id is not None:
        scope = IntegrationScope.agency(access.company_id)
        agency = await driver.token_owner(scope, agency_token)
    return dataclasses.replace(access, token_holders=found, agency_token_holder=agency)


def _agency_token(desired: DesiredState, environ: Mapping[str, str]) -> str | None:
    """The agency's own token where its reference can be read (None otherwise)."""
    ref = desired.agency.token
    if ref is None:
        return None
    if ref.env is not None:
        return environ.get(ref.env, "").strip() or None
    try:
        return Path(ref.file or "").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


async def _emulator_company_id(api: ApiClient, desired: DesiredState) -> str:
    """The company of the declared locations, from the emulator's admin API."""
    answer = await api.request(
        "GET", ADMIN_LOCATIONS, token=None, location_id="_emulator:admin"
    )
    by_id = {
        str(item.get("id")): str(item.get("companyId"))
        for item in answer.get("locations") or ()
        if isinstance(item, dict) and item.get("companyId")
    }
    for spec in desired.locations:
        if spec.id in by_id:
            return by_id[spec.id]
    answer = await api.request(
        "GET", ADMIN_AGENCIES, token=None, location_id="_emulator:admin"
    )
    ids = sorted(
        str(item["id"])
        for item in answer.get("agencies") or ()
        if isinstance(item, dict) and item.get("id")
    )
    if len(ids) == 1:
        return ids[0]
    raise HlsyncError(
        f"cannot tell which agency of the emulator at {desired.target.base_url} "
        f"is this config's (it holds {len(ids)} agencies and none of the declared "
        "locations)",
        hints=("declare at least one location the emulator has",),
    )
