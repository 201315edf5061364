"""Where a long apply is, on stderr (issue 12, item 6; ``--progress``).

``--progress auto`` (the default) draws live on a terminal and writes plain lines
otherwise; ``always`` draws live even off a terminal; ``plain`` always writes plain
lines; ``never`` writes nothing. The report on stdout is the same in every mode.

* Live: a header line (changes done of all, failed, elapsed, ETA) and one line per
  location (the busiest :data:`LIVE_ROWS` of them while they work), redrawn in place
  every :data:`TICK` seconds with ANSI cursor moves; a failed change gets a line of
  its own above them.
* Plain (CI logs): a line for a location whenever :data:`PLAIN_EVERY` seconds have
  passed since its last one or its work crossed another :data:`PLAIN_STEP` of its
  total, whichever comes first (step lines at most one per :data:`PLAIN_GAP`, so a
  quick apply is not a line per change; its last line always); a failed change at
  once; a closing line. Nothing at all during the first :data:`PLAIN_QUIET` seconds:
  an apply that ends sooner leaves only its report in the log.

A location's line: its changes done of its total, the requests per second it sends
against the rate the server allows it (``X-RateLimit-Max`` per interval; upstream's
documented default until a response said), the time it spent held back by the rate
window (requests waiting, none in flight: ``upstream.traffic``) and its ETA: the
requests it has left (the plan's calls of its changes, less those sent) ÷ the allowed
rate, corrected by the observed one: the lower of the allowed rate and the rate the
location has kept since its first request of this apply (a latency-bound location
sends slower than it is allowed to; over the whole apply, a window's bursts and
pauses average out). The requests per second shown are the recent ones
(``traffic.rate_span``). Locations run in parallel: the run's ETA is the largest.

Clock and sleep are injectable, so tests drive it in virtual time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Literal, TextIO

from hlsync.commands.arguments import ProgressMode
from hlsync.core.estimate import DEFAULT_LIMIT
from hlsync.core.plan import AGENCY, Plan
from hlsync.core.result import Outcome
from hlsync.upstream.traffic import LocationTraffic, Traffic

Display = Literal["live", "plain"]

TICK = 0.5  # seconds between live redraws (and plain-line checks)
PLAIN_EVERY = 10.0  # seconds between a location's plain lines, at most
PLAIN_STEP = 0.1  # a plain line each time a location's work crosses this fraction
PLAIN_GAP = 1.0  # seconds between a location's step lines, at least (but its last)
PLAIN_QUIET = 10.0  # seconds of an apply before its first plain line
LIVE_ROWS = 12  # locations drawn live at once; the others are summed up in one line
MIN_OBSERVED = 1.0  # seconds of a location's requests before its rate corrects the ETA

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def display_for(mode: ProgressMode, stream: TextIO) -> Display | None:
    """How ``mode`` shows progress on ``stream`` (None: not at all)."""
    if mode == "never":
        return None
    if mode == "plain":
        return "plain"
    if mode == "always":
        return "live"
    return "live" if stream.isatty() else "plain"


def clock_text(seconds: float) -> str:
    """``0:45``, ``12:03``, ``1:02:03``."""
    whole = max(math.floor(seconds + 0.5), 0)  # half a second up, always
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


class Screen:
    """One progress display on a stream: the live block, redrawn in place (ANSI: back
    to its top, clear to the end of the screen, the lines again), or plain lines."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.drawn = 0  # lines of the live block on screen

    def draw(self, lines: list[str]) -> None:
        up = f"\x1b[{self.drawn - 1}A" if self.drawn > 1 else ""
        self.write(f"{up}\r\x1b[J" + "\n".join(lines))
        self.drawn = len(lines)

    def above(self, text: str) -> None:
        """A line above the live block (the block is drawn again by the next draw)."""
        up = f"\x1b[{self.drawn - 1}A" if self.drawn > 1 else ""
        self.write(f"{up}\r\x1b[J  {text}\n")
        self.drawn = 0

    def close(self) -> None:
        """End the live block: what follows starts on a line of its own."""
        self.write("\n")
        self.drawn = 0

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


@asynccontextmanager
async def ticking(
    tick: Callable[[], None], finish: Callable[[], None], sleep: Sleep
) -> AsyncIterator[None]:
    """Call ``tick`` every :data:`TICK` seconds while the block runs, then ``finish``
    (also when the block raises or is cancelled)."""

    async def ticks() -> None:
        while True:
            await sleep(TICK)
            tick()

    ticker = asyncio.create_task(ticks())
    try:
        yield
    finally:
        ticker.cancel()
        with suppress(asyncio.CancelledError):
            await ticker
        finish()


