"""The emulator's ASGI app: upstream routes, ``/_emulator/`` admin routes, middleware.

``create_app(state)`` returns a Starlette app whose ``app.state.emulator`` is the
:class:`EmulatorState` (swap it to reset a running server). One pure-ASGI middleware does,
for every upstream request, in this order:

1. resolve ``Authorization: Bearer <token>`` into ``request.state.principal``; missing,
   unknown or expired → 401 ``{"statusCode": 401, "message": "Invalid JWT"}``;
2. rate limits: count against the integration's burst window and the location's daily
   budget; over either → 429 ``{"statusCode": 429, "message": "Too Many Requests"}``;
3. the ``Version`` header: ``2021-07-28`` and ``v3`` pass (the value is left in
   ``request.state.api_version``; a route of the scope gate accepts what its
   operation declares, ``scope_gate.versions``); a missing one → 400 ``{"statusCode":
   400, "message": "Version header is missing", "error": "Bad Request"}``, any other
   value → 400 ``"Version header value '<v>' is not supported"``. Upstream does not
   document this; the reference (§1, §10) recommends rejecting;
4. faults (latency, injected 5xx, fail-after-commit);
5. the handler; the persistence is committed once, before the response leaves;
6. the request log.

Every upstream response with a known principal (401 scope, 403, 429 included) carries the
five ``X-RateLimit-*`` headers. Every response (admin ones too) carries a ``Date`` header
read from the emulator's clock, as upstream's carries its own: clients take "now" from it
(token rotation is decided on the upstream's clock), so advancing the clock moves it. Admin routes get none of this (no auth, no faults, no
log); they are served on loopback only. Unknown paths answer upstream-style JSON 404s.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from email.utils import format_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hlsync.emulator import scope_gate
from hlsync.emulator.admin import admin_routes
from hlsync.emulator.auth import INVALID_JWT, Principal
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.ratelimit import TOO_MANY_REQUESTS, Decision
from hlsync.emulator.resources import (
    business_contacts,
    contact_records,
    contact_search,
    contact_tags,
    contacts,
    custom_fields,
    custom_values,
    locations,
    tags,
)
from hlsync.emulator.state import EmulatorState

VERSIONS = frozenset({"2021-07-28", "v3"})
ADMIN_PREFIX = "/_emulator"


# The static registry of emulated upstream resources: each module's ``routes``. A module
# in ``resources/`` missing here fails tests/unit/test_emulator_resources.py.
RESOURCES: tuple[Callable[[], list[Route]], ...] = (
    contacts.routes,
    contact_search.routes,
    contact_tags.routes,
    contact_records.routes,
    business_contacts.routes,
    locations.routes,
    tags.routes,
    custom_fields.routes,
    custom_values.routes,
)


def modelled_routes() -> list[Route]:
    """The routes of the resource modules (:data:`RESOURCES`), in registry order."""
    return [route for resource in RESOURCES for route in resource()]


def upstream_routes() -> list[BaseRoute]:
    """Every HighLevel route the emulator serves: :data:`RESOURCES`, then the scope
    gate (``scope_gate``) for every catalog endpoint they do not model.

    Most specific first: at each path segment a literal sorts before a parameter, so
    ``/contacts/search`` is tried before ``/contacts/{contactId}`` whatever the order of
    the registry (a stable sort keeps the registry's order otherwise).
    """
    modelled = modelled_routes()
    return [*sorted(modelled, key=scope_gate.specificity), scope_gate.Gate(modelled)]


class ConnectionDropped(Exception):
    """Raised by the fail-after-commit "drop" fault so the server closes the socket."""


def create_app(state: EmulatorState | None = None) -> Starlette:
    """The emulator app over ``state`` (a fresh in-memory one when omitted)."""
    app = Starlette(
        routes=[*upstream_routes(), *admin_routes()],
        middleware=[Middleware(EmulatorMiddleware)],
        exception_handlers={
            EmulatorError: _render_emulator_error,
            HTTPException: _render_http_error,
        },
    )
    app.state.emulator = state if state is not None else EmulatorState.in_memory()
    return app


async def _render_emulator_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, EmulatorError):
        raise exc
    return JSONResponse(exc.body, status_code=exc.status)


async def _render_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's 404/405 in the NestJS shape upstream's gateway uses."""
    if not isinstance(exc, HTTPException):
        raise exc
    if exc.status_code in (404, 405):
        message = f"Cannot {request.method} {request.url.path}"
        body = {"statusCode": 404, "message": message, "error": "Not Found"}
        return JSONResponse(body, status_code=404)
    body = {"statusCode": exc.status_code, "message": exc.detail}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    """``"METHOD /path/{param}"`` of the route serving ``scope``, or None."""
    partial: str | None = None
    for route in routes:
        match, child = route.matches(scope)
        if match == Match.NONE:
            continue
        if isinstance(route, scope_gate.Gate):
            inner = route_template(route.routes, scope)
            if inner is not None:
                return inner
            continue
        if isinstance(route, Mount):
            inner = route_template(route.routes, {**scope, **child})
            if inner is not None:
                method, _, path = inner.partition(" ")
                return f"{method} {route.path}{path}"
            continue
        if isinstance(route, Route):
            template = f"{scope['method']} {route.path}"
            if match == Match.FULL:
                return template
            partial = partial or template
    return partial


async def send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class EmulatorMiddleware:
    """Auth, rate limits, Version, faults, commit and log; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: EmulatorState = scope["app"].state.emulator
        send = _dated(send, state)
        if scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, _committing(send, state, []))
            return
        started = time.perf_counter()
        route = route_template(scope["app"].router.routes, scope)

        def record(outcome: _Outcome) -> None:
            principal = outcome.principal
            with state.lock:
                state.requests.record(
                    time=state.clock.now(),
                    method=scope["method"],
                    path=scope["path"],
                    route=route,
                    status=outcome.status,
                    integration_id=principal.integration_id if principal else None,
                    token_id=principal.token_id if principal else None,
                    location_id=principal.location_id if principal else None,
                    duration_ms=(time.perf_counter() - started) * 1000.0,
                )

        outcome = _Outcome(record)
        try:
            await self._upstream(scope, receive, send, state, route, outcome)
        finally:
            outcome.done()

    async def _upstream(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        state: EmulatorState,
        route: str | None,
        outcome: _Outcome,
    ) -> None:
        send = outcome.watch(send)
        if route is None:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        principal = _resolve(state, headers.get("authorization", ""))
        if principal is None:
            await send_json(send, 401, dict(INVALID_JWT))
            return
        outcome.principal = principal
        with state.lock:
            decision = state.limits.check(
                principal.integration_id, principal.resource_id
            )
        extra = decision.headers()
        if not decision.allowed:
            await send_json(send, 429, dict(TOO_MANY_REQUESTS), extra)
            return
        version = headers.get("version")
        if version not in (scope_gate.versions(route) or VERSIONS):
            await send_json(send, 400, _version_error(version), extra)
            return
        scope.setdefault("state", {})
        scope["state"]["principal"] = principal
        scope["state"]["api_version"] = version
        with state.lock:
            plan = state.faults.plan(route)
        if plan.latency_s > 0:
            await asyncio.sleep(plan.latency_s)
        if plan.error_status is not None:
            body = {"statusCode": plan.error_status, "message": "Injected fault"}
            await send_json(send, plan.error_status, body, extra)
            return
        if plan.fail_after_commit is None:
            await self.app(scope, receive, _committing(send, state, extra))
            return
        await self._fail_after_commit(
            scope, receive, send, state, decision, plan.fail_after_commit, outcome
        )

    async def _fail_after_commit(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        state: EmulatorState,
        decision: Decision,
        mode: str,
        outcome: _Outcome,
    ) -> None:
        """Run the handler, commit its write, then answer 502 or drop the connection.

        A handler that failed (status >= 400) wrote nothing, so its answer goes out as is.
        A dropped connection is logged with status 0 (no complete response).
        """
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        state.commit()
        extra = decision.headers()
        status = held[0]["status"] if held else 500
        if status >= 400:
            replay = _committing(send, state, extra)
            for message in held:
                await replay(message)
            return
        if mode == "drop":
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-length", b"4096"), *extra],
                }
            )
            outcome.status = 0
            raise ConnectionDropped("fault injection: connection dropped after commit")
        body = {"statusCode": 502, "message": "Bad Gateway"}
        await send_json(send, 502, body, extra)


class _Outcome:
    """What the log needs to know about a request, and the moment to log it: before
    the last part of the answer leaves (a client that has its answer finds its request
    in the log), or when the request ends without one."""

    def __init__(self, record: Callable[[_Outcome], None]) -> None:
        self.status = 500
        self.principal: Principal | None = None
        self._record: Callable[[_Outcome], None] | None = record

    def done(self) -> None:
        """Log the request, once."""
        record, self._record = self._record, None
        if record is not None:
            record(self)

    def watch(self, send: Send) -> Send:
        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            elif message["type"] == "http.response.body" and not message.get(
                "more_body", False
            ):
                self.done()
            await send(message)

        return watched


def _dated(send: Send, state: EmulatorState) -> Send:
    """Add ``Date`` (RFC 9110 IMF-fixdate) from the emulator's clock to the response."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            date = format_datetime(state.clock.now(), usegmt=True).encode("latin-1")
            kept = [h for h in message.get("headers", ()) if h[0].lower() != b"date"]
            message = {**message, "headers": [*kept, (b"date", date)]}
        await send(message)

    return wrapped


def _committing(
    send: Send, state: EmulatorState, extra: Sequence[tuple[bytes, bytes]]
) -> Send:
    """Commit the persistence as the response starts, and add ``extra`` headers."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            state.commit()
            if extra:
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return wrapped


def _headers(scope: Scope) -> dict[str, str]:
    return {
        key.decode("latin-1").lower(): value.decode("latin-1")
        for key, value in scope["headers"]
    }


def _resolve(state: EmulatorState, authorization: str) -> Principal | None:
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    with state.lock:
        return state.auth.resolve(token)


def _version_error(version: str | None) -> dict[str, Any]:
    if version is None:
        message = "Version header is missing"
    else:
        message = f"Version header value '{version[:40]}' is not supported"
    return {"statusCode": 400, "message": message, "error": "Bad Request"}
