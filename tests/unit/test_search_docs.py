"""docs/emulator-search.md shows the emulator's own search tables (search_fields)."""

from __future__ import annotations

import re

from hlsync.emulator.search_fields import (
    CUSTOM_FIELD_OPERATORS,
    FIELDS,
    NESTED,
    SORT_FIELDS,
    FieldRule,
)
from tests.conftest import REPO

PAGE = REPO / "docs" / "emulator-search.md"
ROW = re.compile(r"^\| `([A-Za-z_]+)` \| ((?:`[a-z_]+`(?:, )?)+) \| ([a-z]+) \|$")


def section(title: str) -> list[str]:
    """The lines under the heading ``title`` up to the next heading."""
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    start = lines.index(title) + 1
    end = next(
        (n for n in range(start, len(lines)) if lines[n].startswith("#")), len(lines)
    )
    return lines[start:end]


def table(title: str) -> dict[str, FieldRule]:
    found: dict[str, FieldRule] = {}
    for line in section(title):
        row = ROW.match(line)
        if row:
            operators = frozenset(re.findall(r"`([a-z_]+)`", row[2]))
            found[row[1]] = FieldRule(operators, row[3])  # type: ignore[arg-type]
    return found


def test_the_filter_field_table_is_the_emulators() -> None:
    assert table("## Filter fields") == FIELDS


def test_the_custom_field_table_is_the_emulators() -> None:
    assert table("### Custom fields") == CUSTOM_FIELD_OPERATORS


def test_the_nested_table_is_the_emulators() -> None:
    assert table("### Opportunities (nested)") == NESTED


def test_the_sort_fields_are_the_emulators() -> None:
    text = " ".join(section("### Sort fields"))
    assert set(re.findall(r"`([A-Za-z]+)`", text)) == SORT_FIELDS
