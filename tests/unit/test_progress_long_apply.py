"""A long apply on a fake clock, and the progress it shows (issue 12, item 6).

Two locations apply 600 and 1,200 tag creates through the real client, pacer, traffic
observer and applier against an in-process fake upstream (``httpx.MockTransport``)
whose fixed rate window and latency run on a virtual clock, so two minutes of apply take
no real waiting. ``steady`` is held by its window (5 requests / 1 s); ``slow`` by
its latency (0.2 s a request, far below its 1,000 / 1 s). Every progress line written is
checked against what the fake upstream saw at that virtual moment: the counts, the
request rate, the allowed rate, the time held back by the window, and the ETA against
the time that really remained (known from the fake clock once the apply is over).
"""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import dataclass, field

import httpx
import pytest

from hlsync.commands.arguments import ProgressMode
from hlsync.commands.progress import (
    PLAIN_EVERY,
    PLAIN_QUIET,
    TICK,
    ApplyProgress,
    clock_text,
)
from hlsync.core.plan import Change, Plan, PlanLocation
from hlsync.core.result import Outcome
from hlsync.engine.applier import apply_plan
from hlsync.targets.access import TargetAccess
from hlsync.upstream.client import ApiClient, RetryPolicy
from hlsync.upstream.pacing import Pacer
from hlsync.upstream.traffic import Limit, Traffic, rate_span
from tests.virtual_time import VirtualTime

DIGEST = "sha256:" + "3" * 64


@dataclass
class FakeLocation:
    """One location of the fake upstream: a fixed window like the emulator's (it opens
    at the first request after the last one closed), a latency, and what it saw."""

    max: int
    interval: float
    latency: float
    window_start: float | None = None
    count: int = 0
    arrivals: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    in_flight: int = 0
    idle_since: float | None = None
    idle_spans: list[tuple[float, float]] = field(default_factory=list)

    def arrive(self, now: float) -> None:
        if self.idle_since is not None:
            self.idle_spans.append((self.idle_since, now))
            self.idle_since = None
        self.in_flight += 1
        self.arrivals.append(now)

    def decide(self, now: float) -> tuple[int, dict[str, str]]:
        if self.window_start is None or now >= self.window_start + self.interval:
            self.window_start, self.count = now, 0
        allowed = self.count < self.max
        self.count += allowed
        self.statuses.append(200 if allowed else 429)
        return (200 if allowed else 429), {
            "X-RateLimit-Max": str(self.max),
            "X-RateLimit-Remaining": str(self.max - self.count),
            "X-RateLimit-Interval-Milliseconds": str(int(self.interval * 1000)),
            "X-RateLimit-Limit-Daily": "200000",
            "X-RateLimit-Daily-Remaining": "100000",
        }

    def leave(self, now: float) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.idle_since = now

    def idle_until(self, t: float) -> float:
        """Seconds with nothing in flight between the first request and ``t``."""
        spans = [*self.idle_spans]
        if self.idle_since is not None:
            spans.append((self.idle_since, float("inf")))
        return sum(max(min(end, t) - start, 0.0) for start, end in spans)

    def rate_at(self, t: float, arrived: int) -> float:
        """Requests per second received over the rate span before ``t`` (of the first
        ``arrived``: those that came at ``t`` itself after the line was written do not
        count)."""
        span = rate_span(Limit(self.max, int(self.interval * 1000)))
        seen = sum(1 for a in self.arrivals[:arrived] if t - span <= a <= t)
        return seen / max(min(span, t), 1.0)  # over a second at least


@dataclass
class FakeUpstream:
    vt: VirtualTime
    locations: dict[str, FakeLocation]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        location_id = request.url.path.split("/")[2]
        loc = self.locations[location_id]
        loc.arrive(self.vt.now)
        await self.vt.sleep(loc.latency / 2)
        status, headers = loc.decide(self.vt.now)
        await self.vt.sleep(loc.latency / 2)
        loc.leave(self.vt.now)
        name = request.read().decode()
        body = {"tag": {"id": f"id-{len(loc.arrivals)}", "name": name}}
        return httpx.Response(status, json=body, headers=headers)


class Recorder(io.StringIO):
    """The progress stream: each write with the virtual time and the outcomes decided
    by then (per location)."""

    def __init__(self, vt: VirtualTime, upstream: FakeUpstream, terminal: bool) -> None:
        super().__init__()
        self.vt = vt
        self.upstream = upstream
        self.terminal = terminal
        self.decided: dict[str, int] = {}
        self.writes: list[tuple[float, str, dict[str, int]]] = []

    def isatty(self) -> bool:
        return self.terminal

    def write(self, text: str) -> int:
        # what was decided, and how many requests each location received, by now
        seen = dict(self.decided)
        for loc_id, loc in self.upstream.locations.items():
            seen[loc_id] = len(loc.arrivals)
        self.writes.append((self.vt.now, text, seen))
        return super().write(text)


