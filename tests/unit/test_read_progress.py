"""A long plan's reads show where they are (pages read / expected), a quick one shows
nothing (issue 12, item 6). The client's traffic hooks are driven on a manual clock:
one search page per second, the window reported as 1 request / 1 s."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest

from hlsync.cli import main
from hlsync.commands import read_progress
from hlsync.commands.arguments import ProgressMode
from hlsync.commands.read_progress import ReadProgress
from hlsync.core.model import DesiredState
from hlsync.upstream.traffic import Traffic
from tests.examples_copy import copy_example
from tests.unit.conftest import representative

HEADERS = {"X-RateLimit-Max": "1", "X-RateLimit-Interval-Milliseconds": "1000"}


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _desired(contacts: int) -> DesiredState:
    desired, _ = representative()
    spec = desired.locations[0]
    one = spec.contacts[0]
    many = tuple(
        dataclasses.replace(one, key=f"email:c{i}@example.com") for i in range(contacts)
    )
    return dataclasses.replace(
        desired, locations=(dataclasses.replace(spec, contacts=many),)
    )


def _read(
    progress: ReadProgress, traffic: Traffic, clock: _Clock, pages: int, total: int
) -> list[str]:
    """One page a second (the first a whole-location page saying ``total``); a tick
    every half second; the text written after each second."""
    stream = progress._screen.stream
    assert isinstance(stream, io.StringIO)
    location_id = _desired(1).locations[0].id
    seen = []
    for page in range(pages):
        traffic.waiting(location_id)
        traffic.started(location_id, first=True)
        traffic.answered(location_id, HEADERS)
        traffic.searched(location_id, total=total, whole=page == 0)
        for _ in range(2):
            clock.now += 0.5
            progress.tick()
        seen.append(stream.getvalue())
    progress.finish()
    return seen


def test_a_long_read_shows_pages_read_of_expected_every_ten_seconds() -> None:
    # 3,000 declared contacts: K = 30 lookups; the location holds 12,000: W = 24 pages
    clock, stream = _Clock(), io.StringIO()
    traffic = Traffic(clock=clock)
    progress = ReadProgress(
        _desired(3000), traffic, stream, "auto", batch_size=100, clock=clock
    )
    assert progress.display == "plain"
    seen = _read(progress, traffic, clock, 24, 12_000)
    assert seen[8] == ""  # nothing during the first 10 s
    lines = stream.getvalue().splitlines()
    assert lines[0] == (
        "[0:10] main: 10/24 contact pages, 10 requests, 1.0 req/s of 1.0 allowed, "
        "waited 0.0 s for the rate window, ETA 0:14"
    )
    # then a line at each 10 % step of the 24 pages (or 10 s), the last when all
    # were read; each written at the first tick after its page
    shown = [re.match(r"\[0:(\d\d)\] main: (\d+)/24 ", line) for line in lines[:-1]]
    assert [int(m[2]) for m in shown if m] == [10, 12, 15, 17, 20, 22, 24]
    assert [int(m[1]) for m in shown if m] == [10, 12, 15, 17, 20, 22, 24]
    assert lines[-1] == (
        "[0:24] reading: 24/24 contact pages, 24 requests, 0:24 elapsed, ETA 0:00"
    )


def test_the_expected_pages_are_the_lookups_until_a_whole_page_tells_more() -> None:
    clock = _Clock()
    traffic = Traffic(clock=clock)
    progress = ReadProgress(
        _desired(3000), traffic, _Terminal(), "auto", batch_size=100, clock=clock
    )
    row = progress._rows[0]
    assert (row.pages, row.expected) == (0, 30)  # K = 30 lookups
    traffic.searched("LOC-main-0001", total=1_000, whole=True)
    assert (row.pages, row.expected) == (1, 2)  # W = 2 pages: cheaper
    traffic.searched("LOC-main-0001", total=1_000, whole=True)
    traffic.searched("LOC-main-0001", total=1_000, whole=True)
    assert (row.pages, row.expected) == (3, 3)  # never less than what was read


def test_a_quick_read_shows_nothing_and_a_long_one_redraws_live() -> None:
    clock, stream = _Clock(), _Terminal()
    traffic = Traffic(clock=clock)
    progress = ReadProgress(
        _desired(300), traffic, stream, "auto", batch_size=100, clock=clock
    )
    clock.now = 0.9
    progress.tick()
    progress.finish()
    assert stream.getvalue() == ""  # under a second: nothing at all

    clock, stream = _Clock(), _Terminal()
    traffic = Traffic(clock=clock)
    progress = ReadProgress(
        _desired(300), traffic, stream, "auto", batch_size=100, clock=clock
    )
    _read(progress, traffic, clock, 3, 1500)  # W = 3 pages
    text = stream.getvalue()
    assert text.startswith(
        "\r\x1b[Jreading: 1/3 contact pages, 1 request, 0:01 elapsed"
    )
    assert "\x1b[1A\r\x1b[Jreading: 3/3 contact pages" in text
    assert text.endswith("\n")


def test_never_and_no_traffic_show_nothing() -> None:
    clock = _Clock()
    cases: list[tuple[ProgressMode, Traffic | None]] = [
        ("never", Traffic(clock=clock)),
        ("always", None),
    ]
    for mode, traffic in cases:
        stream = _Terminal()
        progress = ReadProgress(
            _desired(300),
            traffic,
            stream,
            mode,
            batch_size=100,
            clock=clock,
        )
        assert progress.display is None
        clock.now += 20
        progress.tick()
        progress.finish()
        assert stream.getvalue() == ""


def test_plan_takes_progress_and_refuses_a_bad_value(
    tmp_path: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "--progress", "loud"]) == 1
    assert "argument --progress: invalid choice: 'loud'" in capsys.readouterr().err
    monkeypatch.chdir(copy_example("quickstart", tmp_path))  # type: ignore[arg-type]
    monkeypatch.setattr(read_progress, "QUIET_LIVE", 0.0)  # show even a quick read
    assert main(["plan", "--progress", "always"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b[" not in out and "Plan: 10 to add" in out
    assert "\r\x1b[Jreading: " in err and "  main: " in err
    assert main(["plan", "--progress", "plain"]) == 0
    assert capsys.readouterr().err == ""  # a quick plan writes no plain line
