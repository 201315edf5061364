"""Where a long plan's reads are, on stderr (issue 12, item 6; ``--progress``).

The same display as an apply's (:mod:`hlsync.commands.progress`), for the reads of
``plan`` (and of ``apply PATH`` before it shows its plan), and only for a long one: a
plan read within :data:`QUIET_LIVE` seconds (live) or :data:`QUIET_PLAIN` (plain)
shows nothing, so a CI log of a quick plan holds no progress lines.

A location's line: the contact search pages it has read of those it is expected to
read, its requests, the requests per second it sends against the rate the server
allows it, the time it spent held back by the rate window and its ETA: the pages left
÷ the allowed rate, corrected by the rate it has kept since its first request. The
expected pages follow the read-path rule (``upstream.contact_search``): ``K`` batched
lookups of the declared contacts, or, once the first whole-location page has told how
many contacts the location holds, ``min(W, K)`` with ``W`` its pages of 500 (never less
than the pages already read).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TextIO

from hlsync.commands.arguments import ProgressMode
from hlsync.commands.progress import (
    LIVE_ROWS,
    MIN_OBSERVED,
    PLAIN_EVERY,
    PLAIN_STEP,
    Clock,
    Screen,
    Sleep,
    clock_text,
    display_for,
    ticking,
)
from hlsync.core.estimate import DEFAULT_LIMIT
from hlsync.core.model import DesiredState
from hlsync.upstream.client import SEARCH_PAGE_MAX
from hlsync.upstream.traffic import LocationTraffic, Traffic

QUIET_LIVE = 1.0  # seconds of reading before anything is drawn on a terminal
QUIET_PLAIN = PLAIN_EVERY  # seconds of reading before the first plain line


@dataclass(slots=True)
class _Reading:
    """One location's reads."""

    name: str
    seen: LocationTraffic
    lookups: int  # K: the batched lookups its declared contacts need (0: none)
    sent_before: int
    pages_before: int
    waited_before: float
    began: float | None = None
    last_line: float = 0.0
    last_step: int = 0

    @property
    def sent(self) -> int:
        return self.seen.first_sends - self.sent_before

    @property
    def pages(self) -> int:
        return self.seen.pages - self.pages_before

    @property
    def expected(self) -> int:
        estimate = self.lookups
        total = self.seen.whole_total
        if total is not None and self.lookups >= 2:
            estimate = min(math.ceil(total / SEARCH_PAGE_MAX), self.lookups)
        return max(estimate, self.pages)


class ReadProgress:
    """The progress of reading ``desired``'s locations (module docstring); run the
    reads inside :meth:`running`."""

    def __init__(
        self,
        desired: DesiredState,
        traffic: Traffic | None,
        stream: TextIO,
        mode: ProgressMode = "auto",
        *,
        batch_size: int,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.display = display_for(mode, stream) if traffic is not None else None
        self._screen = Screen(stream)
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self._shown = False
        self._rows: list[_Reading] = []
        if traffic is None:
            return
        for spec in desired.locations:
            seen = traffic.of(spec.id)
            self._rows.append(
                _Reading(
                    spec.name,
                    seen,
                    math.ceil(len(spec.contacts) / batch_size),
                    seen.first_sends,
                    seen.pages,
                    seen.waited(self._started),
                )
            )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        if self.display is None:
            yield
            return
        async with ticking(self.tick, self.finish, self._sleep):
            yield

    def tick(self) -> None:
        now = self._clock()
        elapsed = now - self._started
        if self.display == "live" and elapsed >= QUIET_LIVE:
            self._screen.draw(self._live_lines(now))
        elif self.display == "plain" and elapsed >= QUIET_PLAIN:
            for row in self._rows:
                self._plain_row(row, now)

    def finish(self) -> None:
        """The closing draw (a read longer than :data:`QUIET_LIVE`) or line (when a
        plain line was written)."""
        now = self._clock()
        if self.display == "live" and now - self._started >= QUIET_LIVE:
            self._screen.draw(self._live_lines(now))
            self._screen.close()
        elif self.display == "plain" and self._shown:
            self._screen.write(
                f"[{clock_text(now - self._started)}] {self._header(now)}\n"
            )

    # -- figures and text -----------------------------------------------------

    def eta(self, row: _Reading, now: float) -> float:
        left = max(row.expected - row.pages, 0)
        limits = row.seen.limits
        rate = (limits or DEFAULT_LIMIT).per_second
        if row.began is None:
            row.began = next((t for t in row.seen.recent if t >= self._started), None)
        if row.began is not None and now - row.began >= MIN_OBSERVED and row.sent:
            rate = min(rate, row.sent / (now - row.began))
        return left / rate if rate > 0 else 0.0

    def row_text(self, row: _Reading, now: float) -> str:
        seen = row.seen
        allowed = (seen.limits or DEFAULT_LIMIT).per_second
        limit = "" if seen.limits else " (upstream's default)"
        observed = seen.rate(now, since=self._started) or 0.0
        waited = seen.waited(now) - row.waited_before
        return (
            f"{row.name}: {row.pages}/{row.expected} contact pages, "
            f"{_requests(row.sent)}, {observed:.1f} req/s of {allowed:.1f} "
            f"allowed{limit}, waited {waited:.1f} s for the rate window, "
            f"ETA {clock_text(self.eta(row, now))}"
        )

    def _header(self, now: float) -> str:
        pages = sum(r.pages for r in self._rows)
        expected = sum(r.expected for r in self._rows)
        sent = sum(r.sent for r in self._rows)
        left = max((self.eta(r, now) for r in self._rows), default=0.0)
        return (
            f"reading: {pages}/{expected} contact pages, {_requests(sent)}, "
            f"{clock_text(now - self._started)} elapsed, ETA {clock_text(left)}"
        )

    def _live_lines(self, now: float) -> list[str]:
        rows = sorted(self._rows, key=lambda r: (r.pages - r.expected, r.name))
        lines = [self._header(now)]
        lines += [f"  {self.row_text(r, now)}" for r in rows[:LIVE_ROWS]]
        if len(rows) > LIVE_ROWS:
            rest = rows[LIVE_ROWS:]
            pages = sum(r.pages for r in rest)
            expected = sum(r.expected for r in rest)
            lines.append(
                f"  … {len(rest)} more locations: {pages}/{expected} contact pages"
            )
        return lines

    def _plain_row(self, row: _Reading, now: float) -> None:
        """A line when its pages crossed a step or 10 s passed, until a line said it
        read all it was expected to (a location with no contact to read: none)."""
        if row.expected == 0 or row.last_step * PLAIN_STEP >= 1:
            return
        step = int(row.pages / row.expected / PLAIN_STEP + 1e-9)
        due = now - max(row.last_line, self._started) >= PLAIN_EVERY
        if not (step > row.last_step or due):
            return
        self._shown = True
        row.last_line = now
        row.last_step = max(step, row.last_step)
        self._screen.write(
            f"[{clock_text(now - self._started)}] {self.row_text(row, now)}\n"
        )


def _requests(count: int) -> str:
    return f"{count} request{'' if count == 1 else 's'}"
