"""Location routes: the location itself, location search, and a location's tags, custom
fields and custom values (reference §6), each with list/get/create/update/delete.

Scopes per reference §2.3: ``locations.readonly`` (agency or sub-account token) for the
location and location search; ``locations/tags.*``, ``locations/customFields.*`` and
``locations/customValues.*`` (sub-account token) for the rest — the single-item
operations use the same scopes as the list ones, as the scope catalog maps them.
Statuses as the spec declares: tag create 200, custom field / value create 201,
deletes ``{"succeded": true}``. The three item kinds share one set of handlers, built
from an :class:`ItemKind` each (:func:`item_routes`): they differ only in scope, path,
JSON keys, body DTOs and store calls.

Assumptions: a missing item answers 400 ``"<Kind> with id <id> not found"``; a duplicate
tag name or derived key answers 400; a sub-account token sees only its own location in
``GET /locations/search``; an agency token asking for another ``companyId`` gets 403.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse

from hlsync.emulator import shapes
from hlsync.emulator import validation as v
from hlsync.emulator.auth import NO_LOCATION_ACCESS, require
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import int_param, json_body, ok, state_of, succeeded
from hlsync.emulator.items import LocationItems, Record

Handler = Callable[[Request], Awaitable[JSONResponse]]
BOTH_LEVELS = ("agency", "sub-account")
MODELS = ("contact", "opportunity", "all")


def _location(request: Request, scope: str) -> str:
    """The path's location id, authorised for ``scope`` with a sub-account token."""
    location_id: str = request.path_params["locationId"]
    require(request, scope, location_id=location_id)
    return location_id


async def get_location(request: Request) -> JSONResponse:
    location_id = request.path_params["locationId"]
    require(request, "locations.readonly", location_id=location_id, levels=BOTH_LEVELS)
    state = state_of(request)
    with state.lock:
        record = state.store.get_location(location_id)
    if record is None:
        raise EmulatorError(403, dict(NO_LOCATION_ACCESS))
    return ok({"location": shapes.location(record)})


async def search_locations(request: Request) -> JSONResponse:
    principal = require(
        request, "locations.readonly", location_id=None, levels=BOTH_LEVELS
    )
    params = request.query_params
    problems: list[str] = []
    skip = int_param(params.get("skip"), 0, "skip", problems) or 0
    limit = int_param(params.get("limit"), 10, "limit", problems) or 0
    order = params.get("order", "asc")
    if order not in ("asc", "desc"):
        problems.append("order must be one of the following values: asc, desc")
    if problems:
        raise EmulatorError.unprocessable(problems)
    company_id = params.get("companyId") or principal.company_id
    if company_id != principal.company_id:
        raise EmulatorError(403, dict(NO_LOCATION_ACCESS))
    state = state_of(request)
    with state.lock:
        found = state.store.locations(company_id)
    if principal.level == "sub-account":
        found = [loc for loc in found if loc["id"] == principal.location_id]
    email = params.get("email")
    if email:
        found = [
            loc for loc in found if (loc.get("email") or "").lower() == email.lower()
        ]
    if order == "desc":
        found.reverse()
    chosen = found[max(skip, 0) : max(skip, 0) + max(limit, 0)]
    return ok({"locations": [shapes.location_summary(loc) for loc in chosen]})


@dataclass(frozen=True, slots=True)
class ItemKind:
    """One kind of location item and how its five routes differ from the others'.

    ``scope`` takes ``.readonly`` / ``.write``; ``segment`` and ``id_param`` make the
    route templates (``/locations/{locationId}/<segment>/{<id_param>}``); ``one`` and
    ``many`` are the JSON keys; the callables are the store's work, run under the lock
    (``listed`` may refuse its query with an :class:`EmulatorError`).
    """

    scope: str
    segment: str
    id_param: str
    one: str
    many: str
    shape: Callable[[Record], Record]
    create_dto: Mapping[str, v.Prop]
    update_dto: Mapping[str, v.Prop]
    create_status: int
    listed: Callable[[LocationItems, str, QueryParams], list[Record]]
    get: Callable[[LocationItems, str, str], Record]
    create: Callable[[LocationItems, str, dict[str, Any]], Record]
    update: Callable[[LocationItems, str, str, dict[str, Any]], Record]
    delete: Callable[[LocationItems, str, str], None]


def _custom_fields(
    items: LocationItems, location_id: str, query: QueryParams
) -> list[Record]:
    model = query.get("model", "all")
    if model not in MODELS:
        raise EmulatorError.unprocessable(
            [f"model must be one of the following values: {', '.join(MODELS)}"]
        )
    return items.custom_fields(location_id, None if model == "all" else model)


