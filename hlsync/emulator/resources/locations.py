"""``/locations/{locationId}`` and ``/locations/search``: the location itself (reference
§6; the spec calls it "Sub-Account (Formerly Location)").

Scope ``locations.readonly`` with an agency or a sub-account token (reference §2.3).

``GET /locations/{locationId}/timezones`` (sub-account token) lists the time zones the
location may use.

Assumptions: a sub-account token sees only its own location in ``GET /locations/search``;
an agency token asking for another ``companyId`` gets 403, as does a location the store
does not hold. The spec declares no body for the time zones; the emulator answers
``{"timeZones": [IANA names…]}``, the key public clients read [OBS], with every zone
the Python runtime knows, sorted.
"""

from __future__ import annotations

from zoneinfo import available_timezones

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hlsync.emulator.auth import NO_LOCATION_ACCESS, require
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import int_param, ok, routes_for, state_of
from hlsync.emulator.store import Record

BOTH_LEVELS = ("agency", "sub-account")


async def get_location(request: Request) -> JSONResponse:
    location_id = request.path_params["locationId"]
    require(request, "locations.readonly", location_id=location_id, levels=BOTH_LEVELS)
    state = state_of(request)
    with state.lock:
        record = state.store.get_location(location_id)
    if record is None:
        raise EmulatorError(403, dict(NO_LOCATION_ACCESS))
    return ok({"location": location(record)})


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
    return ok({"locations": [location_summary(loc) for loc in chosen]})


async def list_timezones(request: Request) -> JSONResponse:
    location_id = request.path_params["locationId"]
    require(request, "locations.readonly", location_id=location_id)
    state = state_of(request)
    with state.lock:
        record = state.store.get_location(location_id)
    if record is None:
        raise EmulatorError(403, dict(NO_LOCATION_ACCESS))
    return ok({"timeZones": sorted(available_timezones())})


def location(record: Record) -> Record:
    """``GetLocationByIdSchema``."""
    out: Record = {
        "id": record["id"],
        "companyId": record["companyId"],
        "name": record["name"],
    }
    for key in ("address", "city", "state", "country", "postalCode", "website"):
        if record.get(key):
            out[key] = record[key]
    for key in ("timezone", "firstName", "lastName", "email", "phone", "domain"):
        if record.get(key):
            out[key] = record[key]
    out["business"] = {"name": record["name"]}
    out["social"] = {}
    out["settings"] = dict(record["settings"])
    out["reseller"] = {}
    return out


def location_summary(record: Record) -> Record:
    """``GetLocationSchema``: one item of ``GET /locations/search``."""
    out: Record = {"id": record["id"], "name": record["name"]}
    for key in ("phone", "email", "address", "city", "state", "country", "postalCode"):
        if record.get(key):
            out[key] = record[key]
    for key in ("website", "timezone"):
        if record.get(key):
            out[key] = record[key]
    out["settings"] = dict(record["settings"])
    out["social"] = {}
    return out


def routes() -> list[Route]:
    return routes_for(
        [
            ("/locations/search", search_locations, ("GET",)),
            ("/locations/{locationId}", get_location, ("GET",)),
            ("/locations/{locationId}/timezones", list_timezones, ("GET",)),
        ]
    )
