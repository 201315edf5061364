"""How to reach a target: one ``LocationApiLike`` per declared location, the Private
Integration driver, the agency's company id and the upstream clock.

``build_access(api, desired, tokens)`` makes a :class:`TargetAccess` from resolved tokens;
the reader, the writers and the live-cloud driver all take one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hlsync.core.estimate import AGENCY_BUCKET, RateLimit
from hlsync.core.model import DesiredState, LocationSpec
from hlsync.errors import HlsyncError, Problem
from hlsync.targets.drivers import IntegrationDriver
from hlsync.upstream.api import LocationApiLike
from hlsync.upstream.client import ApiClient, UpstreamClock
from hlsync.upstream.contact_search import BATCH_SIZE
from hlsync.upstream.traffic import Traffic


@dataclass(frozen=True, slots=True)
class TargetAccess:
    """How to reach a target: one :class:`LocationApiLike` per local location name (the
    HTTP ``LocationApi``, or a test's fake), the Private Integration driver (None:
    integrations are not read), and the agency's company id (None: agency integrations
    are not read).

    ``clock`` is the upstream's clock (``Date`` headers) that ``read_observed`` reports
    as ``ObservedState.upstream_now``. ``seeded_by`` maps a location to the integration
    whose token its API uses (``auth: {integration: …}``): when the applier mints a new
    token for that integration, the location's API switches to it. ``pending`` names
    the locations whose seeding integration exists but whose sink lacks its working
    token: their API has no token until the repair (a rotate now) stores a new one,
    and only their integrations are read (never with the location's own token).
    ``token_holders`` maps a location to the id of the integration whose token is the
    location's own, where the target can tell (the api driver): part of the location's
    access, not a managed object (never listed as unmanaged, pruned or exported);
    ``agency_token_holder`` the same for the agency's own token. ``unique_names``: the
    target refuses a second custom value of one name atomically (the emulator, embedded
    or served, checks and inserts under one lock), so a lease its create took is
    decided at once (``hlsync.locks.lease``); the live cloud's check is not known to be
    atomic. ``traffic`` is what the client saw of each location's requests (the limits
    its responses reported, its rate and waits: the plan's estimate and the progress
    display).
    """

    locations: Mapping[str, LocationApiLike]
    integrations: IntegrationDriver | None = None
    company_id: str | None = None
    batch_size: int = field(default=BATCH_SIZE)
    clock: UpstreamClock | None = None
    seeded_by: Mapping[str, str] = field(default_factory=dict)
    pending: frozenset[str] = frozenset()
    own: Mapping[str, LocationApiLike] = field(default_factory=dict)
    token_holders: Mapping[str, str] = field(default_factory=dict)
    agency_token_holder: str | None = None
    unique_names: bool = False
    traffic: Traffic | None = None

    def own_api(self, name: str) -> LocationApiLike:
        """The location's API with its own token (see the class docstring)."""
        return self.own.get(name) or self.locations[name]

    def upstream_now(self) -> str | None:
        """The latest upstream time seen, ISO 8601 UTC, or None."""
        now = None if self.clock is None else self.clock.now()
        return None if now is None else now.isoformat().replace("+00:00", "Z")


def build_access(
    api: ApiClient,
    desired: DesiredState,
    tokens: Mapping[str, str],
    *,
    integrations: IntegrationDriver | None = None,
    company_id: str | None = None,
    seeded_by: Mapping[str, str] | None = None,
    pending: frozenset[str] = frozenset(),
    own_tokens: Mapping[str, str] | None = None,
    unique_names: bool = False,
) -> TargetAccess:
    """A :class:`TargetAccess` for every declared location from resolved ``tokens``
    (by local location name). A location without a token is an ``HlsyncError`` naming
    it and where it is declared, unless it is ``pending`` (its API starts without a
    token and refuses every call until it gets one). ``own_tokens``: each location's
    own token where it differs from ``tokens`` (a location seeding with an
    integration's token). ``unique_names``: see :class:`TargetAccess`."""
    missing = [
        spec
        for spec in desired.locations
        if not tokens.get(spec.name) and spec.name not in pending
    ]
    if missing:
        raise HlsyncError.collect(
            Problem(
                f"no token for location {spec.name!r} ({spec.id})",
                spec.source,
                "set the environment variable or file its token reference names",
            )
            for spec in missing
        )
    return TargetAccess(
        locations={
            spec.name: api.location(spec.id, tokens.get(spec.name, ""))
            for spec in desired.locations
        },
        integrations=integrations,
        company_id=company_id,
        clock=api.clock,
        traffic=api.traffic,
        seeded_by=dict(seeded_by or {}),
        pending=pending,
        own={
            spec.name: api.location(spec.id, (own_tokens or {})[spec.name])
            for spec in desired.locations
            if (own_tokens or {}).get(spec.name)
        },
        unique_names=unique_names,
    )


def location_api(access: TargetAccess, spec: LocationSpec) -> LocationApiLike:
    api = access.locations.get(spec.name)
    if api is None:
        raise HlsyncError(
            f"no API access configured for location {spec.name!r} ({spec.id})",
            spec.source,
            hints=("give the location a token (env or file) in the config",),
        )
    return api


def reported_limits(
    access: TargetAccess, desired: DesiredState
) -> dict[str, RateLimit]:
    """The burst limit each location of ``desired`` (by name) reported in the first
    response that stated one, and the agency's (``agency``: its company key), as far
    as ``access.traffic`` saw them: what the plan's estimate uses (``Plan.rate_limits``).
    """
    traffic = access.traffic
    if traffic is None:
        return {}
    keys = [(spec.name, spec.id) for spec in desired.locations]
    if access.company_id is not None:
        keys.append((AGENCY_BUCKET, access.company_id))
    found: dict[str, RateLimit] = {}
    for name, key in keys:
        limit = traffic.first_limits(key)
        if limit is not None:
            found[name] = RateLimit(limit.max, limit.interval_ms)
    return found
