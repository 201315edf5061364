"""``/contacts/``: a contact's create, read, update, delete and upsert, and the
deprecated ``GET /contacts/`` listing (the spec's "Contacts" operations, reference §5).

Every handler authorises first (``auth.require`` with ``contacts.readonly`` / ``.write``,
reference §2.3; for a ``{contactId}`` route the location is the contact's, for create and
upsert the body's ``locationId``, for the listing the query's), then checks the body
(422 with a message array, see ``validation``), then works on the store under
``state.lock``. Request bodies become the store's form in ``contact_body``; responses take
their shape from ``contact_shapes``.

Assumptions (upstream leaves these open; reference §10):

- A missing contact answers 400 ``"Contact with id <id> not found"`` (the 400 observed;
  v2 declares no 404), in v3 too.
- ``POST /contacts/`` and ``PUT /contacts/{id}`` on a location that forbids duplicates
  answer 400 ``"This location does not allow duplicated contacts."`` with
  ``meta.contactId``/``matchingField``/``contactName`` when the email (first) or phone
  belongs to another contact. Matching order is email, then phone.
- Upsert: with ``createNewIfDuplicateAllowed`` on a location that allows duplicates it
  always creates; otherwise it updates the email match, else the phone match, else
  creates. When email matches one contact and phone another, the phone is not written.
- ``GET /contacts/`` lists by ``dateAdded`` ascending; ``startAfter`` (epoch ms) and
  ``startAfterId`` continue after a contact; the body adds a ``meta`` cursor. It is gone
  in v3 (404, like an unknown path).
- v3 differences emulated: ``succeeded`` beside ``succeded``, ``fieldValue`` input, DND
  keys ``call``…, full contact on create, no ``GET /contacts/``. Not emulated: v3 404
  ``NotFoundDTO`` bodies and any ``/v3`` path prefix.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hlsync.emulator import contact_shapes as shapes
from hlsync.emulator import search, search_query
from hlsync.emulator.auth import require
from hlsync.emulator.contact_body import contact_fields
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import (
    int_param,
    is_v3,
    json_body,
    location_body,
    ok,
    routes_for,
    state_of,
    succeeded,
    text,
    trace_id,
)
from hlsync.emulator.store import Record, Store
from hlsync.emulator.validation import Prop, check_body

READ, WRITE = "contacts.readonly", "contacts.write"
DUPLICATE_MESSAGE = "This location does not allow duplicated contacts."
MAX_LIST_LIMIT = 100

_S, _SN = Prop("string"), Prop("string", nullable=True)
_CONTACT_COMMON: dict[str, Prop] = {
    "firstName": _SN,
    "lastName": _SN,
    "name": _SN,
    "email": _SN,
    "phone": _SN,
    "address1": _SN,
    "city": _SN,
    "state": _SN,
    "postalCode": _S,
    "website": _SN,
    "timezone": _SN,
    "dnd": Prop("boolean"),
    "dndSettings": Prop("object"),
    "inboundDndSettings": Prop("object"),
    "tags": Prop("strings"),
    "customFields": Prop("array"),
    "dateOfBirth": Prop("any", nullable=True),
    "country": _S,
}
CREATE_CONTACT: dict[str, Prop] = {
    **_CONTACT_COMMON,
    "locationId": Prop("string", required=True),
    "gender": _S,
    "source": _S,
    "companyName": _SN,
    "assignedTo": _S,
}
UPDATE_CONTACT: dict[str, Prop] = {**_CONTACT_COMMON, "source": _SN, "assignedTo": _SN}
UPSERT_CONTACT: dict[str, Prop] = {
    **CREATE_CONTACT,
    "createNewIfDuplicateAllowed": Prop("boolean"),
}


def _duplicate_error(found: tuple[Record, str]) -> EmulatorError:
    record, matched = found
    meta: dict[str, Any] = {"contactId": record["id"], "matchingField": matched}
    name = shapes.full_name(record)
    if name:
        meta["contactName"] = name
    return EmulatorError.bad_request(DUPLICATE_MESSAGE, meta=meta)


def _fields(store: Store, location_id: str, body: dict[str, Any], v3: bool) -> Record:
    return contact_fields(
        body,
        v3=v3,
        resolve_field=lambda ref: store.items.find_custom_field(location_id, ref),
    )


async def create_contact(request: Request) -> JSONResponse:
    body = await location_body(request, WRITE)
    check_body(body, CREATE_CONTACT)
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
    body = await location_body(request, WRITE)
    check_body(body, UPSERT_CONTACT)
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


def contact_for(request: Request, scope: str) -> Record | None:
    """The path's contact (or None), after authorising ``scope`` on its location."""
    state = state_of(request)
    with state.lock:
        record = state.store.get_contact(request.path_params["contactId"])
    require(request, scope, location_id=record["locationId"] if record else None)
    return record


def contact_not_found(contact_id: str) -> EmulatorError:
    return EmulatorError.bad_request(f"Contact with id {contact_id} not found")


async def get_contact(request: Request) -> JSONResponse:
    record = contact_for(request, READ)
    if record is None:
        raise contact_not_found(request.path_params["contactId"])
    return ok({"contact": shapes.contact(record, v3=is_v3(request))})


async def update_contact(request: Request) -> JSONResponse:
    body = await json_body(request)
    record = contact_for(request, WRITE)
    check_body(body, UPDATE_CONTACT)
    if record is None:
        raise contact_not_found(request.path_params["contactId"])
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
    record = contact_for(request, WRITE)
    if record is None:
        raise contact_not_found(request.path_params["contactId"])
    state = state_of(request)
    with state.lock:
        state.store.delete_contact(record["id"])
    return ok(succeeded(request))


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


def routes() -> list[Route]:
    return routes_for(
        [
            ("/contacts/", create_contact, ("POST",)),
            ("/contacts/", list_contacts, ("GET",)),
            ("/contacts/upsert", upsert_contact, ("POST",)),
            ("/contacts/{contactId}", get_contact, ("GET",)),
            ("/contacts/{contactId}", update_contact, ("PUT",)),
            ("/contacts/{contactId}", delete_contact, ("DELETE",)),
        ]
    )
