"""A fake location upstream for the applier's unit tests, checked by mypy against the
``LocationApiLike`` protocol the engine consumes (``TargetAccess.locations``), as the
HTTP ``LocationApi`` is: a call the engine starts making fails type checking here first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from hlsync.upstream.client import ApiError, JSONDict, SearchPage


class FakeApi:
    """One location without HTTP; records (method, argument) pairs.

    ``fail`` maps an email or object id to the error its call raises, ``gone`` a contact
    id to the error ``get_contact`` raises (else it exists); ``gate`` holds
    every call until set; ``running``/``peak`` count calls in flight; ``fields`` is what
    ``list_custom_fields`` answers; ``tokens`` every token ``switch_token`` was given.
    The location has no contacts (searches answer empty pages) and nothing under the
    generic ``call_list``; ``call`` answers ``{}``, ``call_object`` the body it was sent
    with an id.
    """

    def __init__(self, name: str = "main") -> None:
        self.name = name
        self.calls: list[tuple[str, Any]] = []
        self.fail: dict[str, ApiError] = {}  # by email / id
        self.gone: dict[str, ApiError] = {}  # get_contact's answer by contact id
        self.gate: asyncio.Event | None = None  # hold every call until set
        self.running = 0
        self.peak = 0
        self.fields: list[JSONDict] = []
        self.tokens: list[str] = []

    @property
    def has_token(self) -> bool:
        return True

    async def _call(self, method: str, arg: Any) -> None:
        self.calls.append((method, arg))
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0)
            key = arg[0] if isinstance(arg, tuple) else arg
            key = key.get("email") if isinstance(key, Mapping) else key
            if key in self.fail:
                raise self.fail[key]
        finally:
            self.running -= 1

    def switch_token(self, token: str) -> None:
        self.tokens.append(token)

    @property
    def base(self) -> str:
        return f"/locations/LOC-{self.name}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        creates: bool = False,
    ) -> JSONDict:
        await self._call(f"{method} {path}", json_body)
        return {}

    async def call_object(
        self,
        method: str,
        path: str,
        name: str,
        *,
        json_body: Any = None,
        creates: bool = False,
    ) -> JSONDict:
        await self._call(f"{method} {path}", json_body)
        return {"id": f"{name}-1", **(json_body or {})}

    async def call_list(self, path: str, name: str) -> list[JSONDict]:
        await self._call(f"GET {path}", None)
        return []

    async def upsert_contact(self, body: Mapping[str, Any]) -> JSONDict:
        await self._call("upsert", dict(body))
        return {"new": True, "contact": {"id": "c1"}}

    async def get_contact(self, contact_id: str) -> JSONDict:
        self.calls.append(("get_contact", contact_id))
        if contact_id in self.gone:
            raise self.gone[contact_id]
        return {"id": contact_id}

    async def update_contact(
        self, contact_id: str, body: Mapping[str, Any]
    ) -> JSONDict:
        await self._call("put", (contact_id, dict(body)))
        return {"id": contact_id, **body}

    async def add_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        await self._call("add_tags", (contact_id, list(tags)))
        return list(tags)

    async def remove_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        await self._call("remove_tags", (contact_id, list(tags)))
        return []

    async def delete_contact(self, contact_id: str) -> None:
        await self._call("delete_contact", contact_id)

    async def search_contacts(self, body: Mapping[str, Any]) -> SearchPage:
        await self._call("search", dict(body))
        return SearchPage((), 0)

    async def iter_search(
        self,
        *,
        filters: Sequence[Mapping[str, Any]] = (),
        sort: Sequence[Mapping[str, str]] = (),
        page_limit: int = 100,
    ) -> AsyncIterator[JSONDict]:
        page = await self.search_contacts(
            {"filters": list(filters), "sort": list(sort)}
        )
        for contact in page.contacts:
            yield contact

    async def create_custom_field(self, body: Mapping[str, Any]) -> JSONDict:
        await self._call("create_field", dict(body))
        key = "contact." + str(body["name"]).lower()
        return {"id": f"id-{body['name']}", "fieldKey": key, **body}

    async def update_custom_field(
        self, field_id: str, body: Mapping[str, Any]
    ) -> JSONDict:
        await self._call("update_field", (field_id, dict(body)))
        return {"id": field_id, **body}

    async def delete_custom_field(self, field_id: str) -> None:
        await self._call("delete_field", field_id)

    async def list_custom_fields(self) -> list[JSONDict]:
        await self._call("list_fields", None)
        return self.fields

    async def create_tag(self, name: str) -> JSONDict:
        await self._call("create_tag", name)
        return {"id": "t1", "name": name}

    async def delete_tag(self, tag_id: str) -> None:
        await self._call("delete_tag", tag_id)

    async def list_tags(self) -> list[JSONDict]:
        await self._call("list_tags", None)
        return [{"id": "t0", "name": "Existing"}]