TAGS = ItemKind(
    scope="locations/tags",
    segment="tags",
    id_param="tagId",
    one="tag",
    many="tags",
    shape=shapes.tag,
    create_dto=v.LOCATION_TAG,
    update_dto=v.LOCATION_TAG,
    create_status=200,
    listed=lambda items, location_id, _: items.tags(location_id),
    get=LocationItems.get_tag,
    create=lambda items, location_id, body: items.create_tag(location_id, body["name"]),
    update=lambda items, location_id, item_id, body: items.update_tag(
        location_id, item_id, body["name"]
    ),
    delete=LocationItems.delete_tag,
)
CUSTOM_FIELDS = ItemKind(
    scope="locations/customFields",
    segment="customFields",
    id_param="id",
    one="customField",
    many="customFields",
    shape=shapes.custom_field,
    create_dto=v.CREATE_CUSTOM_FIELD,
    update_dto=v.UPDATE_CUSTOM_FIELD,
    create_status=201,
    listed=_custom_fields,
    get=LocationItems.get_custom_field,
    create=LocationItems.create_custom_field,
    update=LocationItems.update_custom_field,
    delete=LocationItems.delete_custom_field,
)
CUSTOM_VALUES = ItemKind(
    scope="locations/customValues",
    segment="customValues",
    id_param="id",
    one="customValue",
    many="customValues",
    shape=shapes.custom_value,
    create_dto=v.CUSTOM_VALUE,
    update_dto=v.CUSTOM_VALUE,
    create_status=201,
    listed=lambda items, location_id, _: items.custom_values(location_id),
    get=LocationItems.get_custom_value,
    create=lambda items, location_id, body: items.create_custom_value(
        location_id, body["name"], body["value"]
    ),
    update=lambda items, location_id, item_id, body: items.update_custom_value(
        location_id, item_id, body["name"], body["value"]
    ),
    delete=LocationItems.delete_custom_value,
)
ITEM_KINDS = (TAGS, CUSTOM_FIELDS, CUSTOM_VALUES)


def _named(handler: Handler, verb: str, noun: str) -> Handler:
    """Name a built handler ``<verb>_<noun>`` in snake case (``create_custom_field``):
    Starlette names its route after it, tracebacks show it."""
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", noun).lower()
    handler.__name__ = handler.__qualname__ = f"{verb}_{snake}"
    return handler


def _list(kind: ItemKind) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        location_id = _location(request, f"{kind.scope}.readonly")
        state = state_of(request)
        with state.lock:
            found = kind.listed(state.store.items, location_id, request.query_params)
        return ok({kind.many: [kind.shape(r) for r in found]})

    return _named(handler, "list", kind.segment)


def _create(kind: ItemKind) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        body = await json_body(request)
        location_id = _location(request, f"{kind.scope}.write")
        v.check_body(body, kind.create_dto)
        state = state_of(request)
        with state.lock:
            record = kind.create(state.store.items, location_id, body)
        return ok({kind.one: kind.shape(record)}, kind.create_status)

    return _named(handler, "create", kind.one)


def _get(kind: ItemKind) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        location_id = _location(request, f"{kind.scope}.readonly")
        item_id = request.path_params[kind.id_param]
        state = state_of(request)
        with state.lock:
            record = kind.get(state.store.items, location_id, item_id)
        return ok({kind.one: kind.shape(record)})

    return _named(handler, "get", kind.one)


def _update(kind: ItemKind) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        body = await json_body(request)
        location_id = _location(request, f"{kind.scope}.write")
        v.check_body(body, kind.update_dto)
        item_id = request.path_params[kind.id_param]
        state = state_of(request)
        with state.lock:
            record = kind.update(state.store.items, location_id, item_id, body)
        return ok({kind.one: kind.shape(record)})

    return _named(handler, "update", kind.one)


def _delete(kind: ItemKind) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        location_id = _location(request, f"{kind.scope}.write")
        item_id = request.path_params[kind.id_param]
        state = state_of(request)
        with state.lock:
            kind.delete(state.store.items, location_id, item_id)
        return ok(succeeded(request))

    return _named(handler, "delete", kind.one)


def item_routes() -> list[tuple[str, Handler, tuple[str, ...]]]:
    """``(path template, handler, methods)`` of the five routes of every item kind."""
    table: list[tuple[str, Handler, tuple[str, ...]]] = []
    for kind in ITEM_KINDS:
        many = f"/locations/{{locationId}}/{kind.segment}"
        one = f"{many}/{{{kind.id_param}}}"
        table += [
            (many, _list(kind), ("GET",)),
            (many, _create(kind), ("POST",)),
            (one, _get(kind), ("GET",)),
            (one, _update(kind), ("PUT",)),
            (one, _delete(kind), ("DELETE",)),
        ]
    return table
