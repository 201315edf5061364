"""Client-side pacing by the upstream's ``X-RateLimit-*`` headers (reference §4).

HighLevel counts a burst budget (``X-RateLimit-Max`` requests per
``X-RateLimit-Interval-Milliseconds``) per Private Integration per location, and a daily
budget per location. Every response says what is left. A :class:`Pacer` holds one
:class:`Budget` per (token, location) key and decides when a request may start:

* **In flight, by Little's law**: ONE request until the first response has told us the
  limits (never guess a budget); then about ``allowed rate × latency`` with headroom,
  so latency never lowers throughput below the rate limit, capped at
  ``max_in_flight`` (default 64). The latency is an EWMA of the response times that
  follows a drop at once and a rise slowly (1/64 of the gap per answer): queueing that
  our own requests cause at a busy server must not raise the concurrency that causes
  it, while a path that really got slower raises it within about a hundred answers.
* **The window is upstream's fixed window**: it opens at the first request counted after
  the previous one closed and lasts one interval. The budget follows it: a window starts
  with a send made after the estimated close; ``X-RateLimit-Remaining`` tells which
  send opened the server's window (the one that left ``max - 1``), and the window is
  estimated to close one interval after that send went out (:meth:`Pacer.sent`; its
  start otherwise: a request sent then travels as long as the opening one did, so it
  lands after the close), plus whatever its answer took beyond the base latency (a
  busy server may have counted it late), plus a safety margin that grows with the
  jitter of the response times and doubles when a window was entered too early (a
  429 at its opening). Every send since the window opened counts against it until
  then, answered or not: never more than the window allows.
* Usage the server reports beyond every send of ours the window can hold comes from
  someone else (another process with the same integration) and is reserved until the
  window closes; a window someone else opened is assumed to close one interval after
  the answer that showed it. A 429 (with or without headers) means "window full".
* ``X-RateLimit-Daily-Remaining: 0`` makes every later request of that key fail with an
  :class:`HlsyncError` naming the location, instead of hammering a closed door.

Work per request and per response is O(1): counters, no lists of sends; a response
wakes only the waiters that can start (one FIFO queue per key).

:class:`Budget` is pure logic over an injected ``now`` (seconds of a monotonic clock);
:class:`Pacer` adds the asyncio waiting with an injectable clock and sleep so tests run
in virtual time.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from hlsync.errors import HlsyncError

DEFAULT_MAX_IN_FLIGHT = 64  # the cap of Little's-law concurrency per key
UNPACED_IN_FLIGHT = 8  # per key when the answers carry no rate-limit headers
HEADROOM = 2.0  # in flight = HEADROOM × rate × latency + SPARE
SPARE = 2
MIN_MARGIN = 0.002  # seconds added to a window's estimated close
JITTER_MARGIN = 4.0  # … plus this many mean deviations of the response time (TCP RTO)
MAX_MARGIN_SHARE = 0.25  # the margin never exceeds this share of the interval
LATENCY_GAIN = 0.125  # EWMA weights (TCP's SRTT/RTTVAR)
DEVIATION_GAIN = 0.25
BASE_GAIN = 1 / 64  # how fast the base latency rises to longer response times

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class DailyLimitError(HlsyncError):
    """The location's daily request budget is spent; retrying today cannot help."""


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """The five upstream headers of one response; ``None`` where absent or garbled."""

    max: int | None = None
    remaining: int | None = None
    interval_ms: int | None = None
    daily_limit: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders:
        """Read from any mapping of header names (matched case-insensitively)."""
        if isinstance(headers, httpx.Headers):
            # one pass over the raw list: httpx.Headers looks each name up by
            # decoding and comparing every header, and these are five lookups
            headers = {
                name.lower().decode("latin-1"): value.decode("latin-1")
                for name, value in headers.raw
                if name[:12].lower() == b"x-ratelimit-"
            }
        else:
            headers = {name.lower(): value for name, value in headers.items()}
        return cls(
            max=_int_header(headers, "x-ratelimit-max"),
            remaining=_int_header(headers, "x-ratelimit-remaining"),
            interval_ms=_int_header(headers, "x-ratelimit-interval-milliseconds"),
            daily_limit=_int_header(headers, "x-ratelimit-limit-daily"),
            daily_remaining=_int_header(headers, "x-ratelimit-daily-remaining"),
        )


