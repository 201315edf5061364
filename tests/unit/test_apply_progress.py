"""The apply progress line (only on a terminal) and the colour decision of the CLI."""

from __future__ import annotations

import argparse
import io

import pytest

from hlsync.commands._common import want_color
from hlsync.commands.apply import _Progress
from hlsync.core.result import Outcome


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_and_lists_failures() -> None:
    stream = _Terminal()
    progress = _Progress(3, stream)
    assert progress.enabled
    progress.update(Outcome('main.tag["vip"]', "ok"))
    progress.update(Outcome('main.contact["a@example.com"]', "failed", "boom"))
    progress.update(Outcome('main.contact["b@example.com"]', "skipped"))
    progress.finish()
    text = stream.getvalue()
    assert "\r\x1b[Kapplying: 1/3 done, 0 failed" in text
    assert '\r\x1b[K  failed main.contact["a@example.com"]\n' in text
    assert text.endswith("applying: 3/3 done, 1 failed\n")
    assert "boom" not in text  # details belong to the report on stdout


def test_no_progress_off_a_terminal() -> None:
    assert not _Progress(3, io.StringIO()).enabled


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