LOCATIONS = {
    # name: (id, tags, max, interval s, latency s)
    "steady": ("LOC-steady", 600, 5, 1.0, 0.05),
    # far more allowed than any in-flight cap reaches at 0.2 s a request
    "slow": ("LOC-slow", 1200, 1000, 1.0, 0.2),
}


def _plan() -> Plan:
    changes = [
        Change(
            address=f'{name}.tag["t{i:04d}"]',
            action="create",
            kind="tag",
            location=name,
            location_id=location_id,
            key=f"t{i:04d}",
            desired={"name": f"t{i:04d}"},
            api_calls=1,
        )
        for name, (location_id, count, *_) in LOCATIONS.items()
        for i in range(count)
    ]
    locations = tuple(PlanLocation(n, v[0]) for n, v in LOCATIONS.items())
    return Plan("0.1.0", DIGEST, "sandbox", locations, tuple(changes))


@dataclass
class Run:
    stream: Recorder
    upstream: FakeUpstream
    finished: dict[str, float]  # virtual time each location's last change was decided
    outcomes: list[Outcome]


def _long_apply(mode: ProgressMode, terminal: bool) -> Run:
    vt = VirtualTime()
    upstream = FakeUpstream(
        vt,
        {
            loc_id: FakeLocation(top, interval, latency)
            for loc_id, _, top, interval, latency in LOCATIONS.values()
        },
    )
    stream = Recorder(vt, upstream, terminal)
    finished: dict[str, float] = {}
    outcomes: list[Outcome] = []
    plan = _plan()

    async def main() -> None:
        transport = httpx.MockTransport(upstream.handle)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1"
        ) as http:
            traffic = Traffic(clock=vt.clock)
            api = ApiClient(
                http,
                # 8 in flight at most: slow stays held by its latency for a minute
                # (the default cap, 64, would finish it in 4 s, too soon for ETAs)
                pacer=Pacer(max_in_flight=8, clock=vt.clock, sleep=vt.sleep),
                retry=RetryPolicy(sleep=vt.sleep),
                traffic=traffic,
            )
            access = TargetAccess(
                locations={
                    name: api.location(loc_id, f"token-{name}")
                    for name, (loc_id, *_) in LOCATIONS.items()
                },
                traffic=traffic,
            )
            progress = ApplyProgress(
                plan,
                traffic,
                stream,
                mode,
                clock=vt.clock,
                sleep=vt.sleep,
            )

            def decided(outcome: Outcome) -> None:
                outcomes.append(outcome)
                where = outcome.location
                stream.decided[where] = stream.decided.get(where, 0) + 1
                finished[where] = vt.now
                progress.decided(outcome)

            async with progress.running():
                await apply_plan(plan, access, on_outcome=decided)

    asyncio.run(vt.run(main()))
    return Run(stream, upstream, finished, outcomes)


LINE = re.compile(
    r"(?P<name>\w+): (?P<done>\d+)/(?P<total>\d+) changes(?: \((?P<pct>\d+)%\))?"
    r"(?:, (?P<rate>[\d.]+) req/s of (?P<allowed>[\d.]+) allowed, "
    r"waited (?P<waited>[\d.]+) s for the rate window, "
    r"ETA (?P<eta>[\d:]+)|, done at (?P<at>[\d:]+))"
)


def _seconds(text: str) -> int:
    total = 0
    for part in text.split(":"):
        total = total * 60 + int(part)
    return total


@dataclass
class Seen:
    at: float
    name: str
    done: int
    total: int
    decided: int
    arrived: int
    match: re.Match[str]


def _lines(run: Run) -> list[Seen]:
    seen = []
    for at, text, decided in run.stream.writes:
        for line in re.split(r"[\n\r]", text):
            match = LINE.search(line)
            if match is not None:
                name = match["name"]
                seen.append(
                    Seen(
                        at,
                        name,
                        int(match["done"]),
                        int(match["total"]),
                        decided.get(name, 0),
                        decided[LOCATIONS[name][0]],
                        match,
                    )
                )
    return seen


