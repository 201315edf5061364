"""The export's YAML writer: what it writes loads back, with hlsync's own YAML 1.2
loader and with PyYAML's 1.1 reader (editors), to exactly the data written."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hlsync.adopt.yaml_text import dump, escape_variables, scalar
from hlsync.config.envsubst import expand_tree
from hlsync.config.yamlload import load_yaml_text
from hlsync.kinds.base import Verbatim


def _load(text: str) -> Any:
    doc = load_yaml_text(text, "x.yaml")
    assert doc.problems == [], (text, doc.problems)
    return doc.data


TRICKY = [
    "NO",
    "yes",
    "Off",
    "null",
    "~",
    "2023-04-17",
    "0o17",
    "0x1F",
    "1e3",
    ".5",
    "-1",
    "+44 20 7946 0958",
    "a: b",
    "a #b",
    "#0a7cff",
    " leading",
    "trailing ",
    "",
    "- item",
    "[x]",
    "{x}",
    "*alias",
    "&anchor",
    "!tag",
    "%x",
    "@home",
    "`tick`",
    'say "hi"',
    "back\\slash",
    "two\nlines",
    "tab\there",
    "nel\x85line\u2028sep\u2029par",
    "bom\ufeff",
    "bell\x07",
    "Café Zürich",
    "e.g. 560001",
    "https://book.example.com/lakeside?x=1&y=2",
    "Shoe size (EU)",
]


@pytest.mark.parametrize("text", TRICKY)
def test_every_tricky_string_loads_back_as_itself(text: str) -> None:
    data = {"key": text, text or "empty": [text], "nested": {"list": [{text: text}]}}
    written = dump(data)
    assert _load(written) == data
    assert yaml.safe_load(written) == data


def test_plain_where_nothing_else_could_be_meant() -> None:
    assert scalar("Booking Link") == "Booking Link"
    assert scalar("contacts.readonly") == "contacts.readonly"
    assert scalar("NO") == '"NO"'
    assert scalar("2023-04-17") == '"2023-04-17"'
    assert scalar(1240.5) == "1240.5"
    assert scalar(3.0) == "3.0"
    assert scalar(None) == "null"
    with pytest.raises(ValueError):
        scalar(float("nan"))


def test_the_layout_is_block_style_two_spaces() -> None:
    data = {"a": {"b": [1, {"c": True, "d": []}], "e": {}}, "f": "x"}
    assert dump(data) == (
        "a:\n  b:\n    - 1\n    - c: true\n      d: []\n  e: {}\nf: x\n"
    )


def test_upstream_text_is_safe_from_variable_substitution() -> None:
    upstream = {"Promo": "${COUPON} and $${x}", "k": ["${A}"]}
    carried = Verbatim(sink={"file": "${TOKENS}/bot.token"})
    data = escape_variables({**upstream, "token": carried})
    assert data["token"] is carried
    expanded, problems = expand_tree(
        _load(dump({k: v for k, v in data.items() if k != "token"})),
        {},
        {},
        {},
        "x.yaml",
    )
    assert problems == []
    assert expanded == upstream


_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=12,
)
_scalars = st.none() | st.booleans() | st.integers() | _text
_floats = st.floats(allow_nan=False, allow_infinity=False)
_values = st.recursive(
    _scalars | _floats,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_text, _values, max_size=4))
def test_any_json_like_data_loads_back_unchanged(data: dict[str, Any]) -> None:
    written = dump(data)
    assert _load(written) == data
    assert dump(_load(written)) == written  # and writes the same bytes again
