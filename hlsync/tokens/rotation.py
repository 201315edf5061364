"""When an integration's token is rotated or its old token expired: pure decisions.

``decide(policy, observed, now=…, applied_generation=…)`` looks at one existing Private
Integration and says which token verb, if any, the plan needs (DESIGN.md §4, issue 5):

1. ``rotate_now`` when the config's ``generation`` is higher than the generation last
   applied (recorded in the journal, ``hlsync.tokens.journal``). Like Terraform's write-only
   argument versions: bumping the number means "a new token now, the old one dies". With
   no recorded generation (an integration hlsync never minted a token for, or a lost
   journal) the config's number is adopted, never acted on: rotating "now" kills the
   token in use, so it needs evidence that the number really moved. The plan warns
   about every such adoption (``kinds.integration_plan.adopted_warnings``) with the way to
   rotate now, since a bump may mean "this token leaked".
2. ``rotate_now`` when the current token was issued (``rotated_at``, else
   ``created_at``: the upstream's own times) before ``revoke_issued_before``, the
   stateless "rotate now, it leaked": once rotated, the new token's issue time is after
   the instant, so the condition is false on every runner with or without the journal
   (a rotate now ends every older token too). Not covered: a rotation (later) made
   *after* the instant whose old token predates it — the current token is newer, and
   the upstream does not say when the old one was issued; it ends with its overlap, or
   at once with ``hlsync token expire-old NAME --force``. An instant still ahead of
   ``now`` waits for it (a token minted now would be "before" it too, and be rotated
   again and again).
3. ``expire_old`` when a rotation's overlap has ended (``old_token_expires_at`` <= now)
   and the upstream still lists the old token. The emulator expires it by itself, so
   this is for an upstream (or ledger) that does not.
4. nothing while an overlap is still open: the rotation is in progress.
5. ``rotate`` (later, with ``policy.overlap``) once the current token is at least
   ``rotate_every`` old, counted from ``rotated_at`` or else ``created_at``.

Time: ``now`` is the upstream's clock (its ``Date`` header, ``ObservedState.upstream_now``)
and the ages are the integration's own timestamps, never the local clock, so the
emulator's clock drives every decision in tests. Without ``now`` no time-based decision is
made (the generation rule still applies).

Nothing here reads a file or the network; no token value is ever involved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from hlsync.core.model import ObservedIntegration, TokenPolicy
from hlsync.core.plan import AGENCY

TokenVerb = Literal["rotate", "rotate_now", "expire_old", "cancel_rotation"]
# The change actions that mint a new token (its sink must take it).
MINTING = frozenset({"create", "rotate", "rotate_now"})


def token_key(location: str | None, name: str) -> str:
    """``main/seed-bot`` or ``agency/ci``: an integration as the journal and CLI name it."""
    return f"{location or AGENCY}/{name}"


@dataclass(frozen=True, slots=True)
class TokenHistory:
    """What the journal knows, as plain data for the planner (``journal.history()``).

    ``generations``: the generation last applied per integration (``token_key``);
    ``problems``: per integration, tokens minted (or maybe minted) but not stored, each
    a sentence that says how to recover; ``repaired``: the same sentences for a plan
    that repairs the integration itself (a rotate now into the sink), which say so
    instead of sending the user to ``hlsync token rotate``.
    """

    generations: Mapping[str, int] = field(default_factory=dict)
    problems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    repaired: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def problems_of(self, key: str, *, repairing: bool) -> tuple[str, ...]:
        """The problems of ``key``, phrased for a plan that repairs it or not."""
        if repairing and key in self.repaired:
            return tuple(self.repaired[key])
        return tuple(self.problems.get(key, ()))


@dataclass(frozen=True, slots=True)
class TokenDecision:
    """A token verb for one integration, why, and (rotate) when the old token dies."""

    verb: TokenVerb
    reason: str
    old_token_expires_at: str | None = None  # ISO 8601 UTC, for rotate
    overlap: timedelta | None = None  # for rotate
    generation: tuple[int, int] | None = None  # (applied, wanted): a generation bump
    # a repair of a lost token (``tokens.health``): a rotate_now that ends no token
    # anyone can hold, so it needs no --force
    repair: bool = False


def parse_time(text: str | None) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` accepted) as an aware UTC datetime, else None."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def iso(when: datetime) -> str:
    """``2026-01-02T03:04:05Z``: UTC, whole seconds (the ``Date`` header's precision)."""
    text = when.astimezone(UTC).replace(microsecond=0).isoformat()
    return text.replace("+00:00", "Z")


def duration(value: timedelta) -> str:
    """The config's spelling of a duration: ``90d``, ``12h``, ``30m`` or ``45s``."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _age(delta: timedelta) -> str:
    days = delta.days
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = int(delta.total_seconds() // 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def decide(
    policy: TokenPolicy,
    observed: ObservedIntegration,
    *,
    now: datetime | None,
    applied_generation: int | None,
) -> TokenDecision | None:
    """The token verb ``observed`` needs under ``policy`` (module docstring), or None."""
    if applied_generation is not None and policy.generation > applied_generation:
        return TokenDecision(
            "rotate_now",
            f"generation {applied_generation} -> {policy.generation}: "
            "a new token now; the old one stops working at once",
            generation=(applied_generation, policy.generation),
        )
    if now is None:
        return None
    revoked = revoke_decision(policy, observed, now)
    if revoked is not None:
        return revoked
    old_expiry = parse_time(observed.old_token_expires_at)
    if old_expiry is not None:
        if old_expiry <= now:
            return TokenDecision(
                "expire_old",
                f"the rotation overlap ended at {iso(old_expiry)}; "
                "the old token is still listed",
            )
        return None  # a rotation is in progress; its overlap is still open
    if policy.rotate_every is None:
        return None
    born = parse_time(observed.rotated_at) or parse_time(observed.created_at)
    if born is None:
        return None
    age = now - born
    if age < policy.rotate_every:
        return None
    expires = now + policy.overlap
    return TokenDecision(
        "rotate",
        f"the token is {_age(age)} old (rotate_every {duration(policy.rotate_every)}); "
        f"the old token expires at {iso(expires)} "
        f"(overlap {duration(policy.overlap)})",
        old_token_expires_at=iso(expires),
        overlap=policy.overlap,
    )


def revoke_decision(
    policy: TokenPolicy, observed: ObservedIntegration, now: datetime
) -> TokenDecision | None:
    """``revoke_issued_before`` (module docstring, rule 2): ``rotate_now`` when the
    current token was issued before the instant; nothing while the instant is still
    ahead on the upstream's clock."""
    instant = parse_time(policy.revoke_issued_before)
    if instant is None or instant > now:
        return None
    issued = parse_time(observed.rotated_at) or parse_time(observed.created_at)
    if issued is None:
        return None
    if issued < instant:
        return TokenDecision(
            "rotate_now",
            f"the token was issued at {iso(issued)}, before revoke_issued_before "
            f"{iso(instant)}: a new token now; the old one stops working at once",
        )
    return None
