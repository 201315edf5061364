"""The HighLevel API v2 routes the emulator serves (contacts, search, tags, locations,
location tags, custom fields, custom values), as reference §2.3, §3, §5 and §6 describe.

Every handler authorises first (``auth.require`` with the scope of reference §2.3; for a
contact route the location is the contact's, for search the body's ``locationId``, for
``GET /contacts/`` the query's), then checks the body (422 with a message array, see
``validation``), then works on the store under ``state.lock``. Paths answer with and
without a trailing slash. The app's middleware has already resolved the token, counted
the rate limit and checked the ``Version`` header (left in ``request.state.api_version``).

Assumptions (upstream leaves these open; reference §10):

- A missing contact, tag, custom field or custom value answers 400 ``"<Kind> with id
  <id> not found"`` (the 400 observed for contacts; v2 declares no 404), in v3 too.
- ``POST /contacts/`` and ``PUT /contacts/{id}`` on a location that forbids duplicates
  answer 400 ``"This location does not allow duplicated contacts."`` with
  ``meta.contactId``/``matchingField``/``contactName`` when the email (first) or phone
  belongs to another contact. Matching order is email, then phone.
- Upsert: with ``createNewIfDuplicateAllowed`` on a location that allows duplicates it
  always creates; otherwise it updates the email match, else the phone match, else
  creates. When email matches one contact and phone another, the phone is not written.
- ``POST``/``DELETE /contacts/{id}/tags`` answer the contact's full tag list afterwards
  (the v3 spec says so). Tags put on a contact join the location's tag list.
- ``GET /contacts/search/duplicate`` answers ``{"contact": <contact> | null}``.
- ``GET /contacts/`` lists by ``dateAdded`` ascending; ``startAfter`` (epoch ms) and
  ``startAfterId`` continue after a contact; the body adds a ``meta`` cursor. It is gone
  in v3 (404, like an unknown path).
- ``GET /locations/{id}/customFields`` without ``model`` lists every model.
- Bulk tag updates report ``succeded: true`` once processed, with per-contact errors
  counted in ``errorCount``; an unknown but well-formed id answers "contact not found".
- v3 differences emulated: ``succeeded`` beside ``succeded``, ``fieldValue`` input, DND
  keys ``call``…, full contact on create, no ``GET /contacts/``. Not emulated: v3 404
  ``NotFoundDTO`` bodies and any ``/v3`` path prefix.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from hlsync.emulator import location_routes as loc
from hlsync.emulator import search, search_query, shapes
from hlsync.emulator import validation as v
from hlsync.emulator.auth import require
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import (
    body_text,
    int_param,
    is_v3,
    json_body,
    ok,
    state_of,
    succeeded,
    text,
    trace_id,
)
from hlsync.emulator.items import is_valid_id
from hlsync.emulator.store import Record, Store

Handler = Callable[[Request], Awaitable[JSONResponse]]
READ, WRITE = "contacts.readonly", "contacts.write"
DUPLICATE_MESSAGE = "This location does not allow duplicated contacts."
MAX_LIST_LIMIT = 100


def _duplicate_error(found: tuple[Record, str]) -> EmulatorError:
    record, matched = found
    meta: dict[str, Any] = {"contactId": record["id"], "matchingField": matched}
    name = shapes.full_name(record)
    if name:
        meta["contactName"] = name
    return EmulatorError.bad_request(DUPLICATE_MESSAGE, meta=meta)


def _fields(store: Store, location_id: str, body: dict[str, Any], v3: bool) -> Record:
    return v.contact_fields(
        body,
        v3=v3,
        resolve_field=lambda ref: store.items.find_custom_field(location_id, ref),
    )


async def _location_body(request: Request, scope: str) -> Any:
    """The JSON body, once the token is allowed ``scope`` on the body's ``locationId``
    (authorisation comes before body validation)."""
    body = await json_body(request)
    require(request, scope, location_id=body_text(body, "locationId"))
    return body


async def create_contact(request: Request) -> JSONResponse:
    body = await _location_body(request, WRITE)
    v.check_body(body, v.CREATE_CONTACT)
    v3 = is_v3(request)
    state = state_of(request)
    with state.lock:
        store = state.store
        fields = _fields(store, body["locationId"], body, v3)
        if not store.allows_duplicates(body["locationId"]):
            found = store.find_duplicate(
                body["locationId"], fields.get("email"), fields.get("phone")
            )
            if found is not None:
                raise _duplicate_error(found)
        record = store.create_contact(body["locationId"], fields)
        return ok({"contact": shapes.created_contact(record, v3=v3)}, 201)


async def upsert_contact(request: Request) -> JSONResponse:
    body = await _location_body(request, WRITE)
    v.check_body(body, v.UPSERT_CONTACT)
    v3 = is_v3(request)
    state = state_of(request)
    with state.lock:
        store = state.store
        location_id = body["locationId"]
        fields = _fields(store, location_id, body, v3)
        always_new = body.get("createNewIfDuplicateAllowed") is True
        found = None
        if not (always_new and store.allows_duplicates(location_id)):
            found = store.find_duplicate(
                location_id, fields.get("email"), fields.get("phone")
            )
        if found is None:
            record, created = store.create_contact(location_id, fields), True
        else:
            existing, matched = found
            phone = fields.get("phone")
            if matched == "email" and phone:
                other = store.find_duplicate(
                    location_id, None, phone, exclude=existing["id"]
                )
                if other is not None:
                    fields.pop("phone")
            record, created = store.update_contact(existing["id"], fields), False
        return ok(
            {
                "new": created,
                "contact": shapes.contact(record, v3=v3),
                "traceId": trace_id(),
            }
        )


def _contact_for(request: Request, scope: str) -> Record | None:
    """The path's contact (or None), after authorising ``scope`` on its location."""
    state = state_of(request)
    with state.lock:
        record = state.store.get_contact(request.path_params["contactId"])
    require(request, scope, location_id=record["locationId"] if record else None)
    return record


