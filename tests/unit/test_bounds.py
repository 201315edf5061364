"""hlsync.upstream.bounds: timeouts within the budget, the capped read, quoted text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from hlsync.upstream.bounds import (
    Answer,
    BodyTooLarge,
    Bounds,
    Stopwatch,
    clip,
    read_answer,
    size_text,
)

SMALL = Bounds(max_body=100, max_error_body=10)


class Chunks(httpx.AsyncByteStream):
    """A body arriving in chunks; counts how many were pulled."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk


def read(status: int, stream: Chunks, headers: dict[str, str] | None = None) -> Answer:
    response = httpx.Response(status, headers=headers, stream=stream)
    return asyncio.run(read_answer(response, SMALL))


@pytest.mark.parametrize("budget", [0.0, -1.0, float("inf"), float("nan")])
def test_a_budget_is_a_positive_finite_number(budget: float) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        Bounds(budget=budget)


def test_timeouts_never_exceed_what_is_left() -> None:
    bounds = Bounds()
    assert bounds.timeout(60.0) == httpx.Timeout(
        connect=10.0, read=30.0, write=30.0, pool=60.0
    )
    assert bounds.timeout(4.0) == httpx.Timeout(
        connect=4.0, read=4.0, write=4.0, pool=4.0
    )
    assert bounds.timeout(-1.0).read == 0.001  # never "no timeout"


def test_cut_short_tells_the_budget_from_a_plain_timeout() -> None:
    bounds = Bounds()
    assert bounds.cut_short(TimeoutError(), 50.0)
    assert bounds.cut_short(httpx.ReadTimeout("t"), 12.0)
    assert not bounds.cut_short(httpx.ReadTimeout("t"), 45.0)
    assert bounds.cut_short(httpx.ConnectTimeout("t"), 5.0)
    assert not bounds.cut_short(httpx.ConnectTimeout("t"), 20.0)
    assert not bounds.cut_short(httpx.ConnectError("refused"), 1.0)


def test_the_stopwatch_counts_running_time_and_backoff() -> None:
    now = [100.0]
    watch = Stopwatch(10.0, clock=lambda: now[0])
    watch.start()
    now[0] = 103.0
    assert watch.left == 7.0
    watch.stop()
    now[0] = 200.0  # time outside start/stop (pacer waits) is not counted
    watch.add(2.0)
    assert watch.spent == 5.0 and watch.left == 5.0


def test_a_body_within_the_cap_is_read_whole() -> None:
    answer = read(200, Chunks(b'{"a":', b" 1}"), {"content-type": "application/json"})
    assert answer.content == b'{"a": 1}' and answer.complete and answer.ok
    assert answer.content_type == "application/json"


def test_a_2xx_body_past_the_cap_stops_the_read_at_the_cap() -> None:
    stream = Chunks(b"x" * 60, b"x" * 60, b"x" * 60, b"x" * 60)
    with pytest.raises(BodyTooLarge) as caught:
        read(200, stream)
    assert caught.value.cap == 100 and caught.value.status == 200
    assert stream.pulled == 2  # the rest is never pulled


def test_a_declared_length_past_the_cap_reads_nothing() -> None:
    stream = Chunks(b"x" * 60)
    with pytest.raises(BodyTooLarge):
        read(200, stream, {"content-length": "30000000"})
    assert stream.pulled == 0


def test_an_error_body_is_cut_at_its_own_cap_and_marked_incomplete() -> None:
    stream = Chunks(b"<html>", b"<body>502</body>", b"</html>")
    answer = read(502, stream, {"content-type": "text/html; charset=utf-8"})
    assert answer.content == b"<html><bod" and not answer.complete
    assert answer.content_type == "text/html" and stream.pulled == 2
    assert answer.reason == "Bad Gateway"


def test_clip_collapses_whitespace_and_cuts_at_the_limit() -> None:
    assert clip("  a\n\n  b\tc  ") == "a b c"
    long = clip("word " * 200)
    assert len(long) == 300 and long.endswith("…")
    assert clip("abcdef", 4) == "abc…"


def test_size_text() -> None:
    assert size_text(16 * 1024 * 1024) == "16 MiB"
    assert size_text(64 * 1024) == "64 KiB"
    assert size_text(1000) == "1000 bytes"
