"""Small request/response helpers shared by the upstream route modules.

They keep the handlers in ``upstream`` and ``location_routes`` to the upstream behaviour
itself: reading the state, the API version, a JSON body (400 on malformed JSON, as
upstream's body parser answers), query integers (422 when not numeric) and the
``succeded``/``succeeded`` flag pair of v2/v3.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.state import EmulatorState


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
