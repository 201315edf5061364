"""How long a plan's API calls take at the rate limit (issue 12, item 4).

Each location (and the agency) has its own burst budget and they run in parallel, so
the busiest bucket sets the pace: its calls ÷ its allowed rate. The limit of a bucket is
the one the server reported while the plan read it (the first response's
``X-RateLimit-Max`` per ``X-RateLimit-Interval-Milliseconds``; ``Plan.rate_limits``),
else upstream's documented default, 100 requests / 10 s (reference §4); the estimate
says which it used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Upstream burst limit (reference §4): 100 requests per 10 s per integration per location.
RATE_MAX = 100
RATE_WINDOW_SECONDS = 10

AGENCY_BUCKET = "agency"  # the agency's integrations: the company key's budget


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``max`` requests per ``interval_ms``; ``reported``: the server said so (False:
    upstream's documented default)."""

    max: int
    interval_ms: int
    reported: bool = True

    def __post_init__(self) -> None:
        if self.max < 1 or self.interval_ms < 1:
            raise ValueError("a rate limit needs a positive maximum and interval")

    @property
    def per_second(self) -> float:
        return self.max * 1000.0 / self.interval_ms

    def describe(self) -> str:
        """``100 requests / 10 s``."""
        if self.interval_ms < 1000:
            return f"{self.max} requests / {self.interval_ms} ms"
        return f"{self.max} requests / {self.interval_ms / 1000:g} s"

    def to_dict(self) -> dict[str, int]:
        return {"max": self.max, "interval_ms": self.interval_ms}


DEFAULT_LIMIT = RateLimit(RATE_MAX, RATE_WINDOW_SECONDS * 1000, reported=False)


@dataclass(frozen=True, slots=True)
class Estimate:
    """``seconds`` (whole, rounded up) for ``calls``; ``pace`` is the bucket that sets
    the pace (None: no call) and ``limit`` its limit; ``uniform``: every bucket with
    calls has that same limit."""

    calls: int
    seconds: int
    pace: str | None
    limit: RateLimit
    uniform: bool


def estimate(
    calls_by_bucket: Iterable[tuple[str, int]],
    limits: Mapping[str, RateLimit],
) -> Estimate:
    """The estimate of ``(bucket, calls)`` pairs (a bucket may repeat) at ``limits``
    (by bucket; a bucket without one: :data:`DEFAULT_LIMIT`)."""
    per_bucket: dict[str, int] = {}
    for bucket, calls in calls_by_bucket:
        per_bucket[bucket] = per_bucket.get(bucket, 0) + calls
    busy = {b: n for b, n in per_bucket.items() if n}
    total = sum(per_bucket.values())
    if not busy:
        return Estimate(total, 0, None, DEFAULT_LIMIT, True)
    used = {b: limits.get(b, DEFAULT_LIMIT) for b in busy}
    pace = max(sorted(busy), key=lambda b: busy[b] / used[b].per_second)
    seconds = math.ceil(busy[pace] / used[pace].per_second - 1e-9)
    uniform = len(set(used.values())) == 1
    return Estimate(total, seconds, pace, used[pace], uniform)
