"""hlsync.config.durations: the one duration grammar of config, and its spelling in messages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hlsync.config.durations import DURATION_PATTERN, format_duration, parse_duration
from hlsync.resources import load_schema


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("36h", timedelta(hours=36)),
        ("30m", timedelta(minutes=30)),
        ("2w", timedelta(days=14)),
        ("999999w", timedelta(weeks=999999)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0d",
        "07d",
        "90",
        "d",
        "90 d",
        "90days",
        "1d12h",
        "1.5d",
        "-1d",
        "90D",
        "90s",
        "1000000d",
        " 90d",
        "90d\n",
    ],
)
def test_refused(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(days=90), "90d"),
        (timedelta(weeks=2), "14d"),
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=45), "45s"),
    ],
)
def test_format(delta: timedelta, expected: str) -> None:
    assert format_duration(delta) == expected


def test_the_schema_uses_the_same_pattern() -> None:
    schema = load_schema("config.schema.json")
    assert schema["$defs"]["duration"]["pattern"] == DURATION_PATTERN


@given(st.integers(min_value=1, max_value=999999), st.sampled_from("mhdw"))
def test_format_reads_back(number: int, unit: str) -> None:
    delta = parse_duration(f"{number}{unit}")
    assert delta is not None
    # the schema's pattern (ECMA-262 there, Python here) accepts what parses
    assert re.fullmatch(DURATION_PATTERN.strip("^$"), f"{number}{unit}")
    spelt = format_duration(delta)
    if unit != "w":  # weeks are spelt in days, which may need a seventh digit
        assert parse_duration(spelt) == delta
    assert int(spelt[:-1]) * {"m": 60, "h": 3600, "d": 86400}[spelt[-1]] == int(
        delta.total_seconds()
    )
