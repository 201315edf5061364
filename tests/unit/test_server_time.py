"""The upstream's time from its ``Date`` header, else the local clock, saying which."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from hlsync.upstream.client import UpstreamClock
from hlsync.upstream.server_time import parse_date, upstream_time

URL = "https://api.example.test"


def _answering(headers: dict[str, str], status: int = 404) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("HEAD", "/")
        assert "authorization" not in request.headers  # it needs no token
        return httpx.Response(status, headers=headers)

    return httpx.MockTransport(handler)


def test_the_date_header_of_any_answer_is_the_upstream_time() -> None:
    transport = _answering({"Date": "Thu, 02 Jan 2031 03:04:05 GMT"})
    got = asyncio.run(upstream_time(URL, transport=transport))
    assert got.at == datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert got.source == "upstream"
    assert got.how == f"the upstream's clock (Date of {URL})"


def test_without_a_readable_date_the_local_clock_is_used_and_said() -> None:
    before = datetime.now(UTC)
    for headers in ({}, {"Date": "yesterday-ish"}):
        got = asyncio.run(upstream_time(URL, transport=_answering(headers, 200)))
        assert got.source == "local" and got.at >= before
        assert got.how == f"this machine's clock: {URL} sent no readable Date header"


def test_an_upstream_that_does_not_answer_falls_back_to_the_local_clock() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    got = asyncio.run(upstream_time(URL, transport=httpx.MockTransport(refuse)))
    assert got.source == "local"
    assert got.how == f"this machine's clock: {URL} did not answer (ConnectError)"


def test_parse_date_and_the_clients_clock_agree() -> None:
    assert parse_date("Thu, 02 Jan 2031 03:04:05 +0100") == datetime(
        2031, 1, 2, 2, 4, 5, tzinfo=UTC
    )
    assert parse_date("Thu, 02 Jan 2031 03:04:05") == datetime(
        2031, 1, 2, 3, 4, 5, tzinfo=UTC
    )  # no zone: taken as UTC
    assert parse_date(None) is None and parse_date("") is None
    clock = UpstreamClock()
    for header in ("Thu, 02 Jan 2031 03:04:05 GMT", "nonsense", None):
        clock.observe(header)
    clock.observe("Wed, 01 Jan 2031 00:00:00 GMT")  # older: the latest stays
    assert clock.now() == datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)
