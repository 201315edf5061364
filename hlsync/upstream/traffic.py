"""What the client saw of each location's requests: for the plan's estimate and the
progress display (issue 12, items 4 and 6).

:class:`ApiClient` tells one :class:`Traffic` (shared by a run) about every attempt:
``waiting`` before it asks the pacer for a start, ``started`` once the pacer let it go
(``gave_up`` when it never did), ``answered`` when it is done, with the response's
headers (None: no response). From that, per location id:

* ``first_limits``: the burst limit (``X-RateLimit-Max`` per
  ``X-RateLimit-Interval-Milliseconds``) of the first response that stated one, what the
  plan estimates with; ``limits``: the latest one, what the progress line compares with;
* ``sent`` (attempts, retries included) and ``first_sends`` (logical requests);
* ``waited``: the time the location had requests waiting for the pacer and none in
  flight: nothing on the wire while work was ready, i.e. held back by the rate window;
* ``rate``: requests started per second over the last :func:`rate_span` seconds;
* ``pages``: contact search pages read, and ``whole_total``: how many contacts the
  location holds, as the first whole-location search page said (``searched``, told by
  ``LocationApi.search_contacts``), for a long plan's progress.

Observation only: it decides nothing (pacing is :mod:`hlsync.upstream.pacing`'s), costs
O(1) per attempt and holds no token (the key is the location id). The clock is
injectable, so tests read it in virtual time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hlsync.upstream.pacing import RateLimitHeaders

Clock = Callable[[], float]

MIN_RATE_SPAN = 10.0  # seconds of sends the observed rate is taken over, at least
MIN_RATE_ELAPSED = 1.0  # a rate is never taken over less than this


@dataclass(frozen=True, slots=True)
class Limit:
    """A burst limit: ``max`` requests per ``interval_ms`` milliseconds."""

    max: int
    interval_ms: int

    @property
    def per_second(self) -> float:
        return self.max * 1000.0 / self.interval_ms


def rate_span(limit: Limit | None) -> float:
    """Seconds the observed rate is measured over: two rate windows, at least
    :data:`MIN_RATE_SPAN`, so a window's burst and its pause are both in it."""
    interval = 0.0 if limit is None else limit.interval_ms / 1000.0
    return max(MIN_RATE_SPAN, 2 * interval)


@dataclass(slots=True)
class LocationTraffic:
    """One location's counters (see the module docstring)."""

    first_limits: Limit | None = None
    limits: Limit | None = None
    sent: int = 0
    first_sends: int = 0
    waiting: int = 0
    in_flight: int = 0
    idle_since: float | None = None
    idle_total: float = 0.0
    first_send_at: float | None = None
    recent: deque[float] = field(default_factory=deque)
    pages: int = 0
    whole_total: int | None = None

    def waited(self, now: float) -> float:
        ongoing = 0.0 if self.idle_since is None else now - self.idle_since
        return self.idle_total + ongoing

    def rate(self, now: float, since: float | None = None) -> float | None:
        """Requests started per second over the last span (a second at least),
        counting only those started at ``since`` or later (an apply's own, not its
        plan's reads); None before any such send."""
        if self.first_send_at is None:
            return None
        span = rate_span(self.limits)
        self._prune(now, span)
        start = self.first_send_at if since is None else max(since, self.first_send_at)
        count = len(self.recent)
        for at in self.recent:  # the oldest first; only a span's worth is kept
            if at >= start:
                break
            count -= 1
        if not count:
            return None
        # over a second at least: a burst's first requests are not a rate yet
        return count / max(min(span, now - start), MIN_RATE_ELAPSED)

    def _prune(self, now: float, span: float) -> None:
        while self.recent and self.recent[0] < now - span:
            self.recent.popleft()

    def _settle(self, now: float) -> None:
        blocked = self.waiting > 0 and self.in_flight == 0
        if blocked and self.idle_since is None:
            self.idle_since = now
        elif not blocked and self.idle_since is not None:
            self.idle_total += now - self.idle_since
            self.idle_since = None


class Traffic:
    """Per-location observations of one run's requests (module docstring)."""

    __slots__ = ("_clock", "_locations")

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._locations: dict[str, LocationTraffic] = {}

    def __repr__(self) -> str:
        return f"Traffic(locations={len(self._locations)})"

    def now(self) -> float:
        return self._clock()

    def of(self, location_id: str) -> LocationTraffic:
        found = self._locations.get(location_id)
        if found is None:
            found = self._locations[location_id] = LocationTraffic()
        return found

    def first_limits(self, location_id: str) -> Limit | None:
        found = self._locations.get(location_id)
        return None if found is None else found.first_limits

    def waiting(self, location_id: str) -> None:
        """An attempt asks the pacer for a start."""
        loc = self.of(location_id)
        loc.waiting += 1
        loc._settle(self._clock())

    def gave_up(self, location_id: str) -> None:
        """An attempt left the pacer without starting (cancelled, daily limit)."""
        loc = self.of(location_id)
        loc.waiting = max(loc.waiting - 1, 0)
        loc._settle(self._clock())

    def started(self, location_id: str, *, first: bool) -> None:
        """The pacer let an attempt go (``first``: not a retry)."""
        now = self._clock()
        loc = self.of(location_id)
        loc.waiting = max(loc.waiting - 1, 0)
        loc.in_flight += 1
        loc.sent += 1
        loc.first_sends += first
        if loc.first_send_at is None:
            loc.first_send_at = now
        loc.recent.append(now)
        loc._prune(now, rate_span(loc.limits))
        loc._settle(now)

    def answered(
        self,
        location_id: str,
        headers: Mapping[str, str] | RateLimitHeaders | None,
    ) -> None:
        """An attempt is over; ``headers`` of its response, or what
        :meth:`RateLimitHeaders.parse` read of them (None: no response came)."""
        loc = self.of(location_id)
        loc.in_flight = max(loc.in_flight - 1, 0)
        if headers is not None:
            parsed = (
                headers
                if isinstance(headers, RateLimitHeaders)
                else RateLimitHeaders.parse(headers)
            )
            top, interval = parsed.max, parsed.interval_ms
            if top is not None and interval is not None and top > 0 and interval > 0:
                limits = loc.limits
                if limits is None or (limits.max, limits.interval_ms) != (
                    top,
                    interval,
                ):
                    loc.limits = Limit(top, interval)
                if loc.first_limits is None:
                    loc.first_limits = loc.limits
        loc._settle(self._clock())

    def searched(self, location_id: str, *, total: int | None, whole: bool) -> None:
        """A contact search page was read (``whole``: of the whole location, unfiltered;
        ``total``: the answer's count of matches)."""
        loc = self.of(location_id)
        loc.pages += 1
        if whole and total is not None and loc.whole_total is None:
            loc.whole_total = total
