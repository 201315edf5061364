"""Pacing by X-RateLimit-* headers: the pure budget, then a simulated server in
virtual time (no real waiting)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from hlsync.upstream.pacing import (
    Budget,
    DailyLimitError,
    Pacer,
    RateLimitHeaders,
    pace_key,
)


def headers(
    max_: int = 5, remaining: int = 4, interval_ms: int = 10_000, daily: int = 1000
) -> RateLimitHeaders:
    return RateLimitHeaders(
        max=max_,
        remaining=remaining,
        interval_ms=interval_ms,
        daily_limit=200_000,
        daily_remaining=daily,
    )


def test_parse_headers_case_insensitively_and_tolerates_garbage() -> None:
    import httpx

    parsed = RateLimitHeaders.parse(
        httpx.Headers(
            {
                "X-RateLimit-Max": "100",
                "x-ratelimit-remaining": " 7 ",
                "X-RateLimit-Interval-Milliseconds": "10000",
                "X-RateLimit-Limit-Daily": "oops",
            }
        )
    )
    assert parsed == RateLimitHeaders(100, 7, 10_000, None, None)


def test_pace_key_hides_the_token() -> None:
    key = pace_key("pit-secret-value", "loc1")
    assert "secret" not in key and key.endswith(":loc1")
    assert pace_key("pit-other", "loc1") != key


def test_only_one_request_before_the_limits_are_known() -> None:
    budget = Budget(max_in_flight=8)
    assert budget.delay(0.0) == 0.0
    sent = budget.start(0.0)
    assert budget.delay(0.0) is None  # wait for the probe's answer
    budget.finish(0.1, sent, headers(remaining=4), 200)
    assert budget.delay(0.1) == 0.0
    assert budget.window_max == 5 and budget.interval == 10.0


def test_in_flight_cap_after_probe() -> None:
    budget = Budget(max_in_flight=2)
    budget.finish(0.0, budget.start(0.0), headers(max_=100, remaining=99), 200)
    budget.start(0.0)
    budget.start(0.0)
    assert budget.delay(0.0) is None


def test_never_starts_beyond_the_window_and_waits_for_the_oldest_send() -> None:
    budget = Budget(max_in_flight=8)
    first = budget.start(0.0)
    budget.finish(0.5, first, headers(max_=3, remaining=2, interval_ms=10_000), 200)
    budget.finish(1.0, budget.start(1.0), headers(max_=3, remaining=1), 200)
    budget.finish(2.0, budget.start(2.0), headers(max_=3, remaining=0), 200)
    # three sends answered at 0.5, 1 and 2 s: the next may start when the first ages
    # out, one interval after its answer
    assert budget.delay(3.0) == pytest.approx(7.5)
    assert budget.delay(10.4) == pytest.approx(0.1)
    assert budget.delay(10.5) == 0.0


def test_remaining_lower_than_own_count_reserves_external_usage() -> None:
    budget = Budget(max_in_flight=8)
    sent = budget.start(0.0)
    # the server says 5 of 10 are used, though we sent only one: 4 are someone else's
    budget.finish(0.1, sent, headers(max_=10, remaining=5), 200)
    assert budget.external == 4
    for moment in (0.2, 0.3, 0.4, 0.5, 0.6):
        assert budget.delay(moment) == 0.0
        budget.finish(moment, budget.start(moment), None, None)
    # own 6 + external 4 = 10: wait until the probe (answered at 0.1) and the
    # external reservation age out at 10.1 s
    assert budget.delay(0.7) == pytest.approx(9.4)
    assert budget.delay(10.1) == 0.0


def test_a_429_without_headers_fills_the_window() -> None:
    budget = Budget(max_in_flight=8)
    budget.finish(0.0, budget.start(0.0), headers(max_=10, remaining=9), 200)
    budget.finish(1.0, budget.start(1.0), None, 429)
    assert budget.delay(1.0) == pytest.approx(9.0)


def test_in_flight_requests_hold_their_place_until_answered() -> None:
    budget = Budget(max_in_flight=8)
    budget.finish(0.0, budget.start(0.0), headers(max_=1, remaining=0), 200)
    assert budget.delay(5.0) == pytest.approx(5.0)
    pending = budget.start(10.0)
    # the only budget is held by a request in flight: wait for its answer
    assert budget.delay(10.0) is None
    budget.finish(11.0, pending, headers(max_=1, remaining=0), 200)
    # and then one interval after that answer
    assert budget.delay(11.0) == pytest.approx(10.0)


def test_no_headers_at_all_means_only_the_in_flight_cap() -> None:
    budget = Budget(max_in_flight=2)
    budget.finish(0.0, budget.start(0.0), None, 200)
    budget.start(0.0)
    assert budget.delay(0.0) == 0.0
    budget.start(0.0)
    assert budget.delay(0.0) is None


@dataclass
class VirtualTime:
    """A clock and sleep for asyncio where time jumps when every task is waiting."""

    now: float = 0.0
    _timers: list[tuple[float, int, asyncio.Future[None]]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + delay, next(self._seq), future))
        await future

    async def run(self, main: Awaitable[None]) -> None:
        task = asyncio.ensure_future(main)
        while not task.done():
            for _ in range(100):
                await asyncio.sleep(0)
            if task.done() or not self._timers:
                continue
            when = self._timers[0][0]
            self.now = max(self.now, when)
            while self._timers and self._timers[0][0] <= self.now:
                heapq.heappop(self._timers)[2].set_result(None)
        await task


@dataclass
class FixedWindowServer:
    """Like the emulator: a window opens at the first request after the last closed."""

    clock: Callable[[], float]
    max: int
    interval: float
    daily: int = 1_000_000
    window_start: float | None = None
    count: int = 0
    day_count: int = 0
    statuses: list[int] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0

    def handle(self) -> tuple[int, dict[str, str]]:
        now = self.clock()
        if self.window_start is None or now >= self.window_start + self.interval:
            self.window_start, self.count = now, 0
        allowed = self.count < self.max and self.day_count < self.daily
        if allowed:
            self.count += 1
            self.day_count += 1
        status = 200 if allowed else 429
        self.statuses.append(status)
        return status, {
            "X-RateLimit-Max": str(self.max),
            "X-RateLimit-Remaining": str(self.max - self.count),
            "X-RateLimit-Interval-Milliseconds": str(int(self.interval * 1000)),
            "X-RateLimit-Limit-Daily": str(self.daily),
            "X-RateLimit-Daily-Remaining": str(self.daily - self.day_count),
        }


async def _request(
    pacer: Pacer, server: FixedWindowServer, vt: VirtualTime, latency: float
) -> int:
    ticket = await pacer.acquire("k", "loc-1")
    server.in_flight += 1
    server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
    await vt.sleep(latency / 2)
    status, hdrs = server.handle()
    await vt.sleep(latency / 2)
    server.in_flight -= 1
    pacer.release(ticket, hdrs, status)
    return status


def test_simulated_server_never_sees_a_429_and_the_budget_is_used() -> None:
    vt = VirtualTime()
    server = FixedWindowServer(vt.clock, max=10, interval=1.0)
    pacer = Pacer(max_in_flight=4, clock=vt.clock, sleep=vt.sleep)

    async def main() -> None:
        await asyncio.gather(*(_request(pacer, server, vt, 0.05) for _ in range(100)))

    asyncio.run(vt.run(main()))
    assert server.statuses == [200] * 100
    assert server.peak_in_flight == 4
    # 100 requests at 10 per second: 10 windows, with a little slack for latency
    assert 9.0 <= vt.now <= 11.0


def test_latency_bound_run_keeps_several_in_flight() -> None:
    vt = VirtualTime()
    server = FixedWindowServer(vt.clock, max=100, interval=10.0)
    pacer = Pacer(max_in_flight=8, clock=vt.clock, sleep=vt.sleep)

    async def main() -> None:
        await asyncio.gather(*(_request(pacer, server, vt, 0.1) for _ in range(40)))

    asyncio.run(vt.run(main()))
    assert server.statuses == [200] * 40
    assert server.peak_in_flight == 8
    # one probe, then 39 requests 8 at a time: 1 + ceil(39 / 8) = 6 round trips
    assert vt.now == pytest.approx(0.6)


def test_daily_exhaustion_raises_naming_the_location() -> None:
    vt = VirtualTime()
    server = FixedWindowServer(vt.clock, max=100, interval=10.0, daily=3)
    pacer = Pacer(clock=vt.clock, sleep=vt.sleep)

    async def main() -> None:
        for _ in range(3):
            assert await _request(pacer, server, vt, 0.01) == 200
        with pytest.raises(DailyLimitError, match="location loc-1"):
            await _request(pacer, server, vt, 0.01)

    asyncio.run(vt.run(main()))
    assert len(server.statuses) == 3


def test_release_without_answer_frees_the_slot() -> None:
    async def main() -> None:
        pacer = Pacer(max_in_flight=1)
        first = await pacer.acquire("k", "loc")
        waiting = asyncio.ensure_future(pacer.acquire("k", "loc"))
        await asyncio.sleep(0)
        assert not waiting.done()
        pacer.release(first, None, None)
        second = await asyncio.wait_for(waiting, 1.0)
        pacer.release(second, {}, 200)
        assert pacer.budget("k").in_flight == 0

    asyncio.run(main())


def test_invalid_max_in_flight() -> None:
    with pytest.raises(ValueError):
        Pacer(max_in_flight=0)


def test_budget_spent_by_another_client_is_respected() -> None:
    vt = VirtualTime()
    server = FixedWindowServer(vt.clock, max=10, interval=1.0)
    for _ in range(6):  # another process with the same integration got there first
        server.handle()
    pacer = Pacer(max_in_flight=8, clock=vt.clock, sleep=vt.sleep)

    async def main() -> None:
        await asyncio.gather(*(_request(pacer, server, vt, 0.05) for _ in range(14)))

    asyncio.run(vt.run(main()))
    ours = server.statuses[6:]
    assert ours == [200] * 14
    # only 4 of ours fit the first window; the other 10 waited for the next one
    assert vt.now > 1.0
