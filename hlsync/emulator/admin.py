"""The ``/_emulator/`` admin API: not a HighLevel endpoint, and unauthenticated.

It is meant for tests, benchmarks, the sandbox and hlsync's Private Integration "api
driver", and is served on loopback only (``hlsync emulator serve`` refuses other hosts
unless ``--allow-remote``). Errors use upstream's shapes: 404 ``{statusCode, message}``,
409 for a wrong state (e.g. no rotation in progress), 422 with a message array for a bad
body. Every route is described in ``docs/emulator-admin-api.md``; a test compares that
page with :func:`admin_routes`, so a new route needs its section there. The contact
routes (bulk load, activity) are in ``admin_contacts``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from hlsync.emulator.admin_contacts import contact_routes
from hlsync.emulator.auth import DEFAULT_OVERLAP, AuthRegistry, Integration, Level
from hlsync.emulator.clock import isoformat, parse_iso
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.faults import FaultRule
from hlsync.emulator.handling import admin_body
from hlsync.emulator.ratelimit import Limits
from hlsync.emulator.state import EmulatorState

Handler = Callable[[Request], Awaitable[Response]]
PREFIX = "/_emulator"


def admin_routes() -> list[BaseRoute]:
    p = PREFIX
    integration = f"{p}/integrations/{{integrationId}}"
    return [
        Route(f"{p}/", summary, methods=["GET"]),
        Route(f"{p}/agencies", list_agencies, methods=["GET"]),
        Route(f"{p}/agencies", create_agency, methods=["POST"]),
        Route(f"{p}/locations", list_locations, methods=["GET"]),
        Route(f"{p}/locations", create_location, methods=["POST"]),
        Route(
            f"{p}/locations/{{locationId}}/settings", patch_settings, methods=["PATCH"]
        ),
        Route(f"{p}/integrations", list_integrations, methods=["GET"]),
        Route(f"{p}/integrations", create_integration, methods=["POST"]),
        Route(integration, get_integration, methods=["GET"]),
        Route(integration, patch_integration, methods=["PATCH"]),
        Route(integration, delete_integration, methods=["DELETE"]),
        Route(f"{integration}/rotate", rotate, methods=["POST"]),
        Route(f"{integration}/cancel-rotation", cancel_rotation, methods=["POST"]),
        Route(f"{integration}/expire-old", expire_old, methods=["POST"]),
        Route(f"{integration}/token-check", token_check, methods=["POST"]),
        Route(f"{p}/token-owner", token_owner, methods=["POST"]),
        Route(f"{p}/clock", get_clock, methods=["GET"]),
        Route(f"{p}/clock", post_clock, methods=["POST"]),
        Route(f"{p}/faults", get_faults, methods=["GET"]),
        Route(f"{p}/faults", put_faults, methods=["PUT"]),
        Route(f"{p}/faults", delete_faults, methods=["DELETE"]),
        Route(f"{p}/limits", get_limits, methods=["GET"]),
        Route(f"{p}/limits", put_limits, methods=["PUT"]),
        Route(f"{p}/limits/counters", reset_counters, methods=["DELETE"]),
        Route(f"{p}/requests", get_requests, methods=["GET"]),
        Route(f"{p}/requests", clear_requests, methods=["DELETE"]),
        Route(f"{p}/stats", get_stats, methods=["GET"]),
        *contact_routes(p),
    ]


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _optional(data: dict[str, Any], key: str) -> str | None:
    if data.get(key) is None:
        return None
    return _required(data, key)


def _required(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EmulatorError.unprocessable([f"{key} must be a non-empty string"])
    return value


async def summary(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        body = {
            "agencies": len(state.auth.agencies),
            "locations": len(state.store.location_ids()),
            "integrations": len(state.auth.integrations),
            "clock": _clock_json(state),
            "limits": state.limits.limits.to_json(),
        }
    return JSONResponse(body)


async def list_agencies(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        agencies = [a.to_json() for _, a in sorted(state.auth.agencies.items())]
    return JSONResponse({"agencies": agencies})


async def create_agency(request: Request) -> Response:
    data = await admin_body(request, {"id", "name"})
    company_id = _required(data, "id")
    name = _optional(data, "name") or company_id
    agency, token = _state(request).provision_agency(company_id, name)
    return JSONResponse({"agency": agency.to_json(), "token": token}, status_code=201)


async def list_locations(request: Request) -> Response:
    state = _state(request)
    company_id = request.query_params.get("companyId")
    with state.lock:
        locations = state.store.locations(company_id)
    return JSONResponse({"locations": locations})


async def create_location(request: Request) -> Response:
    data = await admin_body(request, {"id", "companyId", "name", "settings"})
    company_id = _required(data, "companyId")
    name = _required(data, "name")
    location_id = _optional(data, "id")
    settings = data.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise EmulatorError.unprocessable(["settings must be an object"])
    location, token = _state(request).provision_location(
        company_id, name, location_id, settings
    )
    return JSONResponse({"location": location, "token": token}, status_code=201)


async def patch_settings(request: Request) -> Response:
    settings = await admin_body(request)
    state = _state(request)
    with state.lock:
        location = state.store.update_location_settings(
            request.path_params["locationId"], settings
        )
    return JSONResponse({"location": location})


async def list_integrations(request: Request) -> Response:
    state = _state(request)
    company_id = request.query_params.get("companyId")
    location_id = request.query_params.get("locationId")
    with state.lock:
        found = [
            state.auth.to_json(i)
            for i in sorted(state.auth.integrations.values(), key=lambda i: i.id)
            if (company_id is None or i.company_id == company_id)
            and (location_id is None or i.location_id == location_id)
        ]
    return JSONResponse({"integrations": found})


async def create_integration(request: Request) -> Response:
    """``locationId`` makes a sub-account integration, else ``companyId`` an agency one."""
    data = await admin_body(
        request, {"name", "description", "scopes", "companyId", "locationId"}
    )
    name = _required(data, "name")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise EmulatorError.unprocessable(["description must be a string"])
    location_id = _optional(data, "locationId")
    state = _state(request)
    with state.lock:
        level: Level
        if location_id is not None:
            location = state.store.get_location(location_id)
            if location is None:
                raise EmulatorError.not_found(f"location {location_id} not found")
            company_id: str = location["companyId"]
            level = "sub-account"
        else:
            company = _required(data, "companyId")
            if company not in state.auth.agencies:
                raise EmulatorError.not_found(f"agency {company} not found")
            company_id, level = company, "agency"
        integration, token = state.auth.create_integration(
            name=name,
            description=description,
            scopes=_scopes(data.get("scopes")),
            level=level,
            company_id=company_id,
            location_id=location_id,
        )
        body = {"integration": state.auth.to_json(integration), "token": token}
    return JSONResponse(body, status_code=201)


def _scopes(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise EmulatorError.unprocessable(["scopes must be an array of strings"])
    return list(value)


def _answer_integration(
    request: Request, action: Callable[[AuthRegistry, str], Integration]
) -> Response:
    """Run ``action`` on the path's integration under the lock; answer the result."""
    state = _state(request)
    with state.lock:
        integration = action(state.auth, request.path_params["integrationId"])
        return JSONResponse({"integration": state.auth.to_json(integration)})


