"""Read the observed state of the declared locations, with the fewest API calls.

``read_observed(desired, access)`` reads every declared location concurrently (at most
``parallel`` at once when given: ``--parallel-locations``), each kind
of ``hlsync.kinds.registry.KINDS`` through its own ``read`` (concurrently too): its
Private Integrations (through the driver, not the upstream API), its contact custom
fields, tags and custom values (one list call each: what the config does not declare
is listed as unmanaged; when nothing is declared, only if the token may read them) and
the contacts that match declared keys (all of them when the location manages contacts
exclusively). It never reads ``GET /locations/{id}`` (the settings are not compared;
every call counts).

Contacts follow the read-path rule of ``hlsync.upstream.contact_search``. A location
pending its seeding integration's repaired token (``TargetAccess.pending``) has only its
integrations read: its API has no token yet.

``read_objects(desired, access, refs)`` re-reads only named objects for a saved plan:
contacts by batched lookup, custom fields and tags by one list each (tags matched
without case, keyed by upstream's spelling), integrations through the driver.
``build_access(api, desired, tokens)`` makes the :class:`TargetAccess` from resolved
tokens.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hlsync.core.model import (
    DesiredState,
    Kind,
    LocationSpec,
    ObservedIntegration,
    ObservedLocation,
    ObservedState,
)
from hlsync.engine import collector
from hlsync.engine.location_slots import LocationSlots
from hlsync.errors import HlsyncError
from hlsync.kinds.base import ReadContext, ResourceKind, SinkToken
from hlsync.kinds.integration import agency_integrations
from hlsync.kinds.registry import KINDS
from hlsync.targets.access import TargetAccess, location_api
from hlsync.tokens.sinks.routing import read_sink_token, sink_for


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One object to re-read: ``location`` is the local name, None for the agency."""

    kind: Kind
    location: str | None
    key: str


def sink_reader(desired: DesiredState) -> SinkToken:
    """What an integration's sink holds now (None: nothing, or not readable back)."""

    def read(location: str | None, name: str) -> str | None:
        try:
            return read_sink_token(sink_for(desired, location, name))
        except HlsyncError:
            return None  # a command sink: the newest duplicate is kept

    return read


async def read_observed(
    desired: DesiredState, access: TargetAccess, *, parallel: int | None = None
) -> ObservedState:
    """The observed state of every declared location (concurrently, at most
    ``parallel`` at once) and the agency (with fewer collector passes: many contacts
    read live on, ``engine.collector``)."""
    sinks = sink_reader(desired)
    slots = LocationSlots(parallel)

    async def one(spec: LocationSpec) -> ObservedLocation:
        async with slots.hold(spec.name):
            return await _read_location(spec, access, sinks)

    declared = sum(len(spec.contacts) for spec in desired.locations)
    with collector.reading(declared):
        agency, locations = await asyncio.gather(
            agency_integrations(access, sinks),
            asyncio.gather(*(one(spec) for spec in desired.locations)),
        )
    return ObservedState(
        agency_integrations=agency,
        locations={loc.name: loc for loc in locations},
        upstream_now=access.upstream_now(),
        agency_token_holder=access.agency_token_holder,
    )


async def read_objects(
    desired: DesiredState,
    access: TargetAccess,
    refs: Iterable[ObjectRef],
    *,
    parallel: int | None = None,
) -> ObservedState:
    """Re-read only ``refs`` (at most ``parallel`` locations at once); objects that no
    longer exist are simply absent."""
    agency_refs: list[ObjectRef] = []
    by_location: dict[str, list[ObjectRef]] = {}
    for ref in refs:
        if ref.location is None:
            agency_refs.append(ref)
        else:
            by_location.setdefault(ref.location, []).append(ref)
    specs = []
    for name in sorted(by_location):
        spec = desired.location(name)
        if spec is None:
            raise HlsyncError(f"the plan names location {name!r}, not in the config")
        specs.append(spec)

    sinks = sink_reader(desired)

    async def agency_read() -> Mapping[str, ObservedIntegration]:
        if not any(r.kind == "integration" for r in agency_refs):
            return {}
        wanted = {r.key for r in agency_refs}
        found = await agency_integrations(access, sinks)
        return {k: v for k, v in found.items() if k in wanted}

    slots = LocationSlots(parallel)

    async def one(spec: LocationSpec) -> ObservedLocation:
        async with slots.hold(spec.name):
            return await _reread_location(spec, access, by_location[spec.name], sinks)

    agency, locations = await asyncio.gather(
        agency_read(), asyncio.gather(*(one(spec) for spec in specs))
    )
    return ObservedState(
        agency_integrations=agency,
        locations={loc.name: loc for loc in locations},
        upstream_now=access.upstream_now(),
    )


async def _read_location(
    spec: LocationSpec, access: TargetAccess, sinks: SinkToken
) -> ObservedLocation:
    ctx = ReadContext(spec, location_api(access, spec), access, sink_token=sinks)
    found = await asyncio.gather(*(_read_kind(kind, ctx) for kind in KINDS))
    return dataclasses.replace(
        _observed_location(spec, found),
        unlisted=dict(ctx.unlisted),
        totals=dict(ctx.totals),
        token_holder=access.token_holders.get(spec.name),
    )


async def _read_kind(
    kind: ResourceKind[Any, Any], ctx: ReadContext
) -> Mapping[str, Any]:
    """One kind's objects; of a location pending its seeding token's repair
    (``TargetAccess.pending``) only the integrations (read through the driver)."""
    if ctx.spec.name in ctx.access.pending and kind.name != "integration":
        return {}
    return await kind.read(ctx)


async def _reread_location(
    spec: LocationSpec,
    access: TargetAccess,
    refs: Sequence[ObjectRef],
    sinks: SinkToken,
) -> ObservedLocation:
    ctx = ReadContext(spec, location_api(access, spec), access, sink_token=sinks)
    wanted: dict[Kind, set[str]] = {}
    for ref in refs:
        wanted.setdefault(ref.kind, set()).add(ref.key)
    found = await asyncio.gather(
        *(kind.reread(ctx, wanted.get(kind.name, set())) for kind in KINDS)
    )
    return _observed_location(spec, found)


def _observed_location(
    spec: LocationSpec, found: Sequence[Mapping[str, Any]]
) -> ObservedLocation:
    objects: dict[str, Any] = {
        kind.section: dict(items) for kind, items in zip(KINDS, found, strict=True)
    }
    return ObservedLocation(name=spec.name, id=spec.id, **objects)
