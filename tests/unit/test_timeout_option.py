"""--timeout SECONDS: every command that talks to the upstream takes it, and only a
positive number of seconds."""

from __future__ import annotations

import pytest

from hlsync.cli import build_parser, main

UPSTREAM_COMMANDS = [
    ["plan"],
    ["apply"],
    ["verify", "main/ci"],
    ["token", "rotate", "main/ci"],
    ["token", "cancel-rotation", "main/ci"],
    ["token", "expire-old", "main/ci"],
]


@pytest.mark.parametrize("words", UPSTREAM_COMMANDS, ids=" ".join)
def test_the_budget_is_parsed_in_seconds(words: list[str]) -> None:
    assert build_parser().parse_args([*words, "--timeout", "2.5"]).timeout == 2.5
    assert build_parser().parse_args(words).timeout is None  # the 60 s default


@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf", "nan"])
@pytest.mark.parametrize("words", UPSTREAM_COMMANDS, ids=" ".join)
def test_anything_but_a_positive_number_is_a_usage_error(
    words: list[str], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*words, "--timeout", value]) == 1
    err = capsys.readouterr().err
    assert (
        f"argument --timeout: must be a positive number of seconds, not {value!r}"
        in err
    )
    assert "Traceback" not in err