async def get_integration(request: Request) -> Response:
    return _answer_integration(request, AuthRegistry.get)


async def patch_integration(request: Request) -> Response:
    data = await admin_body(request, {"name", "description", "scopes"})
    name = _optional(data, "name")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise EmulatorError.unprocessable(["description must be a string"])
    scopes = None if data.get("scopes") is None else _scopes(data["scopes"])
    state = _state(request)
    with state.lock:
        integration = state.auth.update(
            request.path_params["integrationId"],
            name=name,
            description=description,
            scopes=scopes,
        )
        return JSONResponse({"integration": state.auth.to_json(integration)})


async def delete_integration(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        state.auth.delete(request.path_params["integrationId"])
    return JSONResponse({"succeded": True})


async def rotate(request: Request) -> Response:
    data = await admin_body(request, {"mode", "overlapDays"})
    mode = data.get("mode", "later")
    if mode not in ("later", "now"):
        raise EmulatorError.unprocessable(['mode must be "later" or "now"'])
    days = data.get("overlapDays", DEFAULT_OVERLAP.days)
    if not isinstance(days, int | float) or isinstance(days, bool) or days <= 0:
        raise EmulatorError.unprocessable(["overlapDays must be a positive number"])
    state = _state(request)
    with state.lock:
        integration_id = request.path_params["integrationId"]
        token = state.auth.rotate(
            integration_id, later=mode == "later", overlap=timedelta(days=days)
        )
        body = {
            "integration": state.auth.to_json(state.auth.get(integration_id)),
            "token": token,
        }
    return JSONResponse(body, status_code=201)


async def cancel_rotation(request: Request) -> Response:
    return _answer_integration(request, AuthRegistry.cancel_rotation)


async def expire_old(request: Request) -> Response:
    return _answer_integration(request, AuthRegistry.expire_old)


async def token_check(request: Request) -> Response:
    """Does the token with this sha256 belong to the integration, and is it its current
    one? The api driver's cheap check of a sink (no scope needed, no value sent)."""
    data = await admin_body(request, {"sha256"})
    digest = _required(data, "sha256")
    if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
        raise EmulatorError.unprocessable(["sha256 must be 64 hexadecimal digits"])
    state = _state(request)
    with state.lock:
        answer = state.auth.token_check(request.path_params["integrationId"], digest)
    return JSONResponse(answer)


async def token_owner(request: Request) -> Response:
    """Which integration a token belongs to (null: unknown or expired). The api driver
    asks it to keep, of two integrations with one name, the one whose token a sink
    holds; the token is only hashed, never stored or logged."""
    data = await admin_body(request, {"token"})
    value = _required(data, "token")
    state = _state(request)
    with state.lock:
        principal = state.auth.resolve(value)
    owner = None if principal is None else principal.integration_id
    return JSONResponse({"integrationId": owner})


def _clock_json(state: EmulatorState) -> dict[str, Any]:
    return {"now": isoformat(state.clock.now()), "frozen": state.clock.frozen}


async def get_clock(request: Request) -> Response:
    return JSONResponse(_clock_json(_state(request)))


async def post_clock(request: Request) -> Response:
    """Exactly one of ``set`` (ISO time), ``advance`` (seconds) or ``real: true``."""
    data = await admin_body(request, {"set", "advance", "real"})
    if len(data) != 1:
        raise EmulatorError.unprocessable(["give exactly one of set, advance or real"])
    clock = _state(request).clock
    if "set" in data:
        try:
            clock.set(parse_iso(str(data["set"])))
        except ValueError as exc:
            raise EmulatorError.unprocessable(["set must be an ISO 8601 time"]) from exc
    elif "advance" in data:
        seconds = data["advance"]
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            raise EmulatorError.unprocessable(["advance must be a number of seconds"])
        clock.advance(timedelta(seconds=seconds))
    elif data["real"] is True:
        clock.unfreeze()
    else:
        raise EmulatorError.unprocessable(["real must be true"])
    return JSONResponse(_clock_json(_state(request)))


async def get_faults(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        return JSONResponse(state.faults.to_json())


async def put_faults(request: Request) -> Response:
    data = await admin_body(request, {"seed", "rules"})
    rules_data = data.get("rules", [])
    if not isinstance(rules_data, list):
        raise EmulatorError.unprocessable(["rules must be an array"])
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise EmulatorError.unprocessable(["seed must be an integer"])
    rules = [FaultRule.from_json(r, f"rules.{i}") for i, r in enumerate(rules_data)]
    state = _state(request)
    with state.lock:
        state.faults.set(rules, seed)
        return JSONResponse(state.faults.to_json())


async def delete_faults(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        state.faults.clear()
        return JSONResponse(state.faults.to_json())


async def get_limits(request: Request) -> Response:
    return JSONResponse(_state(request).limits.limits.to_json())


async def put_limits(request: Request) -> Response:
    data = await admin_body(request, {"burstMax", "intervalMs", "dailyMax"})
    state = _state(request)
    current = state.limits.limits
    values = {
        "burst_max": data.get("burstMax", current.burst_max),
        "interval_ms": data.get("intervalMs", current.interval_ms),
        "daily_max": data.get("dailyMax", current.daily_max),
    }
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0
        for v in values.values()
    ):
        raise EmulatorError.unprocessable(["limits must be positive integers"])
    with state.lock:
        state.limits.limits = Limits(**values)
        return JSONResponse(state.limits.limits.to_json())


async def reset_counters(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        state.limits.reset()
    return JSONResponse({"succeded": True})


async def get_requests(request: Request) -> Response:
    params = request.query_params
    status_text = params.get("status")
    since_text = params.get("since")
    try:
        status = int(status_text) if status_text is not None else None
        since = parse_iso(since_text) if since_text is not None else None
    except ValueError as exc:
        raise EmulatorError.unprocessable(
            ["status must be an integer and since an ISO 8601 time"]
        ) from exc
    state = _state(request)
    with state.lock:
        entries = state.requests.entries(
            route=params.get("route"), status=status, since=since
        )
        return JSONResponse({"requests": [e.to_json() for e in entries]})


async def clear_requests(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        state.requests.clear()
    return JSONResponse({"succeded": True})


async def get_stats(request: Request) -> Response:
    state = _state(request)
    with state.lock:
        return JSONResponse(state.requests.stats())