@dataclass(slots=True)
class _Row:
    """One location's (or the agency's) share of the apply."""

    name: str
    key: str | None  # the location id its requests are observed under
    total: int
    calls: int
    done: int = 0
    failed: int = 0
    sent_before: int = 0
    waited_before: float = 0.0
    finished_at: float | None = None
    began: float | None = None  # its first request of this apply
    last_line: float | None = None
    last_step: int = 0

    @property
    def finished(self) -> bool:
        return self.done >= self.total


class ApplyProgress:
    """The progress of one apply of ``plan``'s pending changes (module docstring).

    Call :meth:`decided` with each outcome (``apply_plan``'s ``on_outcome``),
    :meth:`waiting` from the settle wait, and run the apply inside :meth:`running`.
    """

    def __init__(
        self,
        plan: Plan,
        traffic: Traffic | None,
        stream: TextIO,
        mode: ProgressMode = "auto",
        *,
        agency_key: str | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.display = display_for(mode, stream)
        self.stream = stream
        self._screen = Screen(stream)
        self._traffic = traffic
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        ids = {loc.name: loc.id for loc in plan.locations}
        self._rows: dict[str, _Row] = {}
        self._row_of: dict[str, _Row] = {}
        for change in plan.pending:
            name = change.location or AGENCY
            row = self._rows.get(name)
            if row is None:
                key = agency_key if change.location is None else ids.get(name)
                row = self._rows[name] = _Row(name, key or change.location_id, 0, 0)
                seen = self._seen(row)
                if seen is not None:
                    row.sent_before = seen.first_sends
                    row.waited_before = seen.waited(self._started)
            row.total += 1
            row.calls += change.api_calls
            self._row_of[change.address] = row
        if not self._rows:
            self.display = None  # nothing to apply here (all by hand): nothing to show
        self._settle: tuple[int, float] | None = None
        self._settle_line = -PLAIN_EVERY
        self._wrote = False  # a plain line was written (then the closing one is too)

    @property
    def enabled(self) -> bool:
        return self.display is not None

    # -- events ---------------------------------------------------------------

    def decided(self, outcome: Outcome) -> None:
        row = self._row_of.get(outcome.change_address)
        if row is None:
            return
        now = self._clock()
        row.done += 1
        if row.finished:
            row.finished_at = now
        if outcome.status == "failed":
            row.failed += 1
            self._note(f"failed {outcome.change_address}", now)
        if self.display == "plain":
            self._plain_row(row, now)

    def waiting(self, unseen: int, waited: float) -> None:
        """The read-your-writes wait after the changes (``engine.settle``)."""
        self._settle = (unseen, waited)
        now = self._clock()
        if self.display == "live":
            self._draw(now)
        elif (
            self.display == "plain"
            and not self._quiet(now)
            and now - self._settle_line >= PLAIN_EVERY
        ):
            self._settle_line = now
            self._write(f"[{self._elapsed(now)}] {self._settle_text()}\n")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Redraw (live) or check for due lines (plain) every :data:`TICK` while the
        block runs; the closing draw or line when it ends."""
        if self.display is None:
            yield
            return
        async with ticking(self.tick, self.finish, self._sleep):
            yield

    def finish(self) -> None:
        now = self._clock()
        if self.display == "live":
            self._draw(now)
            self._screen.close()
        elif self.display == "plain" and self._wrote:
            self._write(f"[{self._elapsed(now)}] {self._header(now)}\n")

    def tick(self) -> None:
        """Redraw (live), or write the plain lines that are due."""
        now = self._clock()
        if self.display == "live":
            self._draw(now)
        elif self.display == "plain":
            for row in self._rows.values():
                if not row.finished:
                    self._plain_row(row, now)

    # -- figures --------------------------------------------------------------

    def _seen(self, row: _Row) -> LocationTraffic | None:
        if self._traffic is None or row.key is None:
            return None
        return self._traffic.of(row.key)

    def eta(self, row: _Row, now: float) -> float:
        """Seconds the row's remaining requests take (module docstring)."""
        if row.finished:
            return 0.0
        seen = self._seen(row)
        sent = 0 if seen is None else seen.first_sends - row.sent_before
        remaining = max(row.calls - sent, 0)
        rate = self._allowed(seen)
        if seen is not None and row.began is None:
            row.began = next((t for t in seen.recent if t >= self._started), None)
        if row.began is not None and now - row.began >= MIN_OBSERVED and sent > 0:
            # the rate this location has kept since it began: over the whole apply
            # a window's bursts and pauses average out, and a location that waited
            # for a slot (--parallel-locations) is measured from its first request
            rate = min(rate, sent / (now - row.began))
        return remaining / rate if rate > 0 else 0.0

    def _allowed(self, seen: LocationTraffic | None) -> float:
        if seen is not None and seen.limits is not None:
            return seen.limits.per_second
        return DEFAULT_LIMIT.per_second

    def _elapsed(self, now: float) -> str:
        return clock_text(now - self._started)

    # -- text -----------------------------------------------------------------

    def row_text(self, row: _Row, now: float) -> str:
        text = f"{row.name}: {row.done}/{row.total} changes"
        if self.display == "plain":
            text += f" ({100 * row.done // max(row.total, 1)}%)"
        if row.failed:
            text += f", {row.failed} failed"
        if row.finished_at is not None:
            return text + f", done at {clock_text(row.finished_at - self._started)}"
        seen = self._seen(row)
        allowed = self._allowed(seen)
        observed = None if seen is None else seen.rate(now, since=self._started)
        limit = "" if seen is not None and seen.limits else " (upstream's default)"
        waited = 0.0 if seen is None else seen.waited(now) - row.waited_before
        return (
            f"{text}, {observed or 0.0:.1f} req/s of {allowed:.1f} allowed{limit}, "
            f"waited {waited:.1f} s for the rate window, "
            f"ETA {clock_text(self.eta(row, now))}"
        )

    def _header(self, now: float) -> str:
        done = sum(r.done for r in self._rows.values())
        total = sum(r.total for r in self._rows.values())
        failed = sum(r.failed for r in self._rows.values())
        verb = "applied" if done >= total else "applying"
        text = f"{verb}: {done}/{total} changes, {failed} failed, "
        text += f"{self._elapsed(now)} elapsed"
        if done < total:
            left = max((self.eta(r, now) for r in self._rows.values()), default=0.0)
            text += f", ETA {clock_text(left)}"
        if self._settle is not None:
            text += "; " + self._settle_text()
        return text

    def _settle_text(self) -> str:
        unseen, waited = self._settle or (0, 0.0)
        return f"waiting for search to show {unseen} written ({waited:.1f} s)"

    def _live_lines(self, now: float) -> list[str]:
        rows = sorted(
            self._rows.values(),
            key=lambda r: (r.finished, -(r.total - r.done), r.name),
        )
        shown = rows[:LIVE_ROWS]
        lines = [self._header(now)] + [f"  {self.row_text(r, now)}" for r in shown]
        rest = rows[LIVE_ROWS:]
        if rest:
            done = sum(r.done for r in rest)
            total = sum(r.total for r in rest)
            lines.append(f"  … {len(rest)} more locations: {done}/{total} changes")
        return lines

    # -- output ---------------------------------------------------------------

    def _plain_row(self, row: _Row, now: float) -> None:
        if self._quiet(now):
            return
        step = int(row.done / max(row.total, 1) / PLAIN_STEP + 1e-9)
        since = now - (self._started if row.last_line is None else row.last_line)
        stepped = step > row.last_step and (
            row.finished or row.last_line is None or since >= PLAIN_GAP
        )
        if not (stepped or since >= PLAIN_EVERY):
            return
        row.last_line = now
        row.last_step = max(step, row.last_step)
        self._write(f"[{self._elapsed(now)}] {self.row_text(row, now)}\n")

    def _note(self, text: str, now: float) -> None:
        if self.display == "live":
            self._screen.above(text)
            self._draw(now)
        elif self.display == "plain" and not self._quiet(now):
            self._write(f"[{self._elapsed(now)}] {text}\n")

    def _draw(self, now: float) -> None:
        self._screen.draw(self._live_lines(now))

    def _quiet(self, now: float) -> bool:
        """Plain lines wait :data:`PLAIN_QUIET` seconds (module docstring)."""
        return self.display == "plain" and now - self._started < PLAIN_QUIET

    def _write(self, text: str) -> None:
        self._wrote = True
        self._screen.write(text)
