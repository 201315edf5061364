"""Pacing by X-RateLimit-* headers: the pure budget, then a simulated server in
virtual time (no real waiting)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from hlsync.upstream.pacing import (
    Budget,
    DailyLimitError,
    Pacer,
    RateLimitHeaders,
    pace_key,
)
from tests.virtual_time import VirtualTime


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


def test_the_window_closes_one_interval_after_its_opening_send_started() -> None:
    budget = Budget()
    first = budget.start(0.0)
    # the first send left max - 1: it opened the server's window
    budget.finish(0.05, first, headers(max_=3, remaining=2, interval_ms=10_000), 200)
    assert budget.window is not None and budget.window.confirmed
    budget.finish(1.06, budget.start(1.0), headers(max_=3, remaining=1), 200)
    budget.start(2.0)  # in flight: counted already
    closes = budget.closes_at()
    assert closes is not None
    # anchored on the opening send's START (not its answer), plus the margin
    assert closes == pytest.approx(10.0 + budget.margin)
    assert 0.0 < budget.margin < 1.0
    assert budget.delay(3.0) == pytest.approx(closes - 3.0)
    assert budget.delay(closes) == 0.0
    opener = budget.start(closes)  # opens the next window: its count starts afresh
    assert budget.window is opener.window and budget.used() == 1


def test_an_opening_send_answered_late_moves_the_close_by_its_delay() -> None:
    budget = Budget()
    for n in range(3):  # answers take 10 ms
        start = n * 2.0
        budget.finish(start + 0.01, budget.start(start), headers(5, 4, 1_000), 200)
    quick = budget.closes_at()
    assert quick is not None and quick == pytest.approx(5.0 + budget.margin)
    # the next window's opening send took 40 ms: the server may have counted it up
    # to 30 ms late (busy, or this process descheduled), so the window may close late
    late = budget.start(10.0)
    budget.finish(10.04, late, headers(5, 4, 1_000), 200)
    assert late.window.opened == pytest.approx(10.03, abs=0.001)
    assert budget.closes_at() == pytest.approx(11.03 + budget.margin, abs=0.001)


def test_a_window_is_reckoned_from_when_its_opening_send_went_out() -> None:
    budget = Budget()
    budget.finish(0.01, budget.start(0.0), headers(5, 4, 1_000), 200)
    opening = budget.closes_at()
    assert opening is not None
    late = budget.start(opening)
    budget.sent(late, opening + 0.05)  # its task got its turn 50 ms later
    assert late.window.opened == pytest.approx(opening + 0.05)
    budget.finish(opening + 0.06, late, headers(5, 4, 1_000), 200)
    assert budget.latency is not None and budget.latency < 0.011  # the wire's 10 ms
    assert budget.closes_at() == pytest.approx(opening + 1.05 + budget.margin)


def test_pacer_sent_reaches_the_budget() -> None:
    async def main() -> None:
        clock = iter((0.0, 0.5, 0.6))
        pacer = Pacer(clock=lambda: next(clock))
        ticket = await pacer.acquire("k", "loc")
        pacer.sent(ticket)
        assert ticket.send.sent_at == 0.5
        pacer.release(ticket, {}, 200)
        assert pacer.budget("k").latency == pytest.approx(0.1)

    asyncio.run(main())


def test_little_law_sizes_the_in_flight_limit_and_follows_latency() -> None:
    budget = Budget(max_in_flight=64)
    assert budget.limit == 1  # nothing known yet: one probe
    sent = budget.start(0.0)
    # 100 per second, answered in 200 ms: 20 in flight keep the rate; 2x headroom + 2
    budget.finish(0.2, sent, headers(max_=100, remaining=99, interval_ms=1_000), 200)
    assert budget.limit == 42
    for n in range(80):  # latency falls to 8 ms: the limit follows it down
        moment = 1.0 + n
        budget.finish(
            moment + 0.008, budget.start(moment), headers(100, 98, 1_000), 200
        )
    assert budget.latency == pytest.approx(0.008, rel=0.01)
    assert budget.limit == 4
    for n in range(40):  # and up again, to the cap
        moment = 100.0 + 2 * n
        budget.finish(moment + 1.0, budget.start(moment), headers(100, 98, 1_000), 200)
    assert budget.limit == 64


def test_self_inflicted_queueing_does_not_raise_the_limit() -> None:
    budget = Budget()
    budget.finish(0.01, budget.start(0.0), headers(100, 99, 1_000), 200)
    assert budget.limit == 4  # 2 x 100/s x 10 ms + 2
    # a burst queues at the server: a few answers take ten times as long
    for n in range(5):
        budget.finish(1.1, budget.start(1.0 + n / 1000), headers(100, 98, 1_000), 200)
    assert budget.limit <= 7
    assert budget.latency is not None and budget.latency > 0.03  # the EWMA did move
    budget.finish(2.005, budget.start(2.0), headers(100, 97, 1_000), 200)
    assert budget.base_latency == pytest.approx(0.005)  # a drop is taken at once
    assert budget.limit == 3


def test_remaining_lower_than_own_count_reserves_external_usage() -> None:
    budget = Budget(max_in_flight=8)
    sent = budget.start(0.0)
    # the server says 5 of 10 are used, though we sent only one: 4 are someone else's,
    # and someone else opened the window: it closes at the latest one interval after
    # this answer
    budget.finish(0.1, sent, headers(max_=10, remaining=5), 200)
    assert budget.window is not None
    assert budget.window.external == 4 and budget.window.start == 0.1
    for moment in (0.2, 0.3, 0.4, 0.5, 0.6):
        assert budget.delay(moment) == 0.0
        budget.finish(moment, budget.start(moment), None, None)
    # own 6 + external 4 = 10: wait for the window to close
    closes = budget.closes_at()
    assert closes is not None and closes == pytest.approx(10.1 + budget.margin)
    assert budget.delay(0.7) == pytest.approx(closes - 0.7)


def test_usage_within_our_own_sends_is_not_taken_for_someone_elses() -> None:
    budget = Budget()
    budget.finish(0.01, budget.start(0.0), headers(10, 9, 1_000), 200)
    sends = [budget.start(0.02) for _ in range(4)]
    # answers in any order: the server counted them in another order than we sent
    for used, send in zip((5, 2, 4, 3), sends, strict=True):
        budget.finish(0.03, send, headers(10, 10 - used, 1_000), 200)
    assert budget.window is not None and budget.window.external == 0
    assert budget.used() == 5


def test_a_429_without_headers_fills_the_window() -> None:
    budget = Budget(max_in_flight=8)
    budget.finish(0.0, budget.start(0.0), headers(max_=10, remaining=9), 200)
    budget.finish(1.0, budget.start(1.0), None, 429)
    closes = budget.closes_at()
    assert closes is not None and closes == pytest.approx(10.0 + budget.margin)
    assert budget.delay(1.0) == pytest.approx(closes - 1.0)


def test_a_send_without_an_answer_stays_counted() -> None:
    budget = Budget(max_in_flight=8)
    budget.finish(0.0, budget.start(0.0), headers(max_=2, remaining=1), 200)
    lost = budget.start(1.0)
    budget.finish(2.0, lost, None, None)  # the server may have counted it
    assert budget.used() == 2
    assert budget.delay(2.0) == pytest.approx(budget.closes_at() - 2.0)  # type: ignore[operator]


def test_a_429_at_a_window_opening_widens_the_margin_and_opens_later() -> None:
    budget = Budget()
    budget.finish(0.01, budget.start(0.0), headers(2, 1, 1_000), 200)
    budget.finish(0.02, budget.start(0.01), headers(2, 0, 1_000), 200)
    before = budget.margin_floor
    opening = budget.closes_at()
    assert opening is not None
    early = budget.start(opening)
    assert budget.window is early.window and not early.window.confirmed
    # the previous window was still open when it arrived
    budget.finish(opening + 0.01, early, headers(2, 0, 1_000), 429)
    assert budget.margin_floor > before
    assert early.window.start == pytest.approx(opening + budget.margin)
    # the next send goes into the window it now expects to open after that
    assert budget.delay(opening + 0.01) == 0.0
    later = budget.start(opening + 0.01)
    assert later.window is early.window
    # a second 429 in a window we cannot place: it is full
    budget.finish(opening + 0.02, later, headers(2, 0, 1_000), 429)
    assert budget.used() >= 2 and budget.delay(opening + 0.02) is not None
    assert budget.delay(opening + 0.02) > 0.5  # type: ignore[operator]


def test_a_later_send_that_opened_the_window_moves_its_close() -> None:
    budget = Budget()
    budget.finish(0.01, budget.start(0.0), headers(5, 4, 1_000), 200)
    budget.finish(0.02, budget.start(0.01), headers(5, 3, 1_000), 200)
    opening = budget.closes_at()
    assert opening is not None
    first = budget.start(opening)
    second = budget.start(opening + 0.05)
    # the first arrived in the old window (counted there), the second opened the new
    budget.finish(opening + 0.06, second, headers(5, 4, 1_000), 200)
    assert second.window is budget.window
    assert budget.window.start == opening + 0.05 and budget.window.confirmed
    assert budget.used() == 2  # both still counted: the safe side
    budget.finish(opening + 0.07, first, headers(5, 2, 1_000), 200)
    assert budget.window.external == 0


def test_no_headers_at_all_means_only_the_in_flight_cap() -> None:
    budget = Budget(max_in_flight=2)
    budget.finish(0.0, budget.start(0.0), None, 200)
    budget.start(0.0)
    assert budget.delay(0.0) == 0.0
    budget.start(0.0)
    assert budget.delay(0.0) is None


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


async def _retried(
    pacer: Pacer,
    server: FixedWindowServer,
    vt: VirtualTime,
    latency: float,
    dice: random.Random,
) -> None:
    """A request whose two one-way times vary by +-20 %, retried after a 429."""
    while True:
        ticket = await pacer.acquire("k", "loc-1")
        await vt.sleep(latency / 2 * dice.uniform(0.8, 1.2))
        status, hdrs = server.handle()
        await vt.sleep(latency / 2 * dice.uniform(0.8, 1.2))
        pacer.release(ticket, hdrs, status)
        if status != 429:
            return
        await vt.sleep(0.25)


def test_simulated_server_never_sees_a_429_and_the_budget_is_used() -> None:
    vt = VirtualTime()
    server = FixedWindowServer(vt.clock, max=10, interval=1.0)
    pacer = Pacer(max_in_flight=4, clock=vt.clock, sleep=vt.sleep)

    async def main() -> None:
        await asyncio.gather(*(_request(pacer, server, vt, 0.05) for _ in range(100)))

    asyncio.run(vt.run(main()))
    assert server.statuses == [200] * 100
    assert server.peak_in_flight == 3  # Little's law: 2 x 10/s x 0.05 s + 2, cap 4
    # 100 requests at 10 per second: 10 windows, with a little slack for latency
    assert 9.0 <= vt.now <= 11.0


def test_latency_bound_run_keeps_the_rate_limit_busy() -> None:
    """S5 in virtual time: 100 per second, 200 ms answers. Little's law keeps ~42 in
    flight, so the run takes the rate limit's time, not the latency's."""
    vt = VirtualTime()
    server = FixedWindowServer(vt.clock, max=100, interval=1.0)
    pacer = Pacer(clock=vt.clock, sleep=vt.sleep)

    async def main() -> None:
        await asyncio.gather(*(_request(pacer, server, vt, 0.2) for _ in range(1000)))

    asyncio.run(vt.run(main()))
    assert server.statuses == [200] * 1000
    assert server.peak_in_flight == 42  # 2 x 100/s x 0.2 s + 2
    # ten windows: the last opens at ~9 s and its 100 need < 1 s more; the old pacer
    # (8 in flight) needed 1000 x 0.2 / 8 = 25 s
    assert 9.0 < vt.now < 10.0


def test_jitter_costs_few_429s_and_little_time() -> None:
    """One-way times vary by +-20 %: windows open a little early now and then; each
    429 widens the margin, and the run stays near the bound."""
    vt = VirtualTime()
    server = FixedWindowServer(vt.clock, max=50, interval=1.0)
    pacer = Pacer(clock=vt.clock, sleep=vt.sleep)
    dice = random.Random(7)

    async def main() -> None:
        await asyncio.gather(
            *(_retried(pacer, server, vt, 0.1, dice) for _ in range(1000))
        )

    asyncio.run(vt.run(main()))
    assert server.statuses.count(200) == 1000
    assert server.statuses.count(429) <= 10
    assert vt.now < 1.1 * 20  # 20 windows


def test_work_per_request_does_not_grow_with_the_waiters() -> None:
    """O(1): the clock is read a bounded number of times per request whether 10 or
    1,000 requests wait (no list rebuilds, no waking every waiter on a release)."""

    def reads(requests: int) -> float:
        vt = VirtualTime()
        calls = 0

        def clock() -> float:
            nonlocal calls
            calls += 1
            return vt.now

        server = FixedWindowServer(vt.clock, max=100, interval=1.0)
        pacer = Pacer(clock=clock, sleep=vt.sleep)

        async def main() -> None:
            await asyncio.gather(
                *(_request(pacer, server, vt, 0.01) for _ in range(requests))
            )

        asyncio.run(vt.run(main()))
        assert server.statuses == [200] * requests
        return calls / requests

    few, many = reads(10), reads(1_000)
    assert many <= 4 and many <= few + 1


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
