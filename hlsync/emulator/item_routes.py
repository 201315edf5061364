"""The five routes of a location item resource (list, create, get, update, delete),
built from an :class:`ItemResource` the resource's module declares.

Tags, custom fields and custom values (reference §6) differ only in scope, path, JSON
keys, body DTOs, create status and their store rules, so one set of handlers serves
them all. Every handler authorises first (a sub-account token with ``<scope>.readonly``
or ``<scope>.write`` on the path's location; the single-item operations use the same
scopes as the list ones, as the scope catalog maps them), then checks the body (422, see
``validation``), then works on ``Store.items`` under ``state.lock``. Deletes answer
``{"succeded": true}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hlsync.emulator.auth import require
from hlsync.emulator.handling import (
    Handler,
    json_body,
    ok,
    routes_for,
    state_of,
    succeeded,
)
from hlsync.emulator.itemstore import ItemRules, Record
from hlsync.emulator.validation import Prop, check_body


def _everything(found: list[Record], query: QueryParams) -> list[Record]:
    return found


@dataclass(frozen=True, slots=True)
class ItemResource:
    """One kind of location item as its routes serve it.

    ``scope`` takes ``.readonly`` / ``.write``; ``segment`` and ``id_param`` make the
    route templates (``/locations/{locationId}/<segment>/{<id_param>}``); ``one`` and
    ``many`` are the JSON keys; ``rules`` is the kind in the item store. ``select``
    narrows a listing by its query (and may refuse the query with an
    :class:`EmulatorError`).
    """

    scope: str
    segment: str
    id_param: str
    one: str
    many: str
    rules: ItemRules
    shape: Callable[[Record], Record]
    create_dto: Mapping[str, Prop]
    update_dto: Mapping[str, Prop]
    create_status: int
    select: Callable[[list[Record], QueryParams], list[Record]] = _everything


def item_routes(kind: ItemResource) -> list[Route]:
    """The five routes of ``kind``, with and without a trailing slash."""
    many = f"/locations/{{locationId}}/{kind.segment}"
    one = f"{many}/{{{kind.id_param}}}"
    return routes_for(
        [
            (many, _list(kind), ("GET",)),
            (many, _create(kind), ("POST",)),
            (one, _get(kind), ("GET",)),
            (one, _update(kind), ("PUT",)),
            (one, _delete(kind), ("DELETE",)),
        ]
    )


def _location(request: Request, scope: str) -> str:
    """The path's location id, authorised for ``scope`` with a sub-account token."""
    location_id: str = request.path_params["locationId"]
    require(request, scope, location_id=location_id)
    return location_id


def _named(handler: Handler, verb: str, noun: str) -> Handler:
    """Name a built handler ``<verb>_<noun>`` in snake case (``create_custom_field``):
    Starlette names its route after it, tracebacks show it."""
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", noun).lower()
    handler.__name__ = handler.__qualname__ = f"{verb}_{snake}"
    return handler


def _list(kind: ItemResource) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        location_id = _location(request, f"{kind.scope}.readonly")
        state = state_of(request)
        with state.lock:
            found = state.store.items.list(kind.rules, location_id)
            found = kind.select(found, request.query_params)
        return ok({kind.many: [kind.shape(r) for r in found]})

    return _named(handler, "list", kind.segment)


def _create(kind: ItemResource) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        body = await json_body(request)
        location_id = _location(request, f"{kind.scope}.write")
        check_body(body, kind.create_dto)
        state = state_of(request)
        with state.lock:
            record = state.store.items.create(kind.rules, location_id, body)
        return ok({kind.one: kind.shape(record)}, kind.create_status)

    return _named(handler, "create", kind.one)


def _get(kind: ItemResource) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        location_id = _location(request, f"{kind.scope}.readonly")
        item_id = request.path_params[kind.id_param]
        state = state_of(request)
        with state.lock:
            record = state.store.items.get(kind.rules, location_id, item_id)
        return ok({kind.one: kind.shape(record)})

    return _named(handler, "get", kind.one)


def _update(kind: ItemResource) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        body = await json_body(request)
        location_id = _location(request, f"{kind.scope}.write")
        check_body(body, kind.update_dto)
        item_id = request.path_params[kind.id_param]
        state = state_of(request)
        with state.lock:
            record = state.store.items.update(kind.rules, location_id, item_id, body)
        return ok({kind.one: kind.shape(record)})

    return _named(handler, "update", kind.one)


def _delete(kind: ItemResource) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        location_id = _location(request, f"{kind.scope}.write")
        item_id = request.path_params[kind.id_param]
        state = state_of(request)
        with state.lock:
            state.store.items.delete(kind.rules, location_id, item_id)
        return ok(succeeded(request))

    return _named(handler, "delete", kind.one)
