"""Admin routes that put contacts into the emulator without the public API: the bulk
load (``bulk_load``) and a contact's activity (``contact_activity``).

Like every ``/_emulator/`` route they pass no rate limit, fault or request log
(``app``), so a test or benchmark can build a large account in seconds.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hlsync.emulator.bulk_load import BulkLoad
from hlsync.emulator.contact_activity import FIELDS as ACTIVITY
from hlsync.emulator.contact_activity import activity_fields
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import admin_body
from hlsync.emulator.state import EmulatorState


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


async def load_contacts(request: Request) -> Response:
    """Stream JSON lines of contacts into a location; ``{"loaded", "ids"}`` (201)."""
    location_id = request.path_params["locationId"]
    state = _state(request)
    with state.lock:
        if state.store.get_location(location_id) is None:
            raise EmulatorError.not_found(f"location {location_id} not found")
        fields = state.store.custom_fields(location_id)
    load = BulkLoad(location_id, fields)
    async for chunk in request.stream():
        load.feed(chunk)
    load.finish()
    with state.lock:
        load.check(state.store)
        ids = state.store.add_contacts(location_id, load.records)
    return JSONResponse({"loaded": len(ids), "ids": ids}, status_code=201)


async def set_activity(request: Request) -> Response:
    """Set (``null``: clear) activity keys of one contact; answers them all."""
    body = await admin_body(request)
    problems = [f"property {k} should not exist" for k in body if k not in ACTIVITY]
    fields = activity_fields(body, problems)
    if problems:
        raise EmulatorError.unprocessable(problems)
    contact_id = request.path_params["contactId"]
    state = _state(request)
    with state.lock:
        if state.store.get_contact(contact_id) is None:
            raise EmulatorError.not_found(f"contact {contact_id} not found")
        record = state.store.set_activity(contact_id, fields)
    activity = {key: record[key] for key in ACTIVITY if key in record}
    return JSONResponse({"contactId": contact_id, "activity": activity})


def contact_routes(prefix: str) -> list[BaseRoute]:
    return [
        Route(
            f"{prefix}/locations/{{locationId}}/contacts",
            load_contacts,
            methods=["POST"],
        ),
        Route(
            f"{prefix}/contacts/{{contactId}}/activity", set_activity, methods=["PATCH"]
        ),
    ]
