"""Private Integration changes of a plan: pure helpers of ``planner.build_plan``.

* :func:`present_changes` — a declared, present integration: create (the token goes to
  its sink: ``desired["sink"]``, the sink's label), update in place (description and
  scopes; the token is kept) or noop, each scope gained or lost with the endpoints it
  grants or takes away and a privilege increase marked (a new write scope, any new
  agency scope); then its token verb, if any: alone it takes the integration's address,
  next to an update it is a second change at ``<address>.token`` after the update.
* :func:`token_decision` — the verb an existing integration needs: one requested by
  ``hlsync token …`` (refused, with the way out, when it cannot apply: no rotation to
  expire or cancel, a rotation already open), else the repair of a token its sink
  lacks (``tokens.health``: a ``rotate_now`` into the sink), else the token policy's
  (``rotation.decide``: rotate later, rotate now on a generation bump or for a token
  issued before ``revoke_issued_before``, expire an ended overlap);
* :func:`token_change` — the :class:`~hlsync.core.plan.Change` carrying it: ``desired`` holds
  ``name``, ``reason``, ``generation``, and ``sink`` (the sink's label, minting verbs),
  ``overlap_seconds`` and ``old_token_expires_at`` (rotate). ``rotate_now`` and
  ``expire_old`` end a token that may still be in use: gate ``token_expiry`` (needs
  ``--force``, DESIGN.md §3) — except the repair of a lost token (``PlanOptions.lost``:
its sink holds no working token, so no token in use ends); ``rotate`` and
``cancel_rotation`` are not gated;
* :func:`seeded` — a location that seeds with one of its integrations' tokens waits for
  that integration's create, rotation or update, so its writes use the new token (and
  scopes);
* :func:`check_requests` — every requested verb became a change;
* :func:`plan_warnings` — tokens minted but not stored (from the journal), generations
  adopted without a rotation (no record of the one applied), age rotation left
  undecided when the upstream's clock is unknown, and ``revoke_issued_before`` that
  waits (its instant still ahead, or no clock).

``PlanOptions`` (re-exported by ``planner``) carries the options. No I/O: the journal's
view arrives as :class:`~hlsync.tokens.rotation.TokenHistory`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from hlsync.core.catalog import Catalog
from hlsync.core.fingerprint import fingerprint
from hlsync.core.model import (
    DesiredState,
    Integration,
    JSONValue,
    LocationSpec,
    ObservedIntegration,
    ObservedState,
)
from hlsync.core.plan import Action, Change, FieldChange, ScopeDelta
from hlsync.errors import HlsyncError, Problem
from hlsync.tokens.health import LostToken
from hlsync.tokens.rotation import (
    MINTING,
    TokenDecision,
    TokenHistory,
    decide,
    duration,
    parse_time,
    token_key,
)

RequestVerb = Literal["rotate", "rotate_now", "expire_old", "cancel_rotation"]
# Verbs that kill a token which may still be in use (DESIGN.md §3: token expiry needs
# --force). rotate (later, with an overlap) and cancel_rotation end no token in use.
EXPIRING = frozenset({"rotate_now", "expire_old"})


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """``history``: the token journal's view; ``sinks``: a label per integration
    (``token_key`` → ``file .hlsync/tokens/…``); ``requests``: token verbs asked for by
    ``hlsync token …``, by ``token_key``; ``lost``: the existing integrations whose sink
    lacks their working token (``tokens.health.lost_tokens``), repaired by a rotate now."""

    max_scope_removals: int = 5  # per integration; more needs --force
    catalog: Catalog | None = None  # the packaged scope catalog when None
    history: TokenHistory = field(default_factory=TokenHistory)
    sinks: Mapping[str, str] = field(default_factory=dict)
    requests: Mapping[str, RequestVerb] = field(default_factory=dict)
    lost: Mapping[str, LostToken] = field(default_factory=dict)
    deferred: frozenset[str] = frozenset()


def present_changes(
    addr: str,
    where: str | None,
    location_id: str | None,
    decl: Integration,
    obs: ObservedIntegration | None,
    opts: PlanOptions,
    catalog: Catalog,
    now: datetime | None,
) -> list[Change]:
    """The changes of one present integration (module docstring)."""
    before = () if obs is None else tuple(sorted(obs.scopes))
    after = tuple(sorted(decl.scopes))
    added = [s for s in after if s not in before]
    removed = [s for s in before if s not in after]
    deltas = tuple(
        scope_delta(catalog, s, True, agency=where is None) for s in added
    ) + tuple(scope_delta(catalog, s, False, agency=where is None) for s in removed)
    fields: list[FieldChange] = []
    old_description = None if obs is None else obs.description
    if old_description != decl.description and (obs or decl.description):
        fields.append(FieldChange("description", old_description, decl.description))
    if added or removed:
        fields.append(
            FieldChange("scopes", None if obs is None else list(before), list(after))
        )
    desired: dict[str, JSONValue] = {
        "name": decl.name,
        "description": decl.description,
        "scopes": list(after),
    }
    key = token_key(where, decl.name)
    action: Action
    if obs is None:
        action = "create"
        desired["generation"] = decl.token.generation
        if key in opts.sinks:
            desired["sink"] = opts.sinks[key]
    elif fields:
        action = "update"
        desired["scopes_add"] = added
        desired["scopes_remove"] = removed
    else:
        action = "noop"
    gate = None
    if action == "update" and len(removed) > opts.max_scope_removals:
        gate = "scope_removals"
    change = Change(
        address=addr,
        action=action,
        kind="integration",
        location=where,
        location_id=location_id,
        key=decl.name,
        object_id=None if obs is None else obs.id,
        fields=tuple(fields),
        desired=desired if action != "noop" else {},
        fingerprint=fingerprint(obs),
        gate=gate,
        api_calls=0 if action == "noop" else 1,
        scopes=deltas,
        source=decl.source,
    )
    if obs is None:
        return [change]
    decision = token_decision(
        decl, obs, key, opts.requests, opts.history, now, opts.lost.get(key)
    )
    if decision is None:
        return [change]
    token = token_change(
        addr, where, location_id, decl, obs, decision, opts.sinks.get(key)
    )
    if action == "noop":
        return [token]
    second = dataclasses.replace(token, address=addr + ".token", depends_on=(addr,))
    return [change, second]


def scope_delta(
    catalog: Catalog, name: str, added: bool, *, agency: bool
) -> ScopeDelta:
    """One scope gained or lost, with its endpoints from the catalog."""
    scope = catalog.get(name)
    endpoints = () if scope is None else tuple(str(e) for e in scope.endpoints)
    is_write = scope.is_write if scope is not None else not name.endswith(".readonly")
    return ScopeDelta(
        scope=name,
        added=added,
        endpoints=endpoints,
        privilege_increase=added and (is_write or agency),
    )


def declared(desired: DesiredState) -> list[tuple[str | None, Integration]]:
    found: list[tuple[str | None, Integration]] = [
        (None, i) for i in desired.agency.integrations
    ]
    found += [(s.name, i) for s in desired.locations for i in s.integrations]
    return found


def plan_warnings(
    desired: DesiredState,
    observed: ObservedState,
    history: TokenHistory,
    repairing: frozenset[str] = frozenset(),
) -> tuple[str, ...]:
    """Tokens lost (from the journal; ``repairing``: the keys whose repair the plan
    holds, so the warning says so instead of naming a command), generations adopted
    without a rotation, and age rotation left undecided (no clock)."""
    out: list[str] = []
    for where, decl in declared(desired):
        key = token_key(where, decl.name)
        out += history.problems_of(key, repairing=key in repairing)
    out += adopted_warnings(desired, observed, history)
    timed = [
        token_key(where, d.name)
        for where, d in declared(desired)
        if d.ensure == "present" and d.token.rotate_every is not None
    ]
    if timed and parse_time(observed.upstream_now) is None:
        out.append(
            "the upstream's clock is unknown (no Date header was read), so token "
            "rotation by age was not decided for " + ", ".join(timed)
        )
    out += revoke_warnings(desired, observed)
    return tuple(out)


def auth_warnings(spec: LocationSpec, deferred: frozenset[str]) -> list[str]:
    """A location seeding with an integration's token: the opt-out ``fallback:
    location-token`` (on every plan), or its other changes deferred until the repair."""
    name = spec.auth_integration
    if name is None:
        return []
    if spec.auth_fallback:
        return [
            f"{spec.name}: auth fallback: location-token: whenever {name}'s token is "
            "unavailable, the location's own token reads and writes it instead "
            "(least privilege is not kept)"
        ]
    if spec.name not in deferred:
        return []
    return [
        f"{spec.name}: not read: its calls use {name}'s token (auth), which its sink "
        f"does not hold; {name}'s token is repaired first, then apply reads and plans "
        f"the rest of {spec.name} with the new token, in the same run (a saved plan "
        "holds only the repair; on the live cloud, deliver the new token first)"
    ]


def revoke_warnings(desired: DesiredState, observed: ObservedState) -> list[str]:
    """``revoke_issued_before`` that could not act: the upstream's clock is unknown,
    or the instant is still ahead of it (``rotation.revoke_decision`` waits)."""
    now = parse_time(observed.upstream_now)
    out: list[str] = []
    for where, decl in declared(desired):
        instant = parse_time(decl.token.revoke_issued_before)
        if decl.ensure != "present" or instant is None:
            continue
        key = token_key(where, decl.name)
        if now is None:
            out.append(
                f"{key}: the upstream's clock is unknown (no Date header was read), "
                "so revoke_issued_before was not decided"
            )
        elif instant > now:
            out.append(
                f"{key}: revoke_issued_before {decl.token.revoke_issued_before} is "
                f"still ahead of the upstream's clock ({observed.upstream_now}): "
                "tokens issued before it are rotated by the first apply after it"
            )
    return out


def adopted_warnings(
    desired: DesiredState, observed: ObservedState, history: TokenHistory
) -> list[str]:
    """One warning per existing integration whose applied generation nobody recorded
    (no journal entry, no ledger entry) while the config's is above 0: that number is
    adopted, not acted on (``rotation.decide``), yet a bump may mean "this token
    leaked". At 0, the lowest, no bump can be hiding, so nothing is said."""
    out: list[str] = []
    for where, decl in declared(desired):
        key = token_key(where, decl.name)
        if decl.ensure != "present" or decl.token.generation == 0:
            continue
        if key in history.generations:
            continue
        if where is None:
            found = observed.agency_integrations.get(decl.name)
        else:
            seen = observed.locations.get(where)
            found = None if seen is None else seen.integrations.get(decl.name)
        if found is None:
            continue  # a create: its first token gets this generation
        out.append(
            f"{key}: the token generation last applied is unknown (neither the token "
            f"journal nor the ledger records one), so the config's generation "
            f"{decl.token.generation} was adopted without rotating the token; if it "
            "was bumped because the token leaked, rotate it now: "
            f"hlsync token rotate {key} --now --force (or set token."
            "revoke_issued_before to the moment of the leak: it needs no journal)"
        )
    return out