def _parsed(
    headers: Mapping[str, str] | RateLimitHeaders | None,
) -> RateLimitHeaders | None:
    if headers is None or isinstance(headers, RateLimitHeaders):
        return headers
    return RateLimitHeaders.parse(headers)


def pace_key(token: str, location_id: str) -> str:
    """The budget key of a (token, location); the token enters only as a short hash."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return f"{digest}:{location_id}"


@dataclass(slots=True, eq=False)
class Window:
    """The server's window as this process believes it: opened by send ``first_seq``
    at ``start`` (our clock); ``confirmed`` once an answer showed which send opened it;
    ``external``: usage in it that is not ours; ``refused``: a 429 in it was
    taken for an early opening (a second one means it is full)."""

    first_seq: int
    start: float
    opened: float = 0.0  # when the server counted its first request (our clock)
    confirmed: bool = False
    external: int = 0
    refused: bool = False  # a 429 was taken for an early opening


@dataclass(slots=True, eq=False)
class Send:
    """One request of a budget: number ``seq``, started at ``start`` in ``window``,
    answered at ``end`` (None while in flight)."""

    seq: int
    start: float
    window: Window
    end: float | None = None
    sent_at: float | None = None  # when it went to the wire (Pacer.sent), if told


@dataclass(slots=True)
class Budget:
    """The burst and daily budget of one key, as far as this process can know it.

    Call :meth:`delay` before a request: ``0.0`` means start now (then :meth:`start`),
    a positive number means the window needs that many seconds, ``None`` means wait
    for a request in flight to finish. Call :meth:`finish` with each response.
    """

    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    window_max: int | None = None
    interval: float | None = None  # seconds
    daily_remaining: int | None = None
    in_flight: int = 0
    probed: bool = False  # a response (with or without headers) has come back
    seq: int = 0  # sends started so far
    window: Window | None = None
    latency: float | None = None  # EWMA of response times, seconds (for the margin)
    base_latency: float | None = None  # for the limit: follows drops, rises slowly
    deviation: float = 0.0  # EWMA of their absolute deviation
    margin_floor: float = MIN_MARGIN

    @property
    def limit(self) -> int:
        """How many requests may be in flight now (Little's law once limits are known)."""
        if not self.probed:
            return 1
        if self.window_max is None or self.interval is None:
            return min(self.max_in_flight, UNPACED_IN_FLIGHT)
        rate = self.window_max / self.interval
        latency = self.base_latency
        if latency is None:
            return min(self.max_in_flight, UNPACED_IN_FLIGHT)
        wanted = math.ceil(HEADROOM * rate * latency - 1e-9) + SPARE
        return max(1, min(self.max_in_flight, wanted))

    @property
    def margin(self) -> float:
        """Seconds past one interval after a window's opening send before we call it
        closed: a floor (raised by early openings) plus the response times' jitter."""
        margin = self.margin_floor + JITTER_MARGIN * self.deviation
        if self.interval is not None:
            margin = min(margin, self.interval * MAX_MARGIN_SHARE)
        return margin

    def closes_at(self) -> float | None:
        """When the current window is estimated to close (None: no window known)."""
        if self.window is None or self.interval is None:
            return None
        return self.window.opened + self.interval + self.margin

    def used(self) -> int:
        """Sends counted against the current window: ours since it opened, and others'."""
        window = self.window
        if window is None:
            return 0
        return self.seq - window.first_seq + window.external

    def delay(self, now: float) -> float | None:
        """How long until a request may start: 0.0, seconds, or None (a slot frees)."""
        if self.in_flight >= self.limit:
            return None
        if self.window_max is None:
            return 0.0
        closes = self.closes_at()
        if closes is None or now >= closes or self.used() < self.window_max:
            return 0.0
        return closes - now

    def start(self, now: float) -> Send:
        """Record a send; pass it back to :meth:`finish`."""
        window = self.window
        closes = self.closes_at()
        if window is None or (closes is not None and now >= closes):
            window = self.window = Window(self.seq, now, now)
        send = Send(self.seq, now, window)
        self.seq += 1
        self.in_flight += 1
        return send

    def sent(self, send: Send, now: float) -> None:
        """``send`` goes to the wire now (it may have waited for its task's turn since
        it started): its window's opening is reckoned from here, and its latency."""
        send.sent_at = now
        window = send.window
        if window is self.window and send.seq == window.first_seq:
            window.opened = max(window.opened, now)

    def finish(
        self,
        now: float,
        send: Send,
        headers: RateLimitHeaders | None,
        status: int | None,
    ) -> None:
        """Account for a finished request (``headers``/``status`` None: no response).

        A request without a response stays counted in its window: the server may
        have counted it.
        """
        self.in_flight = max(self.in_flight - 1, 0)
        send.end = now
        if headers is None and status is None:
            return
        self.probed = True
        self._observe_latency(now - (send.sent_at or send.start))
        info = headers or RateLimitHeaders()
        if info.interval_ms is not None and info.interval_ms > 0:
            self.interval = info.interval_ms / 1000.0
        if info.max is not None and info.max > 0:
            self.window_max = info.max
        if info.daily_remaining is not None:
            self.daily_remaining = info.daily_remaining
        if self.window_max is None or self.interval is None:
            return
        if status == 429:
            self._refused(send)
        elif info.remaining is not None:
            used = self.window_max - info.remaining
            if used <= 1:
                self._opened_by(send)
            else:
                self._counted(send, used, now)

    def _observe_latency(self, sample: float) -> None:
        base = self.base_latency
        if base is None or sample < base:
            self.base_latency = sample
        else:
            self.base_latency = base + BASE_GAIN * (sample - base)
        if self.latency is None:
            self.latency, self.deviation = sample, sample / 2
            return
        self.deviation += DEVIATION_GAIN * (abs(sample - self.latency) - self.deviation)
        self.latency += LATENCY_GAIN * (sample - self.latency)

    def _opened_by(self, send: Send) -> None:
        """``send`` was the first request of the server's window."""
        window = send.window
        if window is not self.window:
            return  # an earlier window: it is over
        if send.start > window.start:
            # a later send than the one we took for the opener: the window opened
            # (and closes) later; sends before it stay counted (they may have
            # arrived after it), which errs on the safe side
            window.start = send.start
            window.external = 0
        # it reached the server about as long after it was sent as any send does;
        # what its answer took beyond the base latency (a busy server, a descheduled
        # client) is taken to have passed before the server counted it: the safe side
        base = self.base_latency or 0.0
        sent = send.sent_at or send.start
        excess = max(0.0, (send.end or sent) - sent - base)
        window.opened = max(window.opened, window.start, sent + excess)
        window.confirmed = True

    def _counted(self, send: Send, used: int, now: float) -> None:
        """``send`` was counted as the ``used``-th request of the server's window."""
        window = send.window
        if window is not self.window or send.start < window.start:
            return  # it arrived in an earlier window
        others = used - (self.seq - window.first_seq)  # beyond every send of ours
        if others > window.external:
            window.external = others
            if not window.confirmed:
                # someone else opened it, at the latest when this send arrived
                window.start = max(window.start, now)
                window.opened = max(window.opened, window.start)

    def _refused(self, send: Send) -> None:
        """A 429: the window ``send`` arrived in was full."""
        window = send.window
        if window is not self.window:
            return
        if window.confirmed and send.start <= window.start:
            # a send of the opening burst arrived before the previous window closed
            # (another of the burst opened the new one): open later from now on
            self._grow_margin(window)
            return
        if not window.confirmed and not window.refused:
            # probably entered too early: the previous window was still open when
            # this send arrived, so the window opens (and closes) later than thought
            self._grow_margin(window)
            window.start = max(window.start, send.start + self.margin)
            window.opened = max(window.opened, window.start)
            return
        # full before our own count says so: someone else's usage, or a window we
        # cannot place; nothing more starts in it
        window.external = max(
            window.external, self._window_max - (self.seq - window.first_seq)
        )

    def _grow_margin(self, window: Window) -> None:
        """Double the margin's floor, once per window."""
        if not window.refused:
            window.refused = True
            self.margin_floor = min(2 * self.margin_floor + 0.005, self._margin_cap)

    @property
    def _window_max(self) -> int:
        return self.window_max or 1

    @property
    def _margin_cap(self) -> float:
        return (self.interval or 1.0) * MAX_MARGIN_SHARE

    @property
    def daily_exhausted(self) -> bool:
        return self.daily_remaining is not None and self.daily_remaining <= 0


@dataclass(frozen=True, slots=True)
class Ticket:
    """One started request; hand it back to :meth:`Pacer.release`."""

    key: str
    send: Send


@dataclass(slots=True, eq=False)
class _Waiter:
    future: asyncio.Future[Ticket]
    location_id: str


def _daily_error(location_id: str) -> DailyLimitError:
    return DailyLimitError(
        f"daily API request limit reached for location {location_id}",
        hints=(
            "HighLevel allows a fixed number of requests per location per "
            "day (X-RateLimit-Limit-Daily); try again tomorrow",
        ),
    )


class Pacer:
    """Per-key budgets shared by every request of one process (one per ApiClient).

    ``acquire`` waits until the key's budget allows a start; ``release`` must follow
    every ``acquire`` exactly once, with the response headers and status (or ``None``
    when no response came back). Waiters of a key start in arrival order; a release
    hands its slot straight to the waiters that can start, and a window's wait is one
    timer per key, not one per waiter.
    """

    def __init__(
        self,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._max_in_flight = max_in_flight
        self._clock = clock
        self._sleep = sleep
        self._budgets: dict[str, Budget] = {}
        self._waiters: dict[str, deque[_Waiter]] = {}
        self._timers: dict[str, tuple[float, asyncio.Task[None]]] = {}

    def __repr__(self) -> str:
        return f"Pacer(max_in_flight={self._max_in_flight}, keys={len(self._budgets)})"

    def budget(self, key: str) -> Budget:
        """The budget of a key (created on first use); for inspection and tests."""
        found = self._budgets.get(key)
        if found is None:
            found = Budget(max_in_flight=self._max_in_flight)
            self._budgets[key] = found
        return found

    async def acquire(self, key: str, location_id: str) -> Ticket:
        """Wait until a request of ``key`` may start, then count it as started.

        Raises :class:`DailyLimitError` naming ``location_id`` once the daily budget
        is known to be spent.
        """
        budget = self.budget(key)
        if budget.daily_exhausted:
            raise _daily_error(location_id)
        queue = self._waiters.get(key)
        if not queue:
            now = self._clock()
            if budget.delay(now) == 0.0:
                return Ticket(key, budget.start(now))
            if queue is None:
                queue = self._waiters[key] = deque()
        future: asyncio.Future[Ticket] = asyncio.get_running_loop().create_future()
        queue.append(_Waiter(future, location_id))
        self._pump(key)
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # granted in the same turn as the cancel: give the slot back
                if future.exception() is None:
                    self.release(future.result(), None, None)
            else:
                future.cancel()
                self._pump(key)
            raise

    def sent(self, ticket: Ticket) -> None:
        """Optional, between ``acquire`` and ``release``: the request goes to the wire
        now. Under load a started request can wait a while for its task's turn; the
        window a request opens is reckoned from when it was sent."""
        self.budget(ticket.key).sent(ticket.send, self._clock())

    def release(
        self,
        ticket: Ticket,
        headers: Mapping[str, str] | RateLimitHeaders | None,
        status: int | None,
    ) -> None:
        """Account for the finished request and start the waiters that now can
        (``headers``: the response's, or what :meth:`RateLimitHeaders.parse` read of
        them)."""
        parsed = _parsed(headers)
        self.budget(ticket.key).finish(self._clock(), ticket.send, parsed, status)
        if self._waiters.get(ticket.key):
            self._pump(ticket.key)

    def _pump(self, key: str) -> None:
        """Grant the head waiters of ``key`` while the budget allows; if the window
        is what holds them, wake up when it allows again."""
        queue = self._waiters.get(key)
        budget = self._budgets[key]
        now = self._clock()
        while queue:
            waiter = queue[0]
            if waiter.future.done():  # cancelled
                queue.popleft()
                continue
            if budget.daily_exhausted:
                queue.popleft()
                waiter.future.set_exception(_daily_error(waiter.location_id))
                continue
            wait = budget.delay(now)
            if wait is None:
                return  # a release pumps again
            if wait > 0.0:
                self._wake_in(key, now + wait, wait)
                return
            queue.popleft()
            waiter.future.set_result(Ticket(key, budget.start(now)))

    def _wake_in(self, key: str, when: float, wait: float) -> None:
        """Pump ``key`` again at ``when`` (one timer per key; an earlier one wins)."""
        timer = self._timers.get(key)
        if timer is not None and not timer[1].done() and timer[0] <= when:
            return

        async def wake() -> None:
            await self._sleep(wait)
            current = self._timers.get(key)
            if current is not None and current[1] is asyncio.current_task():
                del self._timers[key]
            self._pump(key)

        self._timers[key] = (when, asyncio.get_running_loop().create_task(wake()))