def _not_found(contact_id: str) -> EmulatorError:
    return EmulatorError.bad_request(f"Contact with id {contact_id} not found")


async def get_contact(request: Request) -> JSONResponse:
    record = _contact_for(request, READ)
    if record is None:
        raise _not_found(request.path_params["contactId"])
    return ok({"contact": shapes.contact(record, v3=is_v3(request))})


async def update_contact(request: Request) -> JSONResponse:
    body = await json_body(request)
    record = _contact_for(request, WRITE)
    v.check_body(body, v.UPDATE_CONTACT)
    if record is None:
        raise _not_found(request.path_params["contactId"])
    v3 = is_v3(request)
    state = state_of(request)
    with state.lock:
        store = state.store
        location_id = record["locationId"]
        fields = _fields(store, location_id, body, v3)
        if not store.allows_duplicates(location_id):
            found = store.find_duplicate(
                location_id,
                fields.get("email"),
                fields.get("phone"),
                exclude=record["id"],
            )
            if found is not None:
                raise _duplicate_error(found)
        updated = store.update_contact(record["id"], fields)
        return ok({**succeeded(request), "contact": shapes.contact(updated, v3=v3)})


async def delete_contact(request: Request) -> JSONResponse:
    record = _contact_for(request, WRITE)
    if record is None:
        raise _not_found(request.path_params["contactId"])
    state = state_of(request)
    with state.lock:
        state.store.delete_contact(record["id"])
    return ok(succeeded(request))


async def add_contact_tags(request: Request) -> JSONResponse:
    return await _contact_tags(request, add=True)


async def remove_contact_tags(request: Request) -> JSONResponse:
    return await _contact_tags(request, add=False)


async def _contact_tags(request: Request, *, add: bool) -> JSONResponse:
    body = await json_body(request)
    record = _contact_for(request, WRITE)
    v.check_body(body, v.TAGS)
    if record is None:
        raise _not_found(request.path_params["contactId"])
    state = state_of(request)
    with state.lock:
        if add:
            updated = state.store.add_contact_tags(record["id"], body["tags"])
        else:
            updated = state.store.remove_contact_tags(record["id"], body["tags"])
    return ok({"tags": updated["tags"]}, 201 if add else 200)


async def bulk_tags(request: Request) -> JSONResponse:
    body = await _location_body(request, WRITE)
    kind = request.path_params["type"]
    problems = []
    if kind not in ("add", "remove"):
        problems.append("type must be one of the following values: add, remove")
    try:
        v.check_body(body, v.BULK_TAGS)
    except EmulatorError as exc:
        problems.extend(exc.body["message"])
    if kind == "add" and isinstance(body, dict) and body.get("removeAllTags"):
        problems.append("removeAllTags can only be used with remove")
    if problems:
        raise EmulatorError.unprocessable(problems)
    state = state_of(request)
    responses: list[dict[str, Any]] = []
    with state.lock:
        for contact_id in body["contacts"]:
            responses.append(_bulk_one(state.store, body, kind, contact_id))
    errors = sum(1 for r in responses if r["type"] == "error")
    result: dict[str, Any] = {"succeded": True, "errorCount": errors}
    if is_v3(request):
        result["succeeded"] = True
    result["responses"] = responses
    return ok(result, 201)


def _bulk_one(store: Store, body: dict[str, Any], kind: str, contact_id: str) -> Record:
    def error(message: str) -> Record:
        return {"contactId": contact_id, "message": message, "type": "error"}

    if not is_valid_id(contact_id):
        return error("contact id is not a valid firebase id")
    record = store.get_contact(contact_id)
    if record is None:
        return error(
            "contact is deleted"
            if store.was_deleted(contact_id)
            else "contact not found"
        )
    if record["locationId"] != body["locationId"]:
        return error("contact does not belong to location")
    old = list(record.get("tags", []))
    if kind == "add":
        new = store.add_contact_tags(contact_id, body["tags"])["tags"]
    elif body.get("removeAllTags"):
        new = store.update_contact(contact_id, {"tags": []})["tags"]
    else:
        new = store.remove_contact_tags(contact_id, body["tags"])["tags"]
    return {
        "contactId": contact_id,
        "message": "Tags updated",
        "type": "success",
        "oldTags": old,
        "tagsAdded": [t for t in new if t not in old],
        "tagsRemoved": [t for t in old if t not in new],
    }


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


