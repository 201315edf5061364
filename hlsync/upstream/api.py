"""What the engine asks of one location's upstream: the :class:`LocationApiLike` protocol.

The reader, the change writer and the integration writer reach a location only through
``TargetAccess.locations``, typed with this protocol, and call nothing else on it.
:class:`hlsync.upstream.client.LocationApi` is the HTTP implementation (mypy checks it
against the protocol where ``build_access`` stores one); the applier's unit tests give a
fake, which mypy checks against the same protocol, so a fake cannot drift from the client.

A call the engine starts making goes here first; then mypy names every fake that lacks it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from hlsync.upstream.client import JSONDict, SearchPage


class LocationApiLike(Protocol):
    """The calls of one location, bound to its token (see ``client.LocationApi``)."""

    def switch_token(self, token: str) -> None:
        """Make every later call with ``token`` (a seeding integration's new token)."""
        ...

    @property
    def has_token(self) -> bool:
        """False while the location waits for its seeding integration's repaired token."""
        ...

    @property
    def base(self) -> str:
        """``/locations/{id}``: the prefix of this location's own endpoints."""
        ...

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        creates: bool = False,
    ) -> JSONDict:
        """One call whose endpoint has no method of its own; the whole answer."""
        ...

    async def call_object(
        self,
        method: str,
        path: str,
        name: str,
        *,
        json_body: Any = None,
        creates: bool = False,
    ) -> JSONDict:
        """One call; the object its answer holds under ``name``."""
        ...

    async def call_list(self, path: str, name: str) -> list[JSONDict]:
        """``GET path``: the list an answer holds under ``name``."""
        ...

    async def list_custom_fields(self) -> list[JSONDict]: ...

    async def create_custom_field(self, body: Mapping[str, Any]) -> JSONDict: ...

    async def update_custom_field(
        self, field_id: str, body: Mapping[str, Any]
    ) -> JSONDict: ...

    async def delete_custom_field(self, field_id: str) -> None: ...

    async def list_tags(self) -> list[JSONDict]: ...

    async def create_tag(self, name: str) -> JSONDict: ...

    async def delete_tag(self, tag_id: str) -> None: ...

    async def search_contacts(self, body: Mapping[str, Any]) -> SearchPage: ...

    def iter_search(
        self,
        *,
        filters: Sequence[Mapping[str, Any]] = (),
        sort: Sequence[Mapping[str, str]] = (),
        page_limit: int = ...,
    ) -> AsyncIterator[JSONDict]:
        """Every matching contact (an async generator in the client)."""
        ...

    async def get_contact(self, contact_id: str) -> JSONDict: ...

    async def upsert_contact(self, body: Mapping[str, Any]) -> JSONDict:
        """The whole answer ``{new, contact, …}``."""
        ...

    async def update_contact(
        self, contact_id: str, body: Mapping[str, Any]
    ) -> JSONDict: ...

    async def delete_contact(self, contact_id: str) -> None: ...

    async def add_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]: ...

    async def remove_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]: ...
