"""Small pieces several kinds use: the ``ensure: absent`` change, verified deletes,
settled creates of keyed objects, the key upstream derives from a name, and the
unmanaged objects of a kind (listed with what the token may read, pruned when the
kind is exclusive)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from hlsync.core.fingerprint import fingerprint
from hlsync.core.model import Kind, LocationSpec, Observed, ObservedLocation
from hlsync.core.plan import Change, Unmanaged, address
from hlsync.errors import Location
from hlsync.kinds.change_fields import ChangeFailed, error_text
from hlsync.upstream.client import AmbiguousWriteError, ApiError
from hlsync.upstream.errors import lacks_scope

if TYPE_CHECKING:
    from hlsync.kinds.base import PlanContext, ReadContext

# How often a create of a keyed object (tag, custom field, custom value, integration)
# is sent in all when each answer is lost and each re-read finds nothing, and the pause
# before each new try (seconds; the client has already backed off within a try).
CREATE_ATTEMPTS = 3
CREATE_PAUSES = (0.5, 1.0)
T = TypeVar("T")

# Answers that may mean "the object is already gone" (upstream says 400 for a contact).
GONE_STATUSES = frozenset({400, 404})


class Declared(Protocol):
    @property
    def protect(self) -> bool: ...

    @property
    def source(self) -> Location | None: ...


def absent_change(
    where: str | None,
    location_id: str | None,
    kind: Kind,
    key: str,
    label: str,
    decl: Declared,
    obs: Observed | None,
    compared: tuple[str, ...] = (),
) -> Change:
    """``ensure: absent``: a gated delete, or a noop when it is already gone."""
    gone = obs is None
    return Change(
        address=address(where, kind, label),
        action="noop" if gone else "delete",
        kind=kind,
        location=where,
        location_id=location_id,
        key=key,
        object_id=None if obs is None else obs.id,
        desired={} if gone or kind == "contact" else {"name": label},
        fingerprint=fingerprint(obs, compared),
        compared=compared,
        gate=None if gone else ("protected" if decl.protect else "delete"),
        api_calls=0 if gone else 1,
        source=decl.source,
    )


async def delete_verified(
    send: Callable[[], Awaitable[None]],
    exists: Callable[[], Awaitable[bool]],
) -> str:
    """Send a delete; an error answer for an object that is gone anyway is success."""
    try:
        await send()
    except ApiError as exc:
        if exc.status not in GONE_STATUSES or await exists():
            raise
        return "already gone upstream"
    return ""


@dataclass(frozen=True, slots=True)
class Created(Generic[T]):
    """What :func:`create_keyed` settled: the object, and whether a re-read found it
    after a lost answer (``found``) rather than the create answering."""

    value: T
    found: bool = False
    retries: int = 0

    def note(self, noun: str) -> str:
        """The outcome's note: "" when the first create simply answered."""
        if self.found:
            return f"the create's answer was lost; a re-read found the {noun} created"
        if self.retries:
            tries = "try" if self.retries == 1 else "tries"
            return (
                f"created after {self.retries} lost {tries} (each re-read found none)"
            )
        return ""


async def create_keyed(
    send: Callable[[], Awaitable[T]],
    find: Callable[[], Awaitable[T | None]],
    noun: str,
    *,
    attempts: int | None = None,
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Created[T]:
    """Create an object upstream keys by name, settling a lost answer by its key.

    A create is not idempotent, so the client does not repeat one after a 5xx or a
    dropped connection (``AmbiguousWriteError``). The object's key says what happened:
    ``find`` re-reads it; found means the create committed, so the change is done;
    not found means it did not, so the create is sent again, ``attempts`` times in all
    (default :data:`CREATE_ATTEMPTS`). Any other error propagates as it is.
    """
    attempts = CREATE_ATTEMPTS if attempts is None else attempts
    last: AmbiguousWriteError | None = None
    for attempt in range(attempts):
        if attempt:
            await pause(CREATE_PAUSES[min(attempt, len(CREATE_PAUSES)) - 1])
        try:
            return Created(await send(), retries=attempt)
        except AmbiguousWriteError as exc:
            last = exc
            found = await find()
            if found is not None:
                return Created(found, found=True, retries=attempt)
    assert last is not None
    tries = "1 try" if attempts == 1 else f"{attempts} tries"
    raise ChangeFailed(
        f"{error_text(last)} (not created after {tries}: each re-read found no {noun})"
    ) from last


def derived_key(name: str) -> str:
    """The key upstream derives from a name: ``"Brand Colour!"`` → ``brand_colour``.

    HighLevel makes a custom field's ``fieldKey`` (``contact.<key>``) and a custom value's
    ``{{ custom_values.<key> }}`` this way, one per location (the emulator's
    ``snake_case`` models it); an empty result means upstream refuses the name.
    """
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in name).split()
    return "_".join(words)


