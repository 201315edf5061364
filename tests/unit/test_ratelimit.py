"""Rate limits: the counters alone, then through the app middleware (ASGITransport)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hlsync.emulator.app import create_app
from hlsync.emulator.auth import require
from hlsync.emulator.clock import Clock
from hlsync.emulator.ratelimit import Limits, RateLimiter
from tests.emulator_fixtures import COMPANY_ID, LOCATION_A, VERSION, provisioned_state

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HEADERS = (
    "x-ratelimit-limit-daily",
    "x-ratelimit-daily-remaining",
    "x-ratelimit-interval-milliseconds",
    "x-ratelimit-max",
    "x-ratelimit-remaining",
)


def test_burst_window_allows_max_then_refuses_then_reopens() -> None:
    clock = Clock(T0)
    limiter = RateLimiter(clock, Limits(burst_max=3, interval_ms=1000, daily_max=100))
    decisions = [limiter.check("pi", "loc") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.burst_remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].daily_remaining == 97  # the refused request is not counted
    clock.advance(timedelta(milliseconds=999))
    assert not limiter.check("pi", "loc").allowed
    clock.advance(timedelta(milliseconds=1))
    assert limiter.check("pi", "loc").burst_remaining == 2


def test_burst_per_integration_daily_shared_per_location() -> None:
    clock = Clock(T0)
    limiter = RateLimiter(clock, Limits(burst_max=2, interval_ms=1000, daily_max=5))
    assert limiter.check("one", "loc").allowed
    assert limiter.check("one", "loc").allowed
    assert not limiter.check("one", "loc").allowed
    second = limiter.check("two", "loc")
    assert second.allowed and second.burst_remaining == 1
    assert second.daily_remaining == 2
    assert limiter.check("two", "other-loc").daily_remaining == 4
    clock.advance(timedelta(seconds=2))
    assert limiter.check("one", "loc").daily_remaining == 1
    assert limiter.check("two", "loc").daily_remaining == 0
    refused = limiter.check("three", "loc")
    assert not refused.allowed and refused.burst_remaining == 2
    clock.set(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    assert limiter.check("three", "loc").daily_remaining == 4


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Limits(burst_max=0)


async def _probe(request: Request) -> Response:
    principal = require(
        request, "contacts.readonly", location_id=request.path_params["locationId"]
    )
    return JSONResponse({"integration": principal.integration_id})


def _auth(token: str, version: str | None = VERSION) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if version is not None:
        headers["Version"] = version
    return headers


def test_middleware_missing_or_unknown_token_is_invalid_jwt() -> None:
    p = provisioned_state(clock=Clock(T0))
    app = create_app(p.state)
    app.router.routes.append(Route("/probe/{locationId}", _probe))
    path = f"/probe/{LOCATION_A}"
    unknown = _auth("pit-00000000-0000-0000-0000-000000000000")
    for headers in ({"Version": VERSION}, unknown, {"Authorization": "Basic x"}):
        response = asyncio.run(_fetch(app, path, headers))
        assert response.status_code == 401
        assert response.json() == {"statusCode": 401, "message": "Invalid JWT"}
        assert "x-ratelimit-max" not in response.headers
    assert p.state.requests.stats()["byStatus"] == {"401": 3}


def test_middleware_counts_and_refuses_with_headers() -> None:
    p = provisioned_state(clock=Clock(T0))
    state = p.state
    app = create_app(state)
    app.router.routes.append(Route("/probe/{locationId}", _probe))
    state.limits.limits = Limits(burst_max=3, interval_ms=10_000, daily_max=1000)
    token = p.location_tokens[LOCATION_A]
    path = f"/probe/{LOCATION_A}"

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as c:
            calls = [await c.get(path, headers=_auth(token)) for _ in range(4)]
            calls.append(await c.get(path, headers=_auth(token, None)))
            calls.append(await c.get(path, headers=_auth(token, "2099-01-01")))
            calls.append(await c.get(path, headers=_auth(p.agency_token)))
            return calls

    responses = asyncio.run(go())
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429, 429, 401]
    for response in responses:
        assert all(name in response.headers for name in HEADERS)
    assert [r.headers["x-ratelimit-remaining"] for r in responses[:4]] == [
        "2",
        "1",
        "0",
        "0",
    ]
    assert responses[3].json() == {"statusCode": 429, "message": "Too Many Requests"}
    assert responses[0].headers["x-ratelimit-limit-daily"] == "1000"
    assert responses[0].headers["x-ratelimit-interval-milliseconds"] == "10000"
    assert responses[2].headers["x-ratelimit-daily-remaining"] == "997"
    agency = responses[6]
    assert agency.json()["message"] == "The token is not authorized for this scope."
    assert agency.headers["x-ratelimit-remaining"] == "2"  # the company's own window

    state.clock.advance(timedelta(seconds=10))
    later = asyncio.run(_fetch(app, path, _auth(token, None)))
    assert later.status_code == 400
    assert later.json() == {
        "statusCode": 400,
        "message": "Version header is missing",
        "error": "Bad Request",
    }
    bad = asyncio.run(_fetch(app, path, _auth(token, "2021-04-15")))
    assert bad.status_code == 400
    assert "2021-04-15" in bad.json()["message"]
    assert bad.headers["x-ratelimit-remaining"] == "1"
    v3 = asyncio.run(_fetch(app, path, _auth(token, "v3")))
    assert v3.status_code == 200
    assert COMPANY_ID in state.auth.agencies


async def _fetch(app: object, path: str, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://emu") as c:
        return await c.get(path, headers=headers)
