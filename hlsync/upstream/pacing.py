"""Client-side pacing by the upstream's ``X-RateLimit-*`` headers (reference §4).

HighLevel counts a burst budget (``X-RateLimit-Max`` requests per
``X-RateLimit-Interval-Milliseconds``) per Private Integration per location, and a daily
budget per location. Every response says what is left. A :class:`Pacer` holds one
:class:`Budget` per (token, location) key and decides when a request may start:

* at most ``max_in_flight`` requests of one key are in flight at once (default 8), and
  only ONE until the first response has told us the limits (never guess a budget);
* own sends are tracked in a sliding window of the advertised interval, each until one
  interval after its answer came back: never more generous than the server's window,
  fixed or sliding, so a request the window has no budget for is never started;
* ``X-RateLimit-Remaining`` is reconciled with our own count: usage the server reports
  beyond the sends we know it has counted comes from someone else (another process with
  the same integration) and is reserved for one interval. A 429 without headers counts
  as "window full" the same way, so the key slows down until its sends age out;
* ``X-RateLimit-Daily-Remaining: 0`` makes every later request of that key fail with an
  :class:`HlsyncError` naming the location, instead of hammering a closed door.

:class:`Budget` is pure logic over an injected ``now`` (seconds of a monotonic clock);
:class:`Pacer` adds the asyncio waiting with an injectable clock and sleep so tests run
in virtual time.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from hlsync.errors import HlsyncError

DEFAULT_MAX_IN_FLIGHT = 8

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
        headers = {name.lower(): value for name, value in headers.items()}
        return cls(
            max=_int_header(headers, "x-ratelimit-max"),
            remaining=_int_header(headers, "x-ratelimit-remaining"),
            interval_ms=_int_header(headers, "x-ratelimit-interval-milliseconds"),
            daily_limit=_int_header(headers, "x-ratelimit-limit-daily"),
            daily_remaining=_int_header(headers, "x-ratelimit-daily-remaining"),
        )


def pace_key(token: str, location_id: str) -> str:
    """The budget key of a (token, location); the token enters only as a short hash."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return f"{digest}:{location_id}"


@dataclass(slots=True, eq=False)
class Send:
    """One request of a budget: started at ``start``, answered at ``end`` (None while
    in flight)."""

    start: float
    end: float | None = None


@dataclass(slots=True)
class Budget:
    """The burst and daily budget of one key, as far as this process can know it.

    Call :meth:`delay` before a request: ``0.0`` means start now (then :meth:`start`),
    a positive number means the window needs that many seconds, ``None`` means wait
    for a request in flight to finish. Call :meth:`finish` with each response.

    A send occupies the window from its start until one interval after its ANSWER: the
    server counted it somewhere in between, and its window (fixed or sliding) has let
    go of it one interval after that at the latest. Anchoring on the start instead would
    undercount against a fixed window opened by a slow first request.
    """

    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    window_max: int | None = None
    interval: float | None = None  # seconds
    daily_remaining: int | None = None
    in_flight: int = 0
    probed: bool = False  # a response (with or without headers) has come back
    external: int = 0  # server-side usage not explained by our own sends
    external_until: float = 0.0
    sends: list[Send] = field(default_factory=list)

    def _prune(self, now: float) -> None:
        interval = self.interval or 0.0
        self.sends = [s for s in self.sends if s.end is None or s.end + interval > now]

    def _usage(self, at: float, interval: float) -> int:
        own = sum(1 for s in self.sends if s.end is None or s.end + interval > at)
        return own + (self.external if at < self.external_until else 0)

    def delay(self, now: float) -> float | None:
        """How long until a request may start: 0.0, seconds, or None (a slot frees)."""
        self._prune(now)
        limit = self.max_in_flight if self.probed else 1
        if self.in_flight >= limit:
            return None
        interval = self.interval
        if self.window_max is None or interval is None:
            return 0.0
        if self._usage(now, interval) < self.window_max:
            return 0.0
        # The earliest moment at which an answered send or the external reservation
        # leaves the window and usage drops below the maximum; if only answers of
        # requests still in flight can free budget, wait for one of them.
        candidates = sorted(
            {s.end + interval for s in self.sends if s.end is not None}
            | ({self.external_until} if self.external_until > now else set())
        )
        for moment in candidates:
            if self._usage(moment, interval) < self.window_max:
                return max(moment - now, 0.0)
        return None if self.in_flight else interval

    def start(self, now: float) -> Send:
        """Record a send; pass it back to :meth:`finish`."""
        self.in_flight += 1
        send = Send(now)
        self.sends.append(send)
        return send

    def finish(
        self,
        now: float,
        send: Send,
        headers: RateLimitHeaders | None,
        status: int | None,
    ) -> None:
        """Account for a finished request (``headers``/``status`` None: no response)."""
        self.in_flight = max(self.in_flight - 1, 0)
        send.end = now
        if headers is None and status is None:
            return
        self.probed = True
        info = headers or RateLimitHeaders()
        if info.interval_ms is not None and info.interval_ms > 0:
            self.interval = info.interval_ms / 1000.0
        if info.max is not None and info.max > 0:
            self.window_max = info.max
        if info.daily_remaining is not None:
            self.daily_remaining = info.daily_remaining
        if self.window_max is None or self.interval is None:
            return
        self._prune(now)
        remaining = info.remaining
        if remaining is None and status == 429:
            remaining = 0
        if remaining is None:
            return
        # Sends that started after this one may not have been counted in ``remaining``
        # yet; any usage beyond the sends the server surely saw is someone else's.
        counted = sum(1 for s in self.sends if s.start <= send.start)
        used = self.window_max - remaining
        self.external = max(used - counted, 0)
        self.external_until = now + self.interval if self.external else 0.0

    @property
    def daily_exhausted(self) -> bool:
        return self.daily_remaining is not None and self.daily_remaining <= 0


@dataclass(frozen=True, slots=True)
class Ticket:
    """One started request; hand it back to :meth:`Pacer.release`."""

    key: str
    send: Send


class Pacer:
    """Per-key budgets shared by every request of one process (one per ApiClient).

    ``acquire`` waits until the key's budget allows a start; ``release`` must follow
    every ``acquire`` exactly once, with the response headers and status (or ``None``
    when no response came back).
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
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

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
        while True:
            if budget.daily_exhausted:
                raise DailyLimitError(
                    f"daily API request limit reached for location {location_id}",
                    hints=(
                        "HighLevel allows a fixed number of requests per location per "
                        "day (X-RateLimit-Limit-Daily); try again tomorrow",
                    ),
                )
            now = self._clock()
            wait = budget.delay(now)
            if wait == 0.0:
                return Ticket(key, budget.start(now))
            if wait is None:
                waiter: asyncio.Future[None] = (
                    asyncio.get_running_loop().create_future()
                )
                self._waiters.setdefault(key, []).append(waiter)
                try:
                    await waiter
                finally:
                    waiters = self._waiters.get(key, [])
                    if waiter in waiters:
                        waiters.remove(waiter)
            else:
                await self._sleep(wait)

    def release(
        self,
        ticket: Ticket,
        headers: Mapping[str, str] | None,
        status: int | None,
    ) -> None:
        """Account for the finished request and wake the requests waiting for a slot."""
        parsed = None if headers is None else RateLimitHeaders.parse(headers)
        self.budget(ticket.key).finish(self._clock(), ticket.send, parsed, status)
        for waiter in self._waiters.pop(ticket.key, []):
            if not waiter.done():
                waiter.set_result(None)