def declares(data: Mapping[str, object], section: str) -> bool:
    """Whether a location's (merged) config ``data`` declares objects of ``section``
    or manages it exclusively (then its token reads and deletes them): the writing
    token needs the section's scopes."""
    manage = data.get("manage")
    exclusive = isinstance(manage, Mapping) and manage.get(section) == "exclusive"
    return bool(data.get(section)) or exclusive


# Answers that mean "this token may not read that" (upstream: 401 "not authorized for
# this scope"); an optional listing notes it instead of failing the plan.


async def listing(
    ctx: ReadContext,
    kind: Kind,
    scope: str,
    read: Callable[[], Awaitable[T]],
    empty: T,
    *,
    needed: bool,
) -> T:
    """A kind's whole list, which the plan needs (``needed``: something is declared,
    or the kind is exclusive) or only lists as unmanaged.

    A listing that is not needed must not fail a plan the config is happy with: when
    the location's seeding integration (``auth:``) lacks ``scope`` it is not asked
    for (the config chose a token that may not read it: nothing to report), and a
    refusal for the missing scope (``lacks_scope``) is noted in ``ctx.unlisted``
    instead of raised; a token refused outright fails the plan."""
    if needed:
        return await read()
    seeding = ctx.spec.auth_integration
    if seeding is not None:
        decl = next((i for i in ctx.spec.integrations if i.name == seeding), None)
        if decl is not None and scope not in decl.scopes:
            return empty
    try:
        return await read()
    except ApiError as exc:
        if not lacks_scope(exc.status, exc.upstream_message):
            raise
        ctx.unlisted[kind] = f"the token was refused ({exc.status}); it needs {scope}"
        return empty


class NamedUnmanaged(ABC):
    """``unmanaged`` and ``prune`` of a kind whose unmanaged objects are simply the
    observed ones its config does not name (tags, custom fields, custom values): the
    kind says which those are in ``unmanaged_objects``."""

    name: Kind
    section: str

    @abstractmethod
    def unmanaged_objects(
        self, spec: LocationSpec, observed: ObservedLocation
    ) -> Mapping[str, Observed]:
        """The observed objects of this kind that ``spec`` does not name."""

    def unmanaged(
        self, spec: LocationSpec, observed: ObservedLocation
    ) -> Unmanaged | None:
        return unmanaged_entry(
            spec,
            self.name,
            list(self.unmanaged_objects(spec, observed)),
            observed.unlisted.get(self.name),
        )

    def prune(
        self, spec: LocationSpec, observed: ObservedLocation, ctx: PlanContext
    ) -> list[Change]:
        found = self.unmanaged_objects(spec, observed)
        return prune_changes(spec, self.name, self.section, found, lambda k: k)


def unmanaged_entry(
    spec: LocationSpec,
    kind: Kind,
    labels: list[str],
    note: str | None,
) -> Unmanaged | None:
    """The plan's listing of ``labels`` (None when there is nothing to say)."""
    if note is not None:
        return Unmanaged(spec.name, kind, 0, note=f"not listed: {note}")
    if not labels:
        return None
    ordered = tuple(sorted(labels, key=lambda n: (n.casefold(), n)))
    return Unmanaged(spec.name, kind, len(ordered), names=ordered)


def prune_changes(
    spec: LocationSpec,
    kind: Kind,
    section: str,
    found: Mapping[str, Observed],
    label: Callable[[str], str],
    compared: tuple[str, ...] = (),
) -> list[Change]:
    """A gated delete of each object of ``found`` (``manage: {section: exclusive}``)."""
    why = f"not in the config, and {spec.name} manages {section} exclusively (manage)"
    return [
        Change(
            address=address(spec.name, kind, label(key)),
            action="delete",
            kind=kind,
            location=spec.name,
            location_id=spec.id,
            key=key,
            object_id=obs.id,
            desired={"name": label(key), "reason": why},
            fingerprint=fingerprint(obs, compared),
            compared=compared,
            gate="delete",
            api_calls=1,
            source=spec.source,
        )
        for key, obs in sorted(found.items())
    ]
