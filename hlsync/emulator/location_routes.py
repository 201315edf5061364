"""Location routes: the location itself, location search, and a location's tags, custom
fields and custom values (reference §6), each with list/get/create/update/delete.

Scopes per reference §2.3: ``locations.readonly`` (agency or sub-account token) for the
location and location search; ``locations/tags.*``, ``locations/customFields.*`` and
``locations/customValues.*`` (sub-account token) for the rest — the single-item
operations use the same scopes as the list ones, as the scope catalog maps them.
Statuses as the spec declares: tag create 200, custom field / value create 201, deletes
``{"succeded": true}``. Assumptions: a missing item answers 400 ``"<Kind> with id <id>
not found"``; a duplicate tag name or derived key answers 400; a sub-account token sees
only its own location in ``GET /locations/search``; an agency token asking for another
``companyId`` gets 403.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from hlsync.emulator import shapes
from hlsync.emulator import validation as v
from hlsync.emulator.auth import NO_LOCATION_ACCESS, require
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import int_param, json_body, ok, state_of, succeeded

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


async def list_tags(request: Request) -> JSONResponse:
    location_id = _location(request, "locations/tags.readonly")
    state = state_of(request)
    with state.lock:
        tags = state.store.items.tags(location_id)
    return ok({"tags": [shapes.tag(t) for t in tags]})


async def create_tag(request: Request) -> JSONResponse:
    body = await json_body(request)
    location_id = _location(request, "locations/tags.write")
    v.check_body(body, v.LOCATION_TAG)
    state = state_of(request)
    with state.lock:
        record = state.store.items.create_tag(location_id, body["name"])
    return ok({"tag": shapes.tag(record)})


async def get_tag(request: Request) -> JSONResponse:
    location_id = _location(request, "locations/tags.readonly")
    state = state_of(request)
    with state.lock:
        record = state.store.items.get_tag(location_id, request.path_params["tagId"])
    return ok({"tag": shapes.tag(record)})


async def update_tag(request: Request) -> JSONResponse:
    body = await json_body(request)
    location_id = _location(request, "locations/tags.write")
    v.check_body(body, v.LOCATION_TAG)
    state = state_of(request)
    with state.lock:
        record = state.store.items.update_tag(
            location_id, request.path_params["tagId"], body["name"]
        )
    return ok({"tag": shapes.tag(record)})


async def delete_tag(request: Request) -> JSONResponse:
    location_id = _location(request, "locations/tags.write")
    state = state_of(request)
    with state.lock:
        state.store.items.delete_tag(location_id, request.path_params["tagId"])
    return ok(succeeded(request))


async def list_custom_fields(request: Request) -> JSONResponse:
    location_id = _location(request, "locations/customFields.readonly")
    model = request.query_params.get("model", "all")
    if model not in MODELS:
        raise EmulatorError.unprocessable(
            [f"model must be one of the following values: {', '.join(MODELS)}"]
        )
    state = state_of(request)
    with state.lock:
        found = state.store.items.custom_fields(
            location_id, None if model == "all" else model
        )
    return ok({"customFields": [shapes.custom_field(f) for f in found]})


async def create_custom_field(request: Request) -> JSONResponse:
    body = await json_body(request)
    location_id = _location(request, "locations/customFields.write")
    v.check_body(body, v.CREATE_CUSTOM_FIELD)
    state = state_of(request)
    with state.lock:
        record = state.store.items.create_custom_field(location_id, body)
    return ok({"customField": shapes.custom_field(record)}, 201)


async def get_custom_field(request: Request) -> JSONResponse:
    location_id = _location(request, "locations/customFields.readonly")
    state = state_of(request)
    with state.lock:
        record = state.store.items.get_custom_field(
            location_id, request.path_params["id"]
        )
    return ok({"customField": shapes.custom_field(record)})


async def update_custom_field(request: Request) -> JSONResponse:
    body = await json_body(request)
    location_id = _location(request, "locations/customFields.write")
    v.check_body(body, v.UPDATE_CUSTOM_FIELD)
    state = state_of(request)
    with state.lock:
        record = state.store.items.update_custom_field(
            location_id, request.path_params["id"], body
        )
    return ok({"customField": shapes.custom_field(record)})


async def delete_custom_field(request: Request) -> JSONResponse:
    location_id = _location(request, "locations/customFields.write")
    state = state_of(request)
    with state.lock:
        state.store.items.delete_custom_field(location_id, request.path_params["id"])
    return ok(succeeded(request))


async def list_custom_values(request: Request) -> JSONResponse:
    location_id = _location(request, "locations/customValues.readonly")
    state = state_of(request)
    with state.lock:
        found = state.store.items.custom_values(location_id)
    return ok({"customValues": [shapes.custom_value(r) for r in found]})


async def create_custom_value(request: Request) -> JSONResponse:
    body = await json_body(request)
    location_id = _location(request, "locations/customValues.write")
    v.check_body(body, v.CUSTOM_VALUE)
    state = state_of(request)
    with state.lock:
        record = state.store.items.create_custom_value(
            location_id, body["name"], body["value"]
        )
    return ok({"customValue": shapes.custom_value(record)}, 201)


async def get_custom_value(request: Request) -> JSONResponse:
    location_id = _location(request, "locations/customValues.readonly")
    state = state_of(request)
    with state.lock:
        record = state.store.items.get_custom_value(
            location_id, request.path_params["id"]
        )
    return ok({"customValue": shapes.custom_value(record)})


async def update_custom_value(request: Request) -> JSONResponse:
    body = await json_body(request)
    location_id = _location(request, "locations/customValues.write")
    v.check_body(body, v.CUSTOM_VALUE)
    state = state_of(request)
    with state.lock:
        record = state.store.items.update_custom_value(
            location_id, request.path_params["id"], body["name"], body["value"]
        )
    return ok({"customValue": shapes.custom_value(record)})


async def delete_custom_value(request: Request) -> JSONResponse:
    location_id = _location(request, "locations/customValues.write")
    state = state_of(request)
    with state.lock:
        state.store.items.delete_custom_value(location_id, request.path_params["id"])
    return ok(succeeded(request))
