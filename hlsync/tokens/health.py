"""Whether each existing integration's sink holds a token that works: I/O before planning.

The truth about a token must not depend on a local file (DESIGN.md §8): a token lost at
mint, missing on a fresh runner or revoked upstream is a *planned change*, not a
warning. :func:`lost_tokens` looks at every declared, present integration that exists
upstream and says, per ``token_key``, why its sink does not hold its working token:

* the sink holds none (a readable sink: ``file``, ``env_file``);
* with the api driver, the upstream says the sink's token is not one of the
  integration's live tokens (revoked, or replaced by a rotation whose token was lost),
  or is the *old* token of a rotation in progress rather than the current one. The
  check sends the token's sha256 to the management API (``token-check``), never the
  value, and needs no scope: one request per existing integration.

A ``command`` sink cannot be read back, so it is not checked (the journal still reports
a token minted and not stored). On the live cloud (manual driver) only the sink is read:
the ledger cannot say which token is current.

The planner (``kinds.integration_plan``) turns each :class:`LostToken` into a repair: a
``rotate_now`` into the sink. It needs no ``--force`` when nobody can hold a working
token (``live`` False); it keeps the ``token_expiry`` gate when the sink's token still
works (the old token of an overlap): rotating now ends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hlsync.core.model import DesiredState, ObservedIntegration, ObservedState
from hlsync.targets.drivers import (
    ApiIntegrationDriver,
    IntegrationDriver,
    IntegrationScope,
    Token,
)
from hlsync.tokens.rotation import token_key
from hlsync.tokens.sinks.registry import sink_of
from hlsync.tokens.sinks.routing import config_dir, describe_sink, sink_for


@dataclass(frozen=True, slots=True)
class LostToken:
    """Why an integration's sink lacks its working token; ``live``: the sink's token
    still works upstream (the old token of a rotation in progress)."""

    reason: str
    live: bool = False


async def lost_tokens(
    desired: DesiredState,
    observed: ObservedState,
    driver: IntegrationDriver | None,
    company_id: str | None = None,
) -> dict[str, LostToken]:
    """Per ``token_key``: the declared, existing integrations whose sink lacks their
    working token (module docstring)."""
    found: list[tuple[str | None, str | None, str, ObservedIntegration]] = []
    for decl in desired.agency.integrations:
        obs = observed.agency_integrations.get(decl.name)
        if decl.ensure == "present" and obs is not None and company_id is not None:
            found.append((None, None, decl.name, obs))
    for spec in desired.locations:
        seen = observed.locations.get(spec.name)
        for decl in spec.integrations:
            obs = None if seen is None else seen.integrations.get(decl.name)
            if decl.ensure == "present" and obs is not None:
                found.append((spec.name, spec.id, decl.name, obs))
    out: dict[str, LostToken] = {}
    for where, location_id, name, obs in found:
        scope = (
            IntegrationScope.location(location_id)
            if location_id is not None
            else IntegrationScope.agency(company_id or "")
        )
        lost = await sink_health(desired, where, name, obs, driver, scope)
        if lost is not None:
            out[token_key(where, name)] = lost
    return out


async def sink_health(
    desired: DesiredState,
    where: str | None,
    name: str,
    obs: ObservedIntegration,
    driver: IntegrationDriver | None,
    scope: IntegrationScope,
) -> LostToken | None:
    """Why the sink of integration ``name`` (of ``where``) lacks its working token, or
    None when it holds it (or cannot be read back to tell)."""
    spec = sink_for(desired, where, name)
    sink = sink_of(spec)
    if not sink.readable:
        return None
    label = describe_sink(spec, config_dir(desired))
    value = sink.read()
    if value is None:
        return LostToken(f"its sink ({label}) holds no token")
    if not isinstance(driver, ApiIntegrationDriver):
        return None
    check = await driver.token_check(scope, obs.id, Token(value))
    if check.current:
        return None
    if check.live:
        return LostToken(
            f"the sink's token ({label}) is not this integration's current token "
            "(it is the old token of a rotation in progress)",
            live=True,
        )
    return LostToken(
        f"the sink's token ({label}) is not this integration's current token "
        "(revoked, or replaced by a token that was never stored)"
    )
