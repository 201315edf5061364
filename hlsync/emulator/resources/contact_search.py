"""``/contacts/search`` and ``/contacts/search/duplicate``: finding contacts (the spec's
"Search" operations, reference §5.6).

Scope ``contacts.readonly`` on the body's (search) or the query's (duplicate)
``locationId``. The search itself (filters, sort, ``searchAfter`` paging, search lag) is
``search_query`` and ``Store.search_contacts``.

Assumption: ``GET /contacts/search/duplicate`` answers ``{"contact": <contact> | null}``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hlsync.emulator import contact_shapes as shapes
from hlsync.emulator import search_query
from hlsync.emulator.auth import require
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import (
    is_v3,
    json_body,
    ok,
    routes_for,
    state_of,
    text,
    trace_id,
)
from hlsync.emulator.resources.contacts import READ
from hlsync.emulator.validation import normalize_phone


async def search_contacts(request: Request) -> JSONResponse:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise EmulatorError.unprocessable(["body must be a JSON object"])
    location_id = text(body.get("locationId"))
    require(request, READ, location_id=location_id)
    v3 = is_v3(request)
    state = state_of(request)
    lag = state.faults.search_lag_seconds("POST /contacts/search")
    with state.lock:
        store = state.store
        types = {
            f["id"]: f["dataType"] for f in store.items.custom_fields(location_id or "")
        }
        query = search_query.parse_query(body, types)
        page = store.search_contacts(query.location_id, query, lag_seconds=lag)
        contacts = [
            shapes.searched_contact(rec, cursor, v3=v3)
            for rec, cursor in zip(page.contacts, page.cursors, strict=True)
        ]
    return ok({"contacts": contacts, "total": page.total, "traceId": trace_id()})


async def duplicate_contact(request: Request) -> JSONResponse:
    params = request.query_params
    location_id = text(params.get("locationId"))
    require(request, READ, location_id=location_id)
    if location_id is None:  # the spec declares 400, not 422, for this operation
        raise EmulatorError.bad_request("locationId should not be empty")
    number = (params.get("number") or "").strip()
    phone = normalize_phone(number) if number else None
    state = state_of(request)
    with state.lock:
        found = state.store.find_duplicate(location_id, params.get("email"), phone)
    body = shapes.contact(found[0], v3=is_v3(request)) if found else None
    return ok({"contact": body})


def routes() -> list[Route]:
    return routes_for(
        [
            ("/contacts/search", search_contacts, ("POST",)),
            ("/contacts/search/duplicate", duplicate_contact, ("GET",)),
        ]
    )
