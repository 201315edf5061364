"""hlsync against a hostile upstream (``tests/hostile_upstream.py``): malformed JSON, an
HTML 502, a 30 MB body, a 90 s stall and a redirect to another host each fail fast with
a clean error naming the request, within the time budget, and never with the token.

The first half drives :class:`ApiClient` over a real ``httpx.AsyncClient`` and over the
client hlsync runs with (``upstream_client``: its own HTTP/1.1 transport); the second
runs the installed ``hlsync plan`` against ``target: {url: ...}`` with ``--timeout 2``.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from hlsync.upstream.bounds import Bounds
from hlsync.upstream.client import AmbiguousWriteError, ApiClient, ApiError, RetryPolicy
from hlsync.upstream.http_client import upstream_client
from tests.hostile_upstream import STALL_SECONDS, Behaviour, Hostile, hostile_upstream
from tests.integration.e2e_support import run_hlsync

pytestmark = pytest.mark.integration

TOKEN = "pit-hostile-1111-2222-3333-444444444444"
FIELDS = "GET /locations/loc-1/customFields"
QUICK_RETRIES = RetryPolicy(base_delay=0.01, max_delay=0.05)


@pytest.fixture(params=["httpx", "upstream"])
def client(request: pytest.FixtureRequest) -> Callable[[str], httpx.AsyncClient]:
    """httpx's own client, or the one hlsync runs with (``upstream_client``: its
    HTTP/1.1 transport)."""
    if request.param == "httpx":
        return lambda url: httpx.AsyncClient(base_url=url)
    return lambda url: upstream_client(url, httpx.Timeout(60.0))


def fail(
    hostile: Hostile,
    client: Callable[[str], httpx.AsyncClient],
    *,
    budget: float = 5.0,
    create: bool = False,
) -> tuple[ApiError, float]:
    """The error of one call against ``hostile`` and the seconds it took."""

    async def call() -> None:
        async with client(hostile.url) as http:
            api = ApiClient(http, retry=QUICK_RETRIES, bounds=Bounds(budget=budget))
            location = api.location("loc-1", TOKEN)
            if create:
                await location.create_custom_field({"name": "Visits"})
            else:
                await location.list_custom_fields()

    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        asyncio.run(call())
    error = caught.value
    assert TOKEN not in str(error) and TOKEN not in repr(error)
    return error, time.monotonic() - started


def test_malformed_json_names_the_request_and_quotes_the_body(
    client: Callable[[str], httpx.AsyncClient],
) -> None:
    with hostile_upstream(Behaviour.MALFORMED) as hostile:
        error, took = fail(hostile, client)
    assert str(error).splitlines()[0] == (
        f"{FIELDS} -> 200: the answer is not JSON "
        '(application/json: {"customFields": [{"id":)'
    )
    assert took < 2


def test_an_html_502_is_its_content_type_and_300_characters_without_the_token(
    client: Callable[[str], httpx.AsyncClient],
) -> None:
    with hostile_upstream(Behaviour.HTML_502) as hostile:
        error, took = fail(hostile, client)
        attempts = len(hostile.seen)
    message = str(error).splitlines()[0]
    prefix = f"{FIELDS} -> 502: text/html: "
    assert message.startswith(
        prefix + "<!DOCTYPE html> <html> <head> <title>502 Bad Gateway</title> "
        "</head> <body> <h1>502 Bad Gateway</h1> <p>request header: Bearer ***</p>"
    )
    assert message.endswith("…") and len(message) - len(prefix) <= 300
    assert error.status == 502 and attempts == 5
    assert took < 3


def test_a_30_mb_body_stops_at_the_cap_without_reading_it_whole(
    client: Callable[[str], httpx.AsyncClient],
) -> None:
    with hostile_upstream(Behaviour.HUGE) as hostile:
        tracemalloc.start()
        try:
            error, took = fail(hostile, client)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert str(error).splitlines()[0] == (
        f"{FIELDS} -> 200: the answer is larger than 16 MiB; hlsync stopped reading it"
    )
    assert peak < 24 * 1024 * 1024  # the 16 MiB cap and a chunk, not 30 MB
    assert took < 5


def test_a_stall_ends_at_the_budget_not_after_90_seconds(
    client: Callable[[str], httpx.AsyncClient],
) -> None:
    with hostile_upstream(Behaviour.STALL) as hostile:
        error, took = fail(hostile, client, budget=1.0)
    assert str(error).splitlines()[0] == (
        f"{FIELDS} -> no answer within the 1 s time budget (waited 1.0 s, 1 attempt)"
    )
    assert error.status is None
    assert "--timeout SECONDS" in error.hints[0]
    assert 0.9 < took < 2.5


def test_a_stalled_create_is_ambiguous_and_ends_at_the_budget(
    client: Callable[[str], httpx.AsyncClient],
) -> None:
    with hostile_upstream(Behaviour.STALL) as hostile:
        error, took = fail(hostile, client, budget=1.0, create=True)
    assert isinstance(error, AmbiguousWriteError)
    assert str(error).startswith(
        "POST /locations/loc-1/customFields -> no answer within the 1 s time budget"
    )
    assert took < 2.5


def test_a_redirect_to_another_host_is_not_followed_and_gets_no_token(
    client: Callable[[str], httpx.AsyncClient],
) -> None:
    with hostile_upstream(Behaviour.REDIRECT) as hostile:
        error, took = fail(hostile, client)
        other_seen = hostile.other_seen
        other_url = hostile.other_url
    assert str(error).splitlines()[0] == (
        f"{FIELDS} -> 302: redirected to {other_url}/locations/loc-1/customFields, "
        "not followed"
    )
    assert "never follows a redirect" in error.hints[0]
    assert other_seen == []  # not even a request without the header
    assert took < 2


# --- through the installed command -------------------------------------------------

CONFIG = """\
version: 1
target: {{url: "{url}"}}
locations:
  main:
    id: loc-1
    token: {{env: HOSTILE_TOKEN}}
    tags: [vip]
