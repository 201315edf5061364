"""${VAR} and ${VAR:-default}: values, positions, escapes."""

from __future__ import annotations

import pytest

from hlsync.config.envsubst import expand_string, expand_tree
from hlsync.config.yamlload import load_yaml_text
from hlsync.errors import Location


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("plain", {}, "plain"),
        ("${A}", {"A": "x"}, "x"),
        ("a-${A}-${B}", {"A": "1", "B": "2"}, "a-1-2"),
        ("${A:-fallback}", {}, "fallback"),
        ("${A:-fallback}", {"A": ""}, "fallback"),
        ("${A:-}", {}, ""),
        ("${A:-x}", {"A": "set"}, "set"),
        ("${A}", {"A": ""}, ""),
        ("$${A}", {"A": "x"}, "${A}"),
        ("$A and $", {"A": "x"}, "$A and $"),
    ],
)
def test_expand_string(text: str, env: dict[str, str], expected: str) -> None:
    assert expand_string(text, env) == (expected, [])


def test_problems_carry_offsets() -> None:
    result, problems = expand_string("ab${MISSING}cd${1BAD}", {})
    assert result == "ab${MISSING}cd${1BAD}"
    assert [(offset, message) for offset, message, _ in problems] == [
        (2, "environment variable MISSING is not set"),
        (14, "malformed variable reference: expected ${NAME} or ${NAME:-default}"),
    ]


def test_positions_in_plain_quoted_and_block_scalars() -> None:
    doc = load_yaml_text(
        "a: x ${ONE}\nb: '${TWO}'\nc: |\n  line\n  ${THREE}\nd: [\"q${FOUR}\"]\n",
        "f.yaml",
    )
    data, problems = expand_tree(doc.data, doc.marks, doc.styles, {}, doc.file)
    assert data == doc.data
    assert [(path, p.location) for path, p in problems] == [
        (("a",), Location("f.yaml", 1, 6)),
        (("b",), Location("f.yaml", 2, 5)),
        (("c",), Location("f.yaml", 3, 4)),
        (("d", 0), Location("f.yaml", 6, 7)),
    ]


def test_keys_are_never_expanded() -> None:
    data, problems = expand_tree({"${K}": "${V}"}, {}, {}, {"K": "k", "V": "v"}, "f")
    assert (data, problems) == ({"${K}": "v"}, [])
