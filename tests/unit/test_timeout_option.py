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


LOCKING_COMMANDS = [
    ["apply"],
    ["token", "rotate", "main/ci"],
    ["token", "cancel-rotation", "main/ci"],
    ["token", "expire-old", "main/ci"],
]


@pytest.mark.parametrize("words", LOCKING_COMMANDS, ids=" ".join)
def test_the_lock_timeout_defaults_to_failing_at_once(words: list[str]) -> None:
    assert build_parser().parse_args(words).lock_timeout == 0
    parsed = build_parser().parse_args([*words, "--lock-timeout", "30"])
    assert parsed.lock_timeout == 30


@pytest.mark.parametrize("value", ["-1", "soon", "inf", "nan"])
def test_a_negative_or_endless_lock_timeout_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--lock-timeout", value]) == 1
    err = capsys.readouterr().err
    assert "argument --lock-timeout: must be zero or a positive number" in err


def test_plan_takes_no_lock_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--lock-timeout", "5"]) == 1
    assert "unrecognized arguments: --lock-timeout" in capsys.readouterr().err
