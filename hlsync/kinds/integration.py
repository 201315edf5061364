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
run. An integration no config declares is never touched, duplicated or not — unless
the location manages its integrations exclusively (``manage: {integrations:
exclusive}``): then each one is deleted (gated). The integration whose token is the
location's own (``ObservedLocation.token_holder``, where the target can tell) is part
of the location's access: never listed as unmanaged, deleted or exported (deleting it
would cut hlsync off; stamping it onto other locations would repair their own tokens
away).

Export: every integration with its description and scopes, the scopes folded into the
source config's scope sets where whole sets match (:func:`fold_scopes`). Its token is
held by whoever uses it, not by hlsync, so it gets the ``held_by`` sink (no repair is
ever planned for it), unless the source config declares the integration: then its
``token:`` settings are carried over.
"""

from __future__ import annotations

import re
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
from hlsync.core.plan import Change, Unmanaged, address
from hlsync.kinds.base import (
    ExportContext,
    Exported,
    LocationBuilder,
    PlanContext,
    ReadContext,
    SinkToken,
    Verbatim,
    WriteContext,
)
from hlsync.kinds.integration_plan import PlanOptions, present_changes
from hlsync.kinds.shared import absent_change, prune_changes, unmanaged_entry
from hlsync.targets.access import TargetAccess
from hlsync.targets.drivers import (
    DUPLICATE_MARK,
    ApiIntegrationDriver,
    IntegrationScope,
    duplicates_of,
    keep,
)

# The token settings an exported integration gets: held outside hlsync.
HELD_ELSEWHERE = Verbatim(sink={"held_by": "not hlsync (adopted by hlsync export)"})
# An integration name a config may use (schemas/config.schema.json): part of a file name.
NAME_PATTERN = re.compile(r"^[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]{0,63}$")


class IntegrationKind:
    name: Kind = "integration"
    section = "integrations"
    nouns = ("integration", "integrations")
    layer = 0
    delete_layer = 5
    lagging_read = False
    prune_consent: str | None = None

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

    def unmanaged(
        self, spec: LocationSpec, observed: ObservedLocation
    ) -> Unmanaged | None:
        found = _unmanaged(spec.integrations, observed.integrations)
        holder = observed.token_holder
        labels = [k for k, v in found.items() if v.id != holder]
        return unmanaged_entry(spec, self.name, labels, None)

    def prune(
        self, spec: LocationSpec, observed: ObservedLocation, ctx: PlanContext
    ) -> list[Change]:
        found = _unmanaged(spec.integrations, observed.integrations)
        holder = observed.token_holder
        if holder is None and found:
            ctx.warnings.append(
                f"{spec.name}: manages integrations exclusively, but hlsync cannot tell "
                "which integration holds the location's own token; declare that one "
                "(with `protect: true`) so that it is not deleted"
            )
        kept = {k: v for k, v in found.items() if v.id != holder}
        return prune_changes(spec, self.name, self.section, kept, lambda k: k)

    async def export(self, ctx: ExportContext) -> Exported:
        driver = ctx.read.access.integrations
        if driver is None:
            return Exported()
        found = await driver.list(IntegrationScope.location(ctx.read.spec.id))
        holder = ctx.read.access.token_holders.get(ctx.read.spec.name)
        found = {k: v for k, v in found.items() if v.id != holder}
        return export_integrations(
            found, ctx.scope_sets, ctx.tokens, ctx.warnings, ctx.read.spec.name
        )


INTEGRATION = IntegrationKind()


def _unmanaged(
    declared: Iterable[Integration], observed: Mapping[str, ObservedIntegration]
) -> dict[str, ObservedIntegration]:
    """The observed integrations no declaration names (a second one of a declared
    name is the duplicate repair's, not unmanaged)."""
    names = {d.name for d in declared}
    return {k: v for k, v in observed.items() if v.name not in names}


def agency_unmanaged(
    declared: Iterable[Integration],
    observed: Mapping[str, ObservedIntegration],
    holder: str | None,
) -> Unmanaged | None:
    """The agency's integrations no declaration names (the agency is additive), less
    the one holding its own token."""
    found = sorted(
        (k for k, v in _unmanaged(declared, observed).items() if v.id != holder),
        key=lambda n: (n.casefold(), n),
    )
    return Unmanaged(None, "integration", len(found), tuple(found)) if found else None


def export_integrations(
    found: Mapping[str, ObservedIntegration],
    scope_sets: Mapping[str, frozenset[str]],
    tokens: Mapping[str, Verbatim],
    warnings: list[str],
    where: str,
) -> Exported:
    """The config of the integrations ``found`` in one location or the agency (module
    docstring): description and scopes are ``shared``, the token settings ``own``."""
    shared: dict[str, Any] = {}
    own: dict[str, Any] = {}
    for key in sorted(found):
        obs = found[key]
        if DUPLICATE_MARK in key and key != obs.name:
            warnings.append(
                f"{where}: integration {obs.name!r} exists twice; the second one "
                f"({obs.id}) is left out (plan proposes deleting it)"
            )
            continue
        if not NAME_PATTERN.match(obs.name):
            warnings.append(
                f"{where}: integration {obs.name!r} left out: a config cannot name it "
                "(its name becomes part of a file name)"
            )
            continue
        entry: dict[str, Any] = {}
        if obs.description:
            entry["description"] = obs.description
        sets, rest = fold_scopes(frozenset(obs.scopes), scope_sets)
        if sets:
            entry["scope_sets"] = sets
        if rest:
            entry["scopes"] = rest
        shared[obs.name] = entry
        token = tokens.get(obs.name)
        own[obs.name] = {"token": token if token is not None else HELD_ELSEWHERE}
    return Exported(shared=shared or None, own=own or None)


def fold_scopes(
    scopes: frozenset[str], sets: Mapping[str, frozenset[str]]
) -> tuple[list[str], list[str]]:
    """``scopes`` as the scope sets wholly inside it (largest first, then by name; a
    set the others already cover is dropped) and the scopes no chosen set holds."""
    usable = sorted(
        ((name, members) for name, members in sets.items() if members <= scopes),
        key=lambda item: (-len(item[1]), item[0]),
    )
    usable = [(name, members) for name, members in usable if members]
    chosen: list[str] = []
    covered: set[str] = set()
    for name, members in usable:
        if not members <= covered:
            chosen.append(name)
            covered |= members
    for name in list(reversed(chosen)):
        others: set[str] = set()
        for other in chosen:
            if other != name:
                others |= sets[other]
        if sets[name] <= others:
            chosen.remove(name)
    return sorted(chosen), sorted(scopes - covered)


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
