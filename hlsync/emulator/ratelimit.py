"""Upstream's rate limits (reference §4), driven by the emulator clock.

* Burst: at most ``burst_max`` requests per ``interval_ms`` window, counted per Private
  Integration per resource (its location, or its company for agency tokens). The key is
  the integration id, not the token, so rotating a token keeps the counter (upstream).
  The window is fixed: it opens at the first request after the previous one closed.
* Daily: at most ``daily_max`` requests per UTC day of the emulator clock, counted per
  resource and shared by all integrations of that resource.

A refused request (429) consumes neither budget. Every upstream response carries the five
``X-RateLimit-*`` headers from :meth:`RateLimiter.check`'s decision. The 429 body is ours
(upstream does not document one): ``{"statusCode": 429, "message": "Too Many Requests"}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from hlsync.emulator.clock import Clock

TOO_MANY_REQUESTS = {"statusCode": 429, "message": "Too Many Requests"}


@dataclass(frozen=True, slots=True)
class Limits:
    """Upstream's defaults: 100 per 10 s burst, 200,000 a day."""

    burst_max: int = 100
    interval_ms: int = 10_000
    daily_max: int = 200_000

    def __post_init__(self) -> None:
        if self.burst_max < 1 or self.interval_ms < 1 or self.daily_max < 1:
            raise ValueError("rate limits must be positive integers")

    def to_json(self) -> dict[str, int]:
        return {
            "burstMax": self.burst_max,
            "intervalMs": self.interval_ms,
            "dailyMax": self.daily_max,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limits: Limits
    burst_remaining: int
    daily_remaining: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The five upstream headers, as raw ASGI header pairs."""
        values = (
            ("x-ratelimit-limit-daily", self.limits.daily_max),
            ("x-ratelimit-daily-remaining", self.daily_remaining),
            ("x-ratelimit-interval-milliseconds", self.limits.interval_ms),
            ("x-ratelimit-max", self.limits.burst_max),
            ("x-ratelimit-remaining", self.burst_remaining),
        )
        return [(name.encode(), str(value).encode()) for name, value in values]


@dataclass(slots=True)
class _Window:
    started: datetime
    count: int = 0


@dataclass(slots=True)
class _Day:
    day: date
    count: int = 0


@dataclass(slots=True)
class RateLimiter:
    """Counts requests; not thread-safe (callers hold the state lock)."""

    clock: Clock
    limits: Limits = field(default_factory=Limits)
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)
    _days: dict[str, _Day] = field(default_factory=dict)

    def check(self, integration_id: str, resource_id: str) -> Decision:
        """Count one request if both budgets allow it; say what is left either way."""
        now = self.clock.now()
        limits = self.limits
        window = self._windows.get((integration_id, resource_id))
        interval = timedelta(milliseconds=limits.interval_ms)
        if window is None or now >= window.started + interval or now < window.started:
            window = _Window(now)
            self._windows[(integration_id, resource_id)] = window
        today = now.date()
        day = self._days.get(resource_id)
        if day is None or day.day != today:
            day = _Day(today)
            self._days[resource_id] = day
        allowed = window.count < limits.burst_max and day.count < limits.daily_max
        if allowed:
            window.count += 1
            day.count += 1
        return Decision(
            allowed=allowed,
            limits=limits,
            burst_remaining=max(limits.burst_max - window.count, 0),
            daily_remaining=max(limits.daily_max - day.count, 0),
        )

    def reset(self) -> None:
        """Forget every counter (admin: ``DELETE /_emulator/limits/counters``)."""
        self._windows.clear()
        self._days.clear()