def check_requests(
    changes: list[Change],
    requests: Mapping[str, RequestVerb],
    problems: list[Problem],
) -> None:
    """Every requested token verb became a change (else say why it cannot)."""
    done = {
        token_key(c.location, c.key): c.action
        for c in changes
        if c.kind == "integration" and c.action in requests.values()
    }
    created = {
        token_key(c.location, c.key): c
        for c in changes
        if c.kind == "integration" and c.action == "create"
    }
    for key, verb in sorted(requests.items()):
        if done.get(key) == verb:
            continue
        if key in created:
            problems.append(
                Problem(
                    f"{key}: cannot {verb.replace('_', ' ')}: it does not exist yet "
                    "upstream (the plan would create it, with its first token)",
                    created[key].source,
                    "run 'hlsync apply' first to create it; its token goes to its sink",
                )
            )
            continue
        problems.append(
            Problem(
                f"{key}: cannot {verb.replace('_', ' ')}: it is not declared present "
                "in the selected config"
            )
        )


def seeded(
    spec: LocationSpec, integrations: list[Change], changes: list[Change]
) -> list[Change]:
    """The location's changes, waiting for its seeding integration's new token, or
    new scopes (an update: the token is kept, but may not yet hold what they need)."""
    if spec.auth_integration is None:
        return changes
    first = sorted(
        c.address
        for c in integrations
        if c.key == spec.auth_integration and c.action in MINTING | {"update"}
    )
    if not first:
        return changes
    return [
        c
        if c.is_noop
        else dataclasses.replace(c, depends_on=tuple(sorted({*c.depends_on, *first})))
        for c in changes
    ]


