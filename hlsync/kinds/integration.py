"""Private Integrations, keyed by name, per location or at the agency.

Config: ``integrations: {name: {description, scopes, scope_sets, token, ensure,
protect}}`` (the builder resolves scope sets, policy and token sinks). Read and write go
through the target's integration driver (``hlsync.targets.drivers``: the emulator's
management API, or the manual driver on the live cloud), never the upstream API. Planning
is ``hlsync.kinds.integration_plan`` (scope deltas, token verbs from the token policy on
the upstream's clock); writing is ``hlsync.kinds.integration_writer`` (drivers, token
custody, the seeding switch). The agency holds integrations only: the planner and the
reader call :func:`plan_integrations` and :func:`agency_integrations` for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from hlsync.core.catalog import Catalog
from hlsync.core.model import (
    Integration,
    Kind,
    LocationSpec,
    ObservedIntegration,
    ObservedLocation,
)
from hlsync.core.plan import Change, address
from hlsync.kinds.base import LocationBuilder, PlanContext, ReadContext, WriteContext
from hlsync.kinds.integration_plan import PlanOptions, present_changes
from hlsync.kinds.shared import absent_change
from hlsync.targets.access import TargetAccess
from hlsync.targets.drivers import IntegrationScope


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
        return await driver.list(IntegrationScope.location(ctx.spec.id))

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
    access: TargetAccess,
) -> Mapping[str, ObservedIntegration]:
    """The agency's integrations (none when the target reads no agency)."""
    if access.integrations is None or access.company_id is None:
        return {}
    return await access.integrations.list(IntegrationScope.agency(access.company_id))


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
    return out
