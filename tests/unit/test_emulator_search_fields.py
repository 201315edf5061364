"""Search on every documented field: the activity fields, typed ranges, nested
opportunities, TEXTBOX_LIST options (reference §5.6, ``search_fields``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.search import matches
from hlsync.emulator.search_fields import FIELDS
from hlsync.emulator.search_query import parse_query

TYPES = {"day": "DATE", "num": "NUMERICAL", "money": "MONETORY", "list": "TEXTBOX_LIST"}
ACTIVITY_FIELDS = (
    "followers",
    "validEmail",
    "isValidWhatsapp",
    "activeWorkflows",
    "finishedWorkflows",
    "lastEmailClickedDate",
    "lastEmailOpenedDate",
    "lastAppointment",
)


def millis(text: str) -> int:
    when = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def rec(id: str, **fields: Any) -> dict[str, Any]:
    return {"id": id, "locationId": "L", "tags": [], "customFields": [], **fields}


def found(records: list[dict[str, Any]], *filters: dict[str, Any]) -> list[str]:
    query = parse_query(
        {"locationId": "L", "pageLimit": 10, "filters": list(filters)}, TYPES
    )
    return [r["id"] for r in records if matches(query, r)]


def problems(*filters: dict[str, Any]) -> list[str]:
    with pytest.raises(EmulatorError) as caught:
        parse_query(
            {"locationId": "L", "pageLimit": 5, "filters": list(filters)}, TYPES
        )
    messages: list[str] = caught.value.body["message"]
    return messages


ACTIVE = [
    rec(
        "r1",
        followers=["u1", "u2"],
        validEmail=True,
        isValidWhatsapp=False,
        activeWorkflows=["w1"],
        finishedWorkflows=["w2"],
        lastEmailClickedDate="2026-01-10T08:00:00.000Z",
        lastEmailOpenedDate="2026-01-05T08:00:00.000Z",
        lastAppointment="2026-02-01T09:00:00.000Z",
    ),
    rec(
        "r2",
        followers=["u2"],
        validEmail=False,
        isValidWhatsapp=True,
        activeWorkflows=[],
        finishedWorkflows=["w1", "w2"],
        lastEmailClickedDate="2026-03-01T08:00:00.000Z",
    ),
    rec("r3"),
]
# (field, operator, value, matching ids): every documented operator of the eight
# fields the emulator used to refuse.
CASES: list[tuple[str, str, Any, list[str]]] = [
    ("followers", "eq", "u1", ["r1"]),
    ("followers", "eq", "U1", []),  # user ids compare exactly
    ("followers", "not_eq", "u1", ["r2", "r3"]),
    ("followers", "exists", None, ["r1", "r2"]),
    ("followers", "not_exists", None, ["r3"]),
    ("validEmail", "eq", True, ["r1"]),
    ("validEmail", "eq", False, ["r2"]),
    ("validEmail", "not_eq", True, ["r2", "r3"]),
    ("validEmail", "exists", None, ["r1", "r2"]),
    ("validEmail", "not_exists", None, ["r3"]),
    ("isValidWhatsapp", "eq", "true", ["r2"]),
    ("isValidWhatsapp", "not_eq", True, ["r1", "r3"]),
    ("isValidWhatsapp", "exists", None, ["r1", "r2"]),
    ("isValidWhatsapp", "not_exists", None, ["r3"]),
    ("activeWorkflows", "eq", "w1", ["r1"]),
    ("activeWorkflows", "not_eq", "w1", ["r2", "r3"]),
    ("activeWorkflows", "exists", None, ["r1"]),  # an empty list is absent
    ("activeWorkflows", "not_exists", None, ["r2", "r3"]),
    ("finishedWorkflows", "eq", "w1", ["r2"]),
    ("finishedWorkflows", "not_eq", "w1", ["r1", "r3"]),
    ("finishedWorkflows", "exists", None, ["r1", "r2"]),
    ("finishedWorkflows", "not_exists", None, ["r3"]),
    ("lastEmailClickedDate", "range", {"gte": "2026-02-01"}, ["r2"]),
    ("lastEmailClickedDate", "exists", None, ["r1", "r2"]),
    ("lastEmailClickedDate", "not_exists", None, ["r3"]),
    (
        "lastEmailOpenedDate",
        "range",
        {"lt": millis("2026-01-06T00:00:00")},
        ["r1"],
    ),
    ("lastEmailOpenedDate", "exists", None, ["r1"]),
    ("lastEmailOpenedDate", "not_exists", None, ["r2", "r3"]),
    (
        "lastAppointment",
        "range",
        {"gte": "2026-02-01T00:00:00Z", "lte": "2026-02-01T23:59:59Z"},
        ["r1"],
    ),
    ("lastAppointment", "exists", None, ["r1"]),
    ("lastAppointment", "not_exists", None, ["r2", "r3"]),
]


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{n}" for n, c in enumerate(CASES)],
)
def test_activity_field_filters(
    field: str, operator: str, value: Any, expected: list[str]
) -> None:
    node: dict[str, Any] = {"field": field, "operator": operator}
    if value is not None:
        node["value"] = value
    assert found(ACTIVE, node) == expected


def test_the_cases_cover_every_documented_operator_of_the_eight_fields() -> None:
    covered = {(field, operator) for field, operator, _, _ in CASES}
    documented = {(f, op) for f in ACTIVITY_FIELDS for op in FIELDS[f].operators}
    assert covered == documented


@pytest.mark.parametrize(
    ("field", "operator"),
    [
        ("followers", "contains"),
        ("validEmail", "range"),
        ("activeWorkflows", "not_contains"),
        ("lastAppointment", "eq"),
        ("lastEmailOpenedDate", "contains"),
    ],
)
def test_undocumented_operators_are_refused(field: str, operator: str) -> None:
    (message,) = problems({"field": field, "operator": operator, "value": "x"})
    assert f"operator {operator} is not supported for {field}" in message


def test_a_date_custom_field_range_takes_dates_date_times_and_epoch_millis() -> None:
    records = [
        rec("feb", customFields=[{"id": "day", "value": "2026-02-28"}]),
        rec("mar", customFields=[{"id": "day", "value": "2026-03-10T15:30:00Z"}]),
        rec("ms", customFields=[{"id": "day", "value": str(millis("2026-03-12"))}]),
        rec("apr", customFields=[{"id": "day", "value": "2026-04-02"}]),
        rec("none"),
    ]
    field = "customFields.day"
    bounds = [
        {"gte": "2026-03-01", "lt": "2026-03-15"},
        {"gte": "2026-03-01T00:00:00Z", "lt": "2026-03-15T00:00:00.000+00:00"},
        {"gte": millis("2026-03-01"), "lt": millis("2026-03-15")},
        {"gte": str(millis("2026-03-01")), "lt": str(millis("2026-03-15"))},
    ]
    results = [
        found(records, {"field": field, "operator": "range", "value": value})
        for value in bounds
    ]
    assert results == [["mar", "ms"]] * len(bounds)
    assert found(records, {"field": field, "operator": "exists"}) == [
        "feb",
        "mar",
        "ms",
        "apr",
    ]


def test_numeric_custom_field_ranges_take_numbers() -> None:
    records = [
        rec("low", customFields=[{"id": "num", "value": 5}]),
        rec("high", customFields=[{"id": "money", "value": 1250.5}]),
    ]
    assert found(
        records,
        {"field": "customFields.num", "operator": "range", "value": {"lt": "6"}},
    ) == ["low"]
    assert found(
        records,
        {"field": "customFields.money", "operator": "range", "value": {"gt": 1000}},
    ) == ["high"]


def test_range_bounds_are_typed_by_the_field() -> None:
    (date,) = problems(
        {"field": "customFields.day", "operator": "range", "value": {"gte": "soon"}}
    )
    assert date.endswith(
        "value.gte must be an ISO 8601 date or date-time, or epoch milliseconds"
    )
    (number,) = problems(
        {
            "field": "customFields.num",
            "operator": "range",
            "value": {"gte": "2026-01-01"},
        }
    )
    assert number.endswith("value.gte must be a number")
    (eq,) = problems({"field": "customFields.day", "operator": "eq", "value": "x"})
    assert "operator eq is not supported" in eq


def test_opportunities_nested_filter_matches_within_one_opportunity() -> None:
    records = [
        rec(
            "a",
            opportunities=[
                {
                    "id": "o1",
                    "pipelineId": "p1",
                    "pipelineStageId": "s1",
                    "status": "won",
                },
                {
                    "id": "o2",
                    "pipelineId": "p2",
                    "pipelineStageId": "s9",
                    "status": "open",
                },
            ],
        ),
        rec(
            "b",
            opportunities=[
                {
                    "id": "o3",
                    "pipelineId": "p1",
                    "pipelineStageId": "s2",
                    "status": "open",
                }
            ],
        ),
        rec("c"),
    ]

    def nested(*subs: dict[str, Any]) -> dict[str, Any]:
        return {"field": "opportunities", "operator": "nested", "value": list(subs)}

    p1 = {"field": "pipelineId", "operator": "eq", "value": "p1"}
    is_open = {"field": "status", "operator": "eq", "value": "open"}
    assert found(records, nested(p1)) == ["a", "b"]
    # "p1 and open" must hold for one opportunity: a's p1 one is won
    assert found(records, nested(p1, is_open)) == ["b"]
    not_won = {"field": "status", "operator": "not_eq", "value": "won"}
    assert found(records, nested(not_won)) == ["a", "b"]
    has_stage = {"field": "pipelineStageId", "operator": "exists"}
    assert found(records, nested(has_stage)) == ["a", "b"]
    assert problems(nested({"field": "monetaryValue", "operator": "eq", "value": 1}))[
        0
    ].endswith("value.0.field monetaryValue is not supported")
    assert problems({"field": "opportunities", "operator": "eq", "value": "x"}) == [
        "filters.0.operator must be nested for opportunities"
    ]


def test_textbox_list_filters_per_option() -> None:
    records = [
        rec("a", customFields=[{"id": "list", "value": {"o1": "Red", "o2": "Big"}}]),
        rec("b", customFields=[{"id": "list", "value": {"o1": "Blue"}}]),
    ]
    option = "customFields.list.o1"
    assert found(records, {"field": option, "operator": "eq", "value": "red"}) == ["a"]
    assert found(
        records, {"field": "customFields.list.o2", "operator": "not_exists"}
    ) == ["b"]
    assert found(
        records, {"field": "customFields.list", "operator": "contains", "value": "bi"}
    ) == ["a"]
    assert problems({"field": "customFields.num.x", "operator": "exists"}) == [
        "filters.0.field customFields.num.x: only TEXTBOX_LIST fields are filtered "
        "by option"
    ]


def test_phone_eq_without_plus_reads_a_us_number() -> None:
    records = [rec("us", phone="+12025550123"), rec("uk", phone="+442071838750")]
    assert found(
        records, {"field": "phone", "operator": "eq", "value": "(202) 555-0123"}
    ) == ["us"]
    assert found(
        records, {"field": "phone", "operator": "eq", "value": "+44 20 7183 8750"}
    ) == ["uk"]
