"""``GET /contacts/business/{businessId}``: the contacts of a business (the spec's
"Get Contacts By BusinessId", reference §5.1).

Scope ``contacts.readonly`` on the query's ``locationId`` (required). Query ``limit``
(default 25), ``skip`` (default 0) and ``query`` (free text, as search's ``query``).
A contact belongs to a business through its ``businessId``, which the emulator's admin
API sets (``contact_activity``): the emulator does not serve the bulk business write.

Assumptions (upstream leaves these open; reference §10): the contacts come in
``dateAdded`` order, then id; ``count`` is the number matched, not the page's.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hlsync.emulator import contact_shapes as shapes
from hlsync.emulator.auth import require
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import int_param, ok, routes_for, state_of, text
from hlsync.emulator.resources.contacts import READ
from hlsync.emulator.search import text_matches


async def business_contacts(request: Request) -> JSONResponse:
    params = request.query_params
    location_id = text(params.get("locationId"))
    require(request, READ, location_id=location_id)
    problems = [] if location_id else ["locationId should not be empty"]
    limit = int_param(params.get("limit"), 25, "limit", problems) or 0
    skip = int_param(params.get("skip"), 0, "skip", problems) or 0
    if limit < 1 or skip < 0:
        problems.append("limit must be positive and skip not negative")
    if problems:
        raise EmulatorError.unprocessable(problems)
    assert location_id is not None
    business_id = request.path_params["businessId"]
    free_text = (params.get("query") or "").lower()
    state = state_of(request)
    with state.lock:
        found = [
            record
            for record in state.store.contacts_of(location_id)
            if record.get("businessId") == business_id
            and (not free_text or text_matches(free_text, record))
        ]
    found.sort(key=lambda record: (record["dateAdded"], record["id"]))
    page = [shapes.listed_contact(record) for record in found[skip : skip + limit]]
    return ok({"contacts": page, "count": len(found)})


def routes() -> list[Route]:
    return routes_for(
        [("/contacts/business/{businessId}", business_contacts, ("GET",))]
    )