def token_decision(
    decl: Integration,
    obs: ObservedIntegration,
    key: str,
    requests: Mapping[str, RequestVerb],
    history: TokenHistory,
    now: datetime | None,
    lost: LostToken | None = None,
) -> TokenDecision | None:
    """The verb ``requests`` asks for (refused when it cannot apply), else the repair
    of a lost token (``lost``), else the policy's (``rotation.decide``), for the
    existing integration ``obs``."""
    requested = requests.get(key)
    if requested is None and lost is not None:
        return TokenDecision(
            "rotate_now",
            f"repair: {lost.reason}; a new token now, into the sink",
            repair=not lost.live,
        )
    if requested is None:
        return decide(
            decl.token,
            obs,
            now=now,
            applied_generation=history.generations.get(key),
        )
    rotating = obs.old_token_expires_at is not None
    if requested in ("expire_old", "cancel_rotation") and not rotating:
        raise HlsyncError(
            f"{key}: no rotation is in progress, so there is no old token to "
            + ("expire" if requested == "expire_old" else "keep"),
            decl.source,
        )
    if requested == "rotate" and rotating:
        raise HlsyncError(
            f"{key}: a rotation is already in progress (the old token expires at "
            f"{obs.old_token_expires_at})",
            decl.source,
            hints=(
                f"end it first: 'hlsync token expire-old {key} --force' or "
                f"'hlsync token cancel-rotation {key}', or rotate with --now --force",
            ),
        )
    if requested == "rotate":
        expires = None if now is None else now + decl.token.overlap
        when = "" if expires is None else f"; the old token expires at {_iso(expires)}"
        return TokenDecision(
            "rotate",
            f"requested{when} (overlap {duration(decl.token.overlap)})",
            old_token_expires_at=None if expires is None else _iso(expires),
            overlap=decl.token.overlap,
        )
    reasons = {
        "rotate_now": "requested: a new token now; the old one stops working at once",
        "expire_old": "requested: the old token stops working now",
        "cancel_rotation": "requested: keep the old token, revoke the new one",
    }
    return TokenDecision(requested, reasons[requested])


