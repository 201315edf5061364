"""Small request/response helpers shared by the upstream route modules.

They keep the handlers in ``resources/`` to the upstream behaviour itself: reading the
state, the API version, a JSON body (400 on malformed JSON, as upstream's body parser
answers), query integers (422 when not numeric), the ``succeded``/``succeeded`` flag pair
of v2/v3, and a route table turned into routes that answer with and without a trailing
slash, as upstream does. ``admin_body`` reads the body of an admin route.

``EmulatorState`` is imported for typing only: the item store (``items``) loads its
kinds' rules from the resource modules, which import this one, and ``state`` imports the
store.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hlsync.emulator.auth import require
from hlsync.emulator.errors import EmulatorError

if TYPE_CHECKING:
    from hlsync.emulator.state import EmulatorState

Handler = Callable[[Request], Awaitable[JSONResponse]]
RouteTable = Iterable[tuple[str, Handler, tuple[str, ...]]]


def state_of(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def is_v3(request: Request) -> bool:
    """True for ``Version: v3`` (the middleware leaves the value in the request)."""
    version = getattr(request.state, "api_version", None) or request.headers.get(
        "version"
    )
    return bool(version == "v3")


async def json_body(request: Request) -> Any:
    """The parsed body; ``{}`` when empty; 400 when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EmulatorError.bad_request(
            f"Unexpected token in JSON at position {getattr(exc, 'pos', 0)}",
            error="Bad Request",
        ) from exc


async def location_body(request: Request, scope: str) -> Any:
    """The JSON body, once the token is allowed ``scope`` on the body's ``locationId``
    (authorisation comes before body validation)."""
    body = await json_body(request)
    require(request, scope, location_id=body_text(body, "locationId"))
    return body


async def admin_body(
    request: Request, allowed: Collection[str] | None = None
) -> dict[str, Any]:
    """The JSON object body of an admin request (``{}`` when empty): 400 when it is not
    JSON, 422 when it is not an object or holds a property not in ``allowed``."""
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise EmulatorError.bad_request("request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise EmulatorError.unprocessable(["request body must be a JSON object"])
    unknown = [] if allowed is None else sorted(set(data) - set(allowed))
    if unknown:
        raise EmulatorError.unprocessable(
            [f"property {k} should not exist" for k in unknown]
        )
    return data


def text(value: Any) -> str | None:
    """``value`` if it is a non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None


def body_text(body: Any, key: str) -> str | None:
    """``body[key]`` as :func:`text` when ``body`` is an object."""
    return text(body.get(key)) if isinstance(body, dict) else None


def ok(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def succeeded(request: Request) -> dict[str, bool]:
    """``{"succeded": true}`` (sic); v3 adds the corrected ``succeeded``."""
    if is_v3(request):
        return {"succeded": True, "succeeded": True}
    return {"succeded": True}


def trace_id() -> str:
    return str(uuid.uuid4())


def int_param(
    raw: str | None, default: int | None, name: str, problems: list[str]
) -> int | None:
    """A query parameter as an integer; a non-number adds a 422 message."""
    if raw is None or raw == "":
        return default
    try:
        return int(float(raw))
    except ValueError:
        problems.append(
            f"{name} must be a number conforming to the specified constraints"
        )
        return default


def routes_for(table: RouteTable) -> list[Route]:
    """A ``(path template, handler, methods)`` table as routes, each path with and
    without its trailing slash (upstream answers both).

    The templates (``/contacts/{contactId}``) are what fault rules and the request log
    name.
    """
    routes: list[Route] = []
    for path, handler, methods in table:
        bare = path.rstrip("/") or "/"
        routes.append(Route(bare, handler, methods=list(methods)))
        routes.append(Route(bare + "/", handler, methods=list(methods)))
    return routes
