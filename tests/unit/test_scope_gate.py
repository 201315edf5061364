"""The scope gate (``emulator/scope_gate.py``): every catalog endpoint has an entry and
is served, modelled resources keep their routes, and each unmodelled endpoint answers
as its entry says once the checks pass — an empty list, 404 for an object, 501 for
anything else, above all a valid create — and 422 for a body its schema refuses.
In process (``httpx.ASGITransport``), one request or two per endpoint."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Match

from hlsync.core.catalog import load_catalog
from hlsync.emulator.app import create_app, modelled_routes, route_template
from hlsync.emulator.ratelimit import Limits
from hlsync.emulator.scope_gate import (
    Gate,
    GateRoute,
    gate_routes,
    shapes,
    unmodelled,
)
from hlsync.live.probes import FOREIGN
from tests.emulator_fixtures import COMPANY_ID, LOCATION_A, provisioned_state

GATED = unmodelled(shapes(modelled_routes()))
SAMPLE = {"string": "x", "number": 1, "boolean": True, "strings": ["x"], "array": []}
AT = {"locationId": LOCATION_A, "location_id": LOCATION_A, "altId": LOCATION_A}


def _blank(path: str) -> str:
    return re.sub(r"\{[^}]+\}|:\w+", "{}", path).rstrip("/") or "/"


def test_every_catalog_endpoint_has_one_entry() -> None:
    catalog = load_catalog()
    listed = sorted(
        (s.name, e.method, _blank(e.path)) for s in catalog for e in s.endpoints
    )
    entries = sorted(
        (g.scope, g.method, _blank(g.catalog or g.path))
        for g in gate_routes()
        if g.catalog is not None or g.scope != "objects/schema.write"
    )
    # three catalog rows are filed under funnels/pagecount.readonly; their operations
    # name the write scopes they guard
    moved = {
        ("funnels/pagecount.readonly", "DELETE", "/funnels/lookup/redirect/{}"): (
            "funnels/redirect.write"
        ),
        ("funnels/pagecount.readonly", "PATCH", "/funnels/lookup/redirect/{}"): (
            "funnels/redirect.write"
        ),
        ("funnels/pagecount.readonly", "DELETE", "/medias/{}"): "medias.write",
    }
    assert entries == sorted((moved.get(e, e[0]), *e[1:]) for e in listed)
    (extra,) = [g for g in gate_routes() if g.scope == "objects/schema.write"]
    assert extra.template == "PUT /objects/{key}"  # the catalog lists none
    for gate in gate_routes():
        scope = catalog.get(gate.scope)
        assert scope is not None and set(gate.levels) <= set(scope.access)


def _sample(path: str) -> str:
    return path.replace("{locationId}", LOCATION_A).replace("{companyId}", COMPANY_ID)


def _concrete(gate: GateRoute) -> str:
    parts = [
        "sample"
        if p.startswith("{") and p not in ("{locationId}", "{companyId}")
        else p
        for p in gate.path.split("/")
    ]
    return _sample("/".join(parts))


def test_each_gated_endpoint_reaches_its_own_route() -> None:
    """No modelled route and no other gate route takes a gated endpoint's request."""
    routes = create_app().router.routes
    for gate in GATED:
        scope = {
            "type": "http",
            "method": gate.method,
            "path": _concrete(gate),
            "root_path": "",
        }
        assert route_template(routes, scope) == gate.template


def test_the_gate_compiles_its_routes_only_for_a_request_that_reaches_it() -> None:
    """An app answers its modelled and admin routes without the gate's ~400
    patterns (every ``hlsync`` run on the sandbox opens one); a gated request builds
    them once and is served."""
    app = create_app()
    (gate,) = [route for route in app.router.routes if isinstance(route, Gate)]

    def scope(method: str, path: str) -> dict[str, Any]:
        return {"type": "http", "method": method, "path": path, "root_path": ""}

    assert route_template(app.router.routes, scope("GET", "/contacts/abc"))
    assert gate.matches(scope("GET", "/_emulator/locations"))[0] == Match.NONE
    assert gate._routes is None
    match, _ = gate.matches(scope("GET", "/blogs/authors"))
    assert match == Match.FULL and gate._routes is not None
    assert route_template(app.router.routes, scope("GET", "/blogs/authors")) == (
        "GET /blogs/authors"
    )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Starlette, dict[str, str]]]:
    provisioned = provisioned_state(limits=Limits(burst_max=1_000_000))
    tokens = {
        "agency": provisioned.agency_token,
        "sub-account": provisioned.location_tokens[LOCATION_A],
    }
    yield create_app(provisioned.state), tokens


def _valid_body(gate: GateRoute) -> dict[str, Any] | None:
    if gate.body is None:
        return None
    body: dict[str, Any] = {}
    for name, prop in gate.body.items():
        if not prop.required:
            continue
        if name in AT or name == "companyId":
            body[name] = COMPANY_ID if name == "companyId" else LOCATION_A
        else:
            body[name] = prop.enum[0] if prop.enum else SAMPLE.get(prop.kind, {})
    return body


def _send(
    app: Starlette, token: str, gate: GateRoute, body: dict[str, Any] | None
) -> httpx.Response:
    query = {
        name: AT.get(name, COMPANY_ID if name == "companyId" else "1")
        for name in gate.query
    }
    version = "v3" if "v3" in gate.versions else sorted(gate.versions)[0]

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as c:
            return await c.request(
                gate.method,
                _concrete(gate),
                params=query,
                json=body,
                headers={"Authorization": f"Bearer {token}", "Version": version},
            )

    return asyncio.run(go())


@pytest.mark.parametrize("gate", GATED, ids=lambda g: g.template)
def test_a_gated_endpoint_answers_as_its_entry_says(
    served: tuple[Starlette, dict[str, str]], gate: GateRoute
) -> None:
    app, tokens = served
    token = tokens["sub-account" if "sub-account" in gate.levels else "agency"]
    answer = _send(app, token, gate, _valid_body(gate))
    if gate.answer == "list":
        assert answer.status_code == gate.status, answer.text
        got = answer.json()
        expected = gate.empty
        if isinstance(expected, dict) and "traceId" in expected:
            assert got["traceId"] not in ("", expected["traceId"])
            expected = {**expected, "traceId": got["traceId"]}
        assert got == expected
    elif gate.answer == "missing":
        assert answer.status_code == 404, answer.text
        assert answer.json()["message"] == f"{gate.object} sample not found"
    else:
        assert answer.status_code == 501, answer.text
        assert answer.json()["error"] == "Not Implemented"
    if gate.body:
        refused = _send(app, token, gate, {**(_valid_body(gate) or {}), FOREIGN: 1})
        assert refused.status_code == 422, refused.text
        assert refused.json()["message"] == [f"property {FOREIGN} should not exist"]


def test_a_gated_route_takes_the_version_its_operation_declares(
    served: tuple[Starlette, dict[str, str]],
) -> None:
    app, tokens = served
    (calendars,) = [g for g in GATED if g.template == "GET /calendars"]
    assert calendars.versions == {"2021-04-15", "v3"}

    async def go(version: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as c:
            return await c.get(
                "/calendars",
                params={"locationId": LOCATION_A},
                headers={
                    "Authorization": f"Bearer {tokens['sub-account']}",
                    "Version": version,
                },
            )

    assert asyncio.run(go("2021-04-15")).json() == {"calendars": []}
    refused = asyncio.run(go("2021-07-28"))
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        "Version header value '2021-07-28' is not supported"
    )