def _iso(when: datetime) -> str:
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def token_change(
    address: str,
    where: str | None,
    location_id: str | None,
    decl: Integration,
    obs: ObservedIntegration,
    decision: TokenDecision,
    sink: str | None,
) -> Change:
    """The change carrying ``decision`` for the integration at ``address``."""
    desired: dict[str, JSONValue] = {
        "name": decl.name,
        "reason": decision.reason,
        "generation": decl.token.generation,
    }
    if decision.verb in MINTING and sink is not None:
        desired["sink"] = sink
    if decision.overlap is not None:
        desired["overlap_seconds"] = int(decision.overlap.total_seconds())
    if decision.old_token_expires_at is not None:
        desired["old_token_expires_at"] = decision.old_token_expires_at
    fields: tuple[FieldChange, ...] = ()
    if decision.generation is not None:
        # shown in the plan, and kept by the ledger when an operator confirms it
        fields = (FieldChange("token.generation", *decision.generation),)
    return Change(
        address=address,
        action=decision.verb,
        fields=fields,
        kind="integration",
        location=where,
        location_id=location_id,
        key=decl.name,
        object_id=obs.id,
        desired=desired,
        fingerprint=fingerprint(obs),
        gate="token_expiry"
        if decision.verb in EXPIRING and not decision.repair
        else None,
        api_calls=1,
        source=decl.source,
    )