def _check_figures(run: Run, lines: list[Seen]) -> None:
    """Counts, rates, waits and ETA of every line against the fake upstream."""
    assert all(o.status == "ok" for o in run.outcomes)
    assert len(run.outcomes) == 1800
    for loc_id, *_ in LOCATIONS.values():
        assert set(run.upstream.locations[loc_id].statuses) == {200}  # no 429
    checked_eta = {name: 0 for name in LOCATIONS}
    for line in lines:
        loc_id, total, top, interval, _ = LOCATIONS[line.name]
        upstream = run.upstream.locations[loc_id]
        assert line.total == total
        assert line.done == line.decided  # the count is exactly what was decided
        m = line.match
        if m["at"] is not None:
            assert line.done == total
            assert m["at"] == clock_text(run.finished[line.name])
            continue
        # the allowed rate is the one the server reported
        assert float(m["allowed"]) == pytest.approx(top / interval)
        # the request rate is what the upstream received over the same span
        real = upstream.rate_at(line.at, line.arrived)
        assert float(m["rate"]) == pytest.approx(real, abs=0.05)
        # time held back by the window = time the upstream had nothing in flight
        assert float(m["waited"]) == pytest.approx(
            upstream.idle_until(line.at), rel=0.05, abs=0.1
        )
        # the ETA against the time that really remained (from the fake clock): from
        # the first 10 % of the work (the rate is measured, not guessed: the first
        # request goes alone and the rest ramp up behind it) while ten rate windows
        # or more remain (at the very end, one window's burst is a large part of
        # what is left, and the ETA is shown in whole seconds)
        actual = run.finished[line.name] - line.at
        if line.done >= total // 10 and actual >= 10 * interval:
            eta = _seconds(m["eta"])
            assert abs(eta - actual) <= 0.10 * actual, (line.name, line.at, eta, actual)
            checked_eta[line.name] += 1
    assert all(checked_eta.values()), checked_eta


def test_plain_lines_every_ten_seconds_or_ten_percent_with_true_figures() -> None:
    run = _long_apply("auto", terminal=False)  # auto, off a terminal: plain
    text = run.stream.getvalue()
    assert "\x1b[" not in text
    lines = _lines(run)
    _check_figures(run, lines)
    # the window held steady back; slow was never idle waiting for its window
    steady = run.upstream.locations["LOC-steady"]
    assert steady.idle_until(run.finished["steady"]) > 20
    slow = run.upstream.locations["LOC-slow"]
    assert slow.idle_until(run.finished["slow"]) < 0.5
    for name, (_, total, *_) in LOCATIONS.items():
        mine = [line for line in lines if line.name == name]
        assert mine[-1].done == total and mine[-1].match["at"] is not None
        previous_at, previous_step = 0.0, 0
        for line in mine:
            step = 10 * line.done // total
            assert line.match["pct"] == str(100 * line.done // total)
            # a line each 10 % of the work or each 10 s, whichever comes first
            assert line.at - previous_at <= PLAIN_EVERY + TICK
            assert step > previous_step or line.at - previous_at >= PLAIN_EVERY
            previous_at, previous_step = line.at, max(step, previous_step)
        # the first line comes once the apply has run PLAIN_QUIET seconds; from
        # there no 10 % step goes unreported
        assert PLAIN_QUIET <= mine[0].at <= PLAIN_QUIET + TICK
        steps = {10 * line.done // total for line in mine}
        assert steps >= set(range(10 * mine[0].done // total, 11))
    # steady's 10 % steps are further apart than 10 s: lines in between came from the
    # clock (they crossed no step)
    assert len([line for line in lines if line.name == "steady"]) > 11
    # slow finishes long before steady: its ETA was corrected by its observed rate
    assert run.finished["slow"] < 0.7 * run.finished["steady"]
    end = clock_text(run.finished["steady"])
    last = text.splitlines()[-1]
    assert last == f"[{end}] applied: 1800/1800 changes, 0 failed, {end} elapsed"


def test_live_lines_redraw_in_place_with_true_figures() -> None:
    run = _long_apply("auto", terminal=True)  # auto, on a terminal: live
    frames = [(at, text) for at, text, _ in run.stream.writes if "\x1b[J" in text]
    assert len(frames) > 100  # redrawn every tick for ~60 s
    for _, text in frames[1:]:
        # back to the top of the three-line block, cleared, drawn again
        assert text.startswith("\x1b[2A\r\x1b[J")
        body = text.removeprefix("\x1b[2A\r\x1b[J").split("\n")
        assert len(body) == 3
        assert body[0].startswith(("applying: ", "applied: "))
        assert body[1].startswith("  ") and body[2].startswith("  ")
    _check_figures(run, _lines(run))
    assert run.stream.getvalue().endswith("\n")
    final = frames[-1][1].split("\n")
    assert "applied: 1800/1800 changes, 0 failed" in final[0]
    assert "steady: 600/600 changes, done at" in final[1] + final[2]
    # the header's ETA is the slower location's
    for at, text in frames[20:60]:
        header, *rows = text.removeprefix("\x1b[2A\r\x1b[J").split("\n")
        etas = [_seconds(m["eta"]) for r in rows if (m := LINE.search(r)) and m["eta"]]
        shown = re.search(r"ETA ([\d:]+)", header)
        assert shown is not None and etas and _seconds(shown[1]) == max(etas), at
