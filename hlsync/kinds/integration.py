"""Private Integrations, keyed by name, per location or at the agency.

Config: ``integrations: {name: {description, scopes, scope_sets, token, ensure,
protect}}`` (the builder resolves scope sets, policy and token sinks). Read and write go
through the target's integration driver (``hlsync.targets.drivers``: the emulator's
management API, or the manual driver on the live cloud), never the upstream API. Planning
is ``hlsync.kinds.integration_plan`` (scope deltas, token verbs from the token policy on
the upstream's clock); writing is ``hlsync.kinds.integration_writer`` (drivers, token
custody, the seeding switch). The agency holds integrations only: the planner and the
reader call :func:`plan_integrations` and :func:`agency_integrations` for it.

Duplicates (two integrations with one declared name: two applies that raced, a click
in the UI): the driver lists the extra ones under ``name#id``
(``targets.drivers.duplicate_key``); the read keeps under the name the one whose token
the sink holds (asked of the api driver), else the newest; the plan proposes deleting
each other one — a ``delete`` at ``<location>.integration["name#id"]`` with gate
``delete`` (``--force``) and a ``why`` naming the one kept — instead of failing every
run. An integration no config declares is never touched, duplicated or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hlsync.core.catalog import Catalog
from hlsync.core.fingerprint import fingerprint
from hlsync.core.model import (
    Integration,
    Kind,
    LocationSpec,
    ObservedIntegration,
    ObservedLocation,
)
from hlsync.core.plan import Change, address
from hlsync.kinds.base import (
    LocationBuilder,
    PlanContext,
    ReadContext,
    SinkToken,
    WriteContext,
)
from hlsync.kinds.integration_plan import PlanOptions, present_changes
from hlsync.kinds.shared import absent_change
from hlsync.targets.access import TargetAccess
from hlsync.targets.drivers import (
    ApiIntegrationDriver,
    IntegrationScope,
    duplicates_of,
    keep,
)


class IntegrationKind:
    name: Kind = "integration"
    section = "integrations"
    nouns = ("integration", "integrations")
    layer = 0
    delete_layer = 5
    lagging_read = False

    def declared(self, spec: LocationSpec) -> Sequence[Integration]:
        return spec.integrations

    def observed(self, location: ObservedLocation) -> Mapping[str, ObservedIntegration]:
        return location.integrations

    def build(self, builder: LocationBuilder) -> tuple[Integration, ...]:
        return builder.integrations()

    def write_scopes(self, data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        return ()  # integrations are changed through the driver, not with the token

    async def read(self, ctx: ReadContext) -> Mapping[str, ObservedIntegration]:
        driver = ctx.access.integrations
        if driver is None:
            return {}
        scope = IntegrationScope.location(ctx.spec.id)
        found = await driver.list(scope)
        return await keep_sink_holders(
            found, ctx.spec.name, scope, ctx.access, ctx.sink_token
        )

    async def reread(
        self, ctx: ReadContext, keys: set[str]
    ) -> Mapping[str, ObservedIntegration]:
        if not keys:
            return {}
        return {k: v for k, v in (await self.read(ctx)).items() if k in keys}

    def plan(
        self, spec: LocationSpec, observed: ObservedLocation, ctx: PlanContext
    ) -> list[Change]:
        return plan_integrations(
            spec.name,
            spec.id,
            spec.integrations,
            observed.integrations,
            ctx.options,
            ctx.catalog,
            ctx.now,
        )

    async def write(self, change: Change, ctx: WriteContext) -> str:
        return await ctx.integrations.execute(change)


INTEGRATION = IntegrationKind()


async def agency_integrations(
    access: TargetAccess, sink_token: SinkToken | None = None
) -> Mapping[str, ObservedIntegration]:
    """The agency's integrations (none when the target reads no agency)."""
    if access.integrations is None or access.company_id is None:
        return {}
    scope = IntegrationScope.agency(access.company_id)
    found = await access.integrations.list(scope)
    return await keep_sink_holders(found, None, scope, access, sink_token)


async def keep_sink_holders(
    found: Mapping[str, ObservedIntegration],
    where: str | None,
    scope: IntegrationScope,
    access: TargetAccess,
    sink_token: SinkToken | None,
) -> Mapping[str, ObservedIntegration]:
    """``found`` with, of each name held twice, the one whose token the sink holds
    kept under the name (the driver kept the newest; the api driver can tell which
    integration a token belongs to)."""
    driver = access.integrations
    if sink_token is None or not isinstance(driver, ApiIntegrationDriver):
        return found
    for name in sorted({v.name for v in found.values()}):
        if name not in found or not duplicates_of(found, name):
            continue
        token = sink_token(where, name)
        owner = None if token is None else await driver.token_owner(scope, token)
        if owner is not None:
            found = keep(found, name, owner)
    return found


def plan_integrations(
    where: str | None,
    location_id: str | None,
    decls: Iterable[Integration],
    observed: Mapping[str, ObservedIntegration],
    opts: PlanOptions,
    catalog: Catalog,
    now: datetime | None,
) -> list[Change]:
    """The changes of the integrations of one location, or of the agency (None)."""
    out: list[Change] = []
    for decl in decls:
        obs = observed.get(decl.name)
        if decl.ensure == "absent":
            label = decl.name
            out.append(
                absent_change(
                    where, location_id, "integration", label, label, decl, obs
                )
            )
            continue
        addr = address(where, "integration", decl.name)
        out += present_changes(addr, where, location_id, decl, obs, opts, catalog, now)
    for decl in decls:
        kept = observed.get(decl.name)
        for key, extra in duplicates_of(observed, decl.name):
            out.append(_duplicate_delete(where, location_id, decl, key, extra, kept))
    return out


def _duplicate_delete(
    where: str | None,
    location_id: str | None,
    decl: Integration,
    key: str,
    extra: ObservedIntegration,
    kept: ObservedIntegration | None,
) -> Change:
    """The repair of a second integration named like ``decl``: delete it (``--force``)."""
    if decl.ensure == "absent" or kept is None:
        why = f"a second Private Integration named {decl.name!r}"
    else:
        why = (
            f"a second Private Integration named {decl.name!r}; hlsync keeps "
            f"{kept.id} (the one whose token the sink holds, else the newest)"
        )
    return Change(
        address=address(where, "integration", key),
        action="delete",
        kind="integration",
        location=where,
        location_id=location_id,
        key=key,
        object_id=extra.id,
        desired={
            "name": decl.name,
            "reason": why,
            "duplicate_of": None if kept is None else kept.id,
        },
        fingerprint=fingerprint(extra),
        gate="delete",
        api_calls=1,
        source=decl.source,
    )