"""


@pytest.mark.parametrize(
    ("behaviour", "first_line"),
    [
        (
            Behaviour.STALL,
            "-> no answer within the 2 s time budget (waited 2.0 s, 1 attempt)",
        ),
        (Behaviour.MALFORMED, "-> 200: the answer is not JSON (application/json: "),
        (Behaviour.HUGE, "-> 200: the answer is larger than 16 MiB"),
        (Behaviour.REDIRECT, "-> 302: redirected to http://127.0.0.1:"),
    ],
    ids=lambda value: value.name if isinstance(value, Behaviour) else "",
)
def test_hlsync_plan_fails_in_one_clean_line(
    tmp_path: Path, behaviour: Behaviour, first_line: str
) -> None:
    with hostile_upstream(behaviour) as hostile:
        (tmp_path / "hlsync.yaml").write_text(CONFIG.format(url=hostile.url))
        started = time.monotonic()
        done = run_hlsync(
            "plan",
            "--timeout",
            "2",
            cwd=tmp_path,
            env={"HOSTILE_TOKEN": TOKEN},
            timeout=60,
        )
        took = time.monotonic() - started
        other_seen = hostile.other_seen
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    error, *rest = done.stderr.splitlines()
    # the first request: which integration holds the location's own token (the
    # emulator's admin API), before any read
    assert error.startswith("error: POST /_emulator/token-owner "), error
    assert first_line in error, error
    assert all(line.startswith("  hint: ") for line in rest), done.stderr
    assert "Traceback" not in done.stderr
    assert TOKEN not in done.stderr
    assert other_seen == []
    # The budget is 2 s (the message says how long hlsync waited); the wall time adds
    # starting Python on a machine that may be loaded. Far below the 90 s stall.
    assert took < STALL_SECONDS / 2
