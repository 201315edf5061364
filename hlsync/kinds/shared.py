"""Small pieces several kinds use: the ``ensure: absent`` change, verified deletes and
the key upstream derives from a name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from hlsync.core.fingerprint import fingerprint
from hlsync.core.model import Kind, Observed
from hlsync.core.plan import Change, address
from hlsync.errors import Location
from hlsync.upstream.client import ApiError

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


def derived_key(name: str) -> str:
    """The key upstream derives from a name: ``"Brand Colour!"`` → ``brand_colour``.

    HighLevel makes a custom field's ``fieldKey`` (``contact.<key>``) and a custom value's
    ``{{ custom_values.<key> }}`` this way, one per location (the emulator's
    ``snake_case`` models it); an empty result means upstream refuses the name.
    """
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in name).split()
    return "_".join(words)