async def list_contacts(request: Request) -> JSONResponse:
    if is_v3(request):
        message = f"Cannot GET {request.url.path}"
        raise EmulatorError(
            404, {"statusCode": 404, "message": message, "error": "Not Found"}
        )
    params = request.query_params
    location_id = text(params.get("locationId"))
    require(request, READ, location_id=location_id)
    problems = [] if location_id else ["locationId should not be empty"]
    limit = int_param(params.get("limit"), 20, "limit", problems)
    if limit is not None and not 1 <= limit <= MAX_LIST_LIMIT:
        problems.append(f"limit must not be greater than {MAX_LIST_LIMIT}")
    start_after = int_param(params.get("startAfter"), None, "startAfter", problems)
    free_text = params.get("query") or None
    if problems:
        raise EmulatorError.unprocessable(problems)
    assert location_id is not None and limit is not None
    state = state_of(request)
    lag = state.faults.search_lag_seconds("GET /contacts/")
    with state.lock:
        cursor = _list_cursor(state.store, params.get("startAfterId"), start_after)
        query = search_query.SearchQuery(
            location_id=location_id,
            page_limit=limit,
            search_after=cursor,
            sort=(search_query.SortKey("dateAdded", "asc"),),
            text=free_text.lower() if free_text else None,
        )
        page = state.store.search_contacts(location_id, query, lag_seconds=lag)
    contacts = [shapes.listed_contact(rec) for rec in page.contacts]
    meta: dict[str, Any] = {"total": page.total}
    if page.cursors:
        last = page.cursors[-1]
        meta.update(startAfter=last[0], startAfterId=last[1])
        meta["nextPageUrl"] = str(
            request.url.include_query_params(startAfter=last[0], startAfterId=last[1])
        )
    return ok({"contacts": contacts, "count": page.total, "meta": meta})


def _list_cursor(
    store: Store, after_id: str | None, after_ms: int | None
) -> tuple[Any, ...] | None:
    if after_id:
        record = store.get_contact(after_id)
        if record is not None:
            return (
                search.sort_values(record, (search_query.SortKey("dateAdded", "asc"),))[
                    0
                ],
                after_id,
            )
        if after_ms is not None:
            return (after_ms, after_id)
    if after_ms is not None:
        return (after_ms, "")
    return None


async def duplicate_contact(request: Request) -> JSONResponse:
    params = request.query_params
    location_id = text(params.get("locationId"))
    require(request, READ, location_id=location_id)
    if location_id is None:  # the spec declares 400, not 422, for this operation
        raise EmulatorError.bad_request("locationId should not be empty")
    number = (params.get("number") or "").strip()
    phone = v.normalize_phone(number) if number else None
    state = state_of(request)
    with state.lock:
        found = state.store.find_duplicate(location_id, params.get("email"), phone)
    body = shapes.contact(found[0], v3=is_v3(request)) if found else None
    return ok({"contact": body})


def _routes(path: str, handler: Handler, *methods: str) -> list[BaseRoute]:
    """``path`` with and without its trailing slash (upstream answers both)."""
    bare = path.rstrip("/") or "/"
    return [
        Route(bare, handler, methods=list(methods)),
        Route(bare + "/", handler, methods=list(methods)),
    ]


def upstream_routes() -> list[BaseRoute]:
    """Every HighLevel route the emulator serves; fixed paths before ``{contactId}``.

    The route templates (``/contacts/{contactId}``) are what fault rules and the request
    log name.
    """
    table: list[tuple[str, Handler, tuple[str, ...]]] = [
        ("/contacts/", create_contact, ("POST",)),
        ("/contacts/", list_contacts, ("GET",)),
        ("/contacts/search", search_contacts, ("POST",)),
        ("/contacts/search/duplicate", duplicate_contact, ("GET",)),
        ("/contacts/upsert", upsert_contact, ("POST",)),
        ("/contacts/bulk/tags/update/{type}", bulk_tags, ("POST",)),
        ("/contacts/{contactId}", get_contact, ("GET",)),
        ("/contacts/{contactId}", update_contact, ("PUT",)),
        ("/contacts/{contactId}", delete_contact, ("DELETE",)),
        ("/contacts/{contactId}/tags", add_contact_tags, ("POST",)),
        ("/contacts/{contactId}/tags", remove_contact_tags, ("DELETE",)),
        ("/locations/search", loc.search_locations, ("GET",)),
        ("/locations/{locationId}", loc.get_location, ("GET",)),
        *loc.item_routes(),  # tags, custom fields, custom values
    ]
    routes: list[BaseRoute] = []
    for path, handler, methods in table:
        routes.extend(_routes(path, handler, *methods))
    return routes
