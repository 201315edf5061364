"""Pure planning: ``build_plan(desired, observed) -> Plan``. No I/O, no network.

For every managed object (DESIGN.md §3) the planner emits exactly one :class:`Change`:
create, update, replace, delete or noop. What each kind plans lives in its module under
``hlsync/kinds/`` (``ResourceKind.plan``); this module runs them per location in
``KINDS`` order, links dependents to the creates they wait for, and orders the plan. Rules that keep hlsync safe beside people who
use the HighLevel UI:

* Only declared data is compared (``contact_diff``); removing an entry from the config
  stops managing it and never deletes it. Deletion needs ``ensure: absent``.
* Tags a contact uses that the location lacks (and the config does not declare) are
  created as tag changes; contacts depend on the tag and custom-field changes they use.
* A custom field's data type cannot change in place (PUT has no ``dataType``): that is a
  replace (delete, then create), gated like a delete.
* Token verbs (``hlsync.kinds.integration_plan``, ``hlsync.tokens.rotation``): an existing integration
  may get a ``rotate`` / ``rotate_now`` / ``expire_old`` change from its token policy on
  the upstream's clock, or any verb ``PlanOptions.requests`` asks for, or the repair of
  a token its sink lacks (``PlanOptions.lost``); next to an update of the same
  integration it is a second change at ``<address>.token``. A location that seeds with
  one of its integrations' tokens waits for that integration's new token; one not read
  because that token awaits its repair (``PlanOptions.deferred``) plans only its
  integrations, and says so.
* Unmanaged objects (upstream, not declared) are left alone and listed in
  ``Plan.unmanaged`` (``ResourceKind.unmanaged``), unless the location manages the kind
  exclusively (``manage:``): then each one is a gated delete (``ResourceKind.prune``).
* Gates: every delete and replace needs ``--force``; removing more than
  ``PlanOptions.max_scope_removals`` scopes from one integration needs ``--force``;
  so does a token verb that ends a token at once (``rotate_now``, ``expire_old``);
  ``protect: true`` on an object that would be deleted or replaced is refused outright.

Order (deterministic): dependency layer — integrations; custom fields and tags; contacts;
then contact deletes, custom-field and tag deletes, integration deletes last (a deleted
integration may hold the token the other calls use) — then location (agency first), then
address.
"""

from __future__ import annotations

__all__ = ["AGENCY", "PlanOptions", "address", "build_plan", "change_order"]

from hlsync import __version__
from hlsync.core.catalog import load_catalog
from hlsync.core.model import (
    DesiredState,
    LocationSpec,
    ObservedLocation,
    ObservedState,
    Target,
)
from hlsync.core.plan import AGENCY, Change, Plan, PlanLocation, Unmanaged, address
from hlsync.engine import collector
from hlsync.errors import HlsyncError, Problem
from hlsync.kinds.base import PlanContext
from hlsync.kinds.integration import agency_unmanaged, plan_integrations
from hlsync.kinds.integration_plan import (
    PlanOptions,
    auth_warnings,
    check_requests,
    plan_warnings,
    seeded,
)
from hlsync.kinds.registry import KINDS, kind_named
from hlsync.tokens.rotation import parse_time


def build_plan(
    desired: DesiredState,
    observed: ObservedState,
    *,
    options: PlanOptions | None = None,
) -> Plan:
    """Every change that makes ``observed`` match ``desired``, in execution order.

    Raises :class:`HlsyncError` when the config contradicts itself in a way validation
    cannot see alone (a contact using a tag or custom field marked ``ensure: absent``),
    or when ``observed`` lacks one of the configured locations.
    """
    with collector.planning():  # pure and cycle-free: no collector passes needed
        return _build_plan(desired, observed, options)


def _build_plan(
    desired: DesiredState, observed: ObservedState, options: PlanOptions | None
) -> Plan:
    opts = options or PlanOptions()
    catalog = opts.catalog or load_catalog()
    now = parse_time(observed.upstream_now)
    changes = plan_integrations(
        None,
        None,
        desired.agency.integrations,
        observed.agency_integrations,
        opts,
        catalog,
        now,
    )
    problems: list[Problem] = []
    warnings: list[str] = []
    unmanaged: list[Unmanaged] = []
    if desired.agency.integrations:
        found = agency_unmanaged(
            desired.agency.integrations,
            observed.agency_integrations,
            observed.agency_token_holder,
        )
        unmanaged += [found] if found is not None else []
    for spec in desired.locations:
        obs = observed.locations.get(spec.name)
        if obs is None:
            raise HlsyncError(
                f"no observed state for location {spec.name!r} ({spec.id})",
                spec.source,
                hints=("check the location id and that its token can read it",),
            )
        ctx = PlanContext(spec.name, spec.id, opts, catalog, now, problems)
        changes += _location_changes(spec, obs, ctx)
        warnings += auth_warnings(spec, opts.deferred)
        warnings += ctx.warnings
        unmanaged += ctx.unmanaged
    check_requests(changes, opts.requests, problems)
    if problems:
        raise HlsyncError.collect(problems)
    return Plan(
        hlsync_version=__version__,
        config_digest=desired.config_digest,
        target=_target_label(desired.target),
        locations=tuple(PlanLocation(s.name, s.id) for s in desired.locations),
        changes=tuple(sorted(changes, key=change_order)),
        warnings=(
            *plan_warnings(desired, observed, opts.history, _repairing(opts)),
            *warnings,
        ),
        unmanaged=tuple(unmanaged),
    )


def _repairing(opts: PlanOptions) -> frozenset[str]:
    """The integrations whose lost token this plan repairs (a rotate now into the sink,
    ``integration_plan.token_decision``): no verb was asked for them instead."""
    return frozenset(key for key in opts.lost if key not in opts.requests)


def _location_changes(
    spec: LocationSpec, obs: ObservedLocation, ctx: PlanContext
) -> list[Change]:
    """Every kind's changes of one location; the location's writes wait for the
    integration whose token they use (``auth: {integration: …}``) when it changes."""
    deferred = spec.name in ctx.options.deferred
    for kind in KINDS:
        if deferred and kind.name != "integration":
            ctx.earlier[kind.name] = []  # not read: planned after the repair
            continue
        planned = kind.plan(spec, obs, ctx)
        if spec.exclusive(kind.name):
            planned += kind.prune(spec, obs, ctx)
        elif (listed := kind.unmanaged(spec, obs)) is not None:
            ctx.unmanaged.append(listed)
        ctx.earlier[kind.name] = planned
        for c in planned:
            if c.action in ("create", "replace"):
                ctx.providers[(c.kind, c.key)] = c.address
    integrations = ctx.earlier.get("integration", [])
    rest = [
        c
        for kind in KINDS
        if kind.name != "integration"
        for c in ctx.earlier[kind.name]
    ]
    return integrations + seeded(spec, integrations, rest)


def _target_label(target: Target) -> str:
    return "sandbox" if target.kind == "sandbox" else target.base_url


def change_order(c: Change) -> tuple[int, bool, str, str]:
    """Dependency layer (creates and updates by kind, then deletes in reverse), then
    location (agency first), then address."""
    kind = kind_named(c.kind)
    layer = kind.delete_layer if c.action == "delete" else kind.layer
    return (layer, c.location is not None, c.location or "", c.address)
