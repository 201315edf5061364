"""The emulator logs a request before the last part of its answer leaves: a client
that has its answer always finds its request in the log (tests that clear the log
after a call never see that call land in it later)."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from hlsync.emulator.app import create_app
from tests.emulator_fixtures import LOCATION_A, VERSION, provisioned_state


def test_the_request_is_in_the_log_before_its_answer_is_complete() -> None:
    p = provisioned_state()
    app = create_app(p.state)
    seen: list[tuple[str, bool, int]] = []
    path = f"/locations/{LOCATION_A}/customValues"
    headers = [
        (b"authorization", f"Bearer {p.location_tokens[LOCATION_A]}".encode()),
        (b"version", VERSION.encode()),
        (b"host", b"emulator"),
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        logged = [e for e in p.state.requests.entries() if e.path == path]
        last = message["type"] == "http.response.body" and not message.get(
            "more_body", False
        )
        seen.append((message["type"], last, len(logged)))

    asyncio.run(app(scope, receive, send))
    assert seen[0] == ("http.response.start", False, 0)
    assert seen[-1] == ("http.response.body", True, 1)
    (entry,) = [e for e in p.state.requests.entries() if e.path == path]
    assert entry.status == 200
