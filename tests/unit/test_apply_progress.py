"""The apply progress (live on a terminal, plain lines otherwise, ``--progress``) and
the colour decision of the CLI. The long apply on a fake clock is in
``test_progress_long_apply``."""

from __future__ import annotations

import argparse
import io

import pytest

from hlsync.cli import build_parser, main
from hlsync.commands._common import want_color
from hlsync.commands.progress import (
    PLAIN_QUIET,
    ApplyProgress,
    clock_text,
    display_for,
)
from hlsync.core.plan import Change, Plan, PlanLocation
from hlsync.core.result import Outcome


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _plan() -> Plan:
    changes = [
        Change(address, "create", "tag", "main", "LOC-1", key, api_calls=1)
        for address, key in (
            ('main.tag["vip"]', "vip"),
            ('main.tag["a"]', "a"),
            ('main.tag["b"]', "b"),
        )
    ]
    return Plan(
        "0.1.0",
        "sha256:" + "0" * 64,
        "sandbox",
        (PlanLocation("main", "LOC-1"),),
        tuple(changes),
    )


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def _decide_three(progress: ApplyProgress, clock: _Clock, at: float = 0.0) -> None:
    clock.now = at
    progress.decided(Outcome('main.tag["vip"]', "ok"))
    clock.now = at + 1.0
    progress.decided(Outcome('main.tag["a"]', "failed", "boom"))
    clock.now = at + 2.0
    progress.waiting(1, 0.5)
    progress.decided(Outcome('main.tag["b"]', "skipped"))
    progress.finish()


def test_live_progress_redraws_its_block_and_lists_failures_above_it() -> None:
    stream, clock = _Terminal(), _Clock()
    progress = ApplyProgress(_plan(), None, stream, "auto", clock=clock)
    assert progress.display == "live"
    _decide_three(progress, clock)
    text = stream.getvalue()
    # the failure goes above the block (none drawn yet: no tick), then the block
    assert '\r\x1b[J  failed main.tag["a"]\n\r\x1b[Japplying: 2/3' in text
    # each later draw goes back to the top of the two-line block and clears it
    assert text.count("\x1b[1A\r\x1b[J") == 2  # the settle wait, the last draw
    assert "waiting for search to show 1 written (0.5 s)" in text
    assert "boom" not in text  # details belong to the report on stdout
    last = text.rpartition("\x1b[J")[2]
    assert last.startswith("applied: 3/3 changes, 1 failed, 0:02 elapsed")
    assert "\n  main: 3/3 changes, 1 failed, done at 0:02\n" in last


def test_plain_progress_off_a_terminal() -> None:
    stream, clock = io.StringIO(), _Clock()
    progress = ApplyProgress(_plan(), None, stream, "auto", clock=clock)
    assert progress.display == "plain"
    _decide_three(progress, clock, at=PLAIN_QUIET)
    assert stream.getvalue().splitlines() == [
        # 1 of 3 crosses the 10 % and 20 % steps: a line
        "[0:10] main: 1/3 changes (33%), 0.0 req/s of 10.0 allowed (upstream's "
        "default), waited 0.0 s for the rate window, ETA 0:00",
        '[0:11] failed main.tag["a"]',
        "[0:11] main: 2/3 changes (66%), 1 failed, 0.0 req/s of 10.0 allowed "
        "(upstream's default), waited 0.0 s for the rate window, ETA 0:00",
        "[0:12] waiting for search to show 1 written (0.5 s)",
        "[0:12] main: 3/3 changes (100%), 1 failed, done at 0:12",
        "[0:12] applied: 3/3 changes, 1 failed, 0:12 elapsed; waiting for search "
        "to show 1 written (0.5 s)",
    ]


def test_a_quick_apply_leaves_only_its_report_in_a_log() -> None:
    stream, clock = io.StringIO(), _Clock()
    progress = ApplyProgress(_plan(), None, stream, "plain", clock=clock)
    _decide_three(progress, clock, at=PLAIN_QUIET - 3)  # done before it may speak
    assert stream.getvalue() == ""
    live, clock = _Terminal(), _Clock()
    progress = ApplyProgress(_plan(), None, live, "auto", clock=clock)
    _decide_three(progress, clock)
    assert "applied: 3/3" in live.getvalue()  # a terminal is drawn on at once


def test_never_says_nothing_and_always_draws_even_off_a_terminal() -> None:
    stream, clock = _Terminal(), _Clock()
    progress = ApplyProgress(_plan(), None, stream, "never", clock=clock)
    assert not progress.enabled
    _decide_three(progress, clock)
    assert stream.getvalue() == ""
    assert display_for("always", io.StringIO()) == "live"
    # a plan with nothing for the API to do (the live cloud's integrations are by
    # hand) shows nothing either
    empty = Plan("0.1.0", "sha256:" + "0" * 64, "sandbox", (), ())
    assert not ApplyProgress(empty, None, _Terminal(), "always").enabled
    assert display_for("plain", _Terminal()) == "plain"


def test_clock_text() -> None:
    assert [clock_text(s) for s in (0, 44.6, 725, 3723)] == [
        "0:00",
        "0:45",
        "12:05",
        "1:02:03",
    ]


def test_progress_flag_defaults_to_auto_and_takes_the_four_modes() -> None:
    assert build_parser().parse_args(["apply"]).progress == "auto"
    for mode in ("auto", "always", "never", "plain"):
        assert build_parser().parse_args(["apply", "--progress", mode]).progress == mode


@pytest.mark.parametrize("value", ["sometimes", "", "AUTO"])
def test_a_bad_progress_value_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--progress", value]) == 1
    err = capsys.readouterr().err
    assert f"argument --progress: invalid choice: {value!r}" in err
    assert "'auto', 'always', 'never', 'plain'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("tty", "no_color_flag", "env", "expected"),
    [
        (True, False, {}, True),
        (True, True, {}, False),
        (True, False, {"NO_COLOR": "1"}, False),
        (False, False, {}, False),
    ],
)
def test_colour_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch,
    tty: bool,
    no_color_flag: bool,
    env: dict[str, str],
    expected: bool,
) -> None:
    monkeypatch.setattr("sys.stdout", _Terminal() if tty else io.StringIO())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert want_color(argparse.Namespace(no_color=no_color_flag)) is expected
