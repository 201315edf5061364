"""Search: body validation, filter evaluation, index narrowing, sorting and cursors."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.search import (
    matcher,
    matches,
    narrow,
    paginate,
    range_slice,
    sort_contacts,
    sort_values,
)
from hlsync.emulator.search_query import SearchQuery, SortKey, parse_query

FIELDS = {"num1": "NUMERICAL", "box1": "CHECKBOX", "txt1": "TEXT", "day1": "DATE"}


def q(**body: Any) -> SearchQuery:
    return parse_query({"locationId": "L", "pageLimit": 10, **body}, FIELDS)


def problems(**body: Any) -> list[str]:
    with pytest.raises(EmulatorError) as caught:
        parse_query(body, FIELDS)
    assert caught.value.status == 422
    messages: list[str] = caught.value.body["message"]
    return messages


def rec(id: str, **fields: Any) -> dict[str, Any]:
    return {"id": id, "locationId": "L", "tags": [], "customFields": [], **fields}


def test_body_problems_are_all_reported() -> None:
    assert problems(extra=1) == [
        "property extra should not exist",
        "locationId should not be empty",
        "locationId must be a string",
        "pageLimit must be a number conforming to the specified constraints",
    ]
    base = {"locationId": "L"}
    assert problems(**base, pageLimit=0) == ["pageLimit must not be less than 1"]
    assert problems(**base, pageLimit=-3) == ["pageLimit must not be less than 1"]
    assert problems(**base, pageLimit=501) == ["pageLimit must not be greater than 500"]
    assert problems(**base, pageLimit=True) == [
        "pageLimit must be a number conforming to the specified constraints"
    ]
    assert "page and searchAfter cannot be used together" in problems(
        **base, pageLimit=5, page=1, searchAfter=[1, "x"]
    )
    assert problems(**base, pageLimit=100, page=101) == [
        "page * pageLimit must not exceed 10000; use searchAfter"
    ]
    assert problems(**base, pageLimit=5, searchAfter=["x"]) == [
        "searchAfter must hold 2 values: the sort values and the id"
    ]
    assert problems(**base, pageLimit=5, query="x" * 76) == [
        "query must be a string of at most 75 characters"
    ]


def test_sort_problems() -> None:
    base = {"locationId": "L", "pageLimit": 5}
    three = [{"field": "email", "direction": "asc"}] * 3
    assert problems(**base, sort=three) == ["sort must contain no more than 2 elements"]
    assert problems(**base, sort=[{"field": "city"}])[0].startswith(
        "sort.0.field must be"
    )
    assert problems(**base, sort=[{"field": "email", "direction": "up"}]) == [
        "sort.0.direction must be one of asc, desc"
    ]
    assert q().sort == (SortKey("dateAdded", "desc"),)


@pytest.mark.parametrize(
    ("node", "message"),
    [
        (
            {"field": "nope", "operator": "eq", "value": "x"},
            "field nope is not supported",
        ),
        ({"field": "id", "operator": "contains", "value": "x"}, "operator contains"),
        ({"field": "tags", "operator": "eq", "value": ""}, "value must be a non-empty"),
        ({"field": "tags", "operator": "eq", "value": "x" * 76}, "at most 75"),
        ({"field": "dateAdded", "operator": "range", "value": 5}, "object of gt"),
        ({"field": "dateAdded", "operator": "range", "value": {"gte": "soon"}}, "date"),
        ({"field": "customFields.zzz", "operator": "eq", "value": "x"}, "not a custom"),
        (
            {"field": "customFields.box1", "operator": "contains", "value": "x"},
            "contains",
        ),
        ({"field": "customFields.day1", "operator": "eq", "value": "x"}, "operator eq"),
        ({"group": "XOR", "filters": []}, "group must be one of AND, OR"),
        ({"group": "OR", "filters": []}, "filters must be a non-empty array"),
        ({"field": "tags", "operator": "eq", "value": "x", "x": 1}, "must hold only"),
    ],
)
def test_filter_problems(node: dict[str, Any], message: str) -> None:
    found = problems(locationId="L", pageLimit=5, filters=[node])
    assert len(found) == 1 and message in found[0], found


def test_operators_on_strings_tags_and_absent_fields() -> None:
    ann = rec("a", firstName="Ann", tags=["VIP", "new"], city="Oslo")
    bob = rec("b", firstName="Bob")

    def who(*filters: dict[str, Any]) -> list[str]:
        query = q(filters=list(filters))
        return [r["id"] for r in (ann, bob) if matches(query, r)]

    f = "firstNameLowerCase"
    assert who({"field": f, "operator": "eq", "value": "ANN"}) == ["a"]
    assert who({"field": f, "operator": "contains", "value": "o"}) == ["b"]
    assert who({"field": "tags", "operator": "eq", "value": "vip"}) == ["a"]
    assert who({"field": "tags", "operator": "not_eq", "value": "vip"}) == ["b"]
    assert who({"field": "tags", "operator": "contains", "value": "ne"}) == ["a"]
    assert who({"field": "tags", "operator": "not_contains", "value": "ne"}) == ["b"]
    assert who({"field": "city", "operator": "exists"}) == ["a"]
    assert who({"field": "city", "operator": "not_exists"}) == ["b"]
    assert who({"field": "city", "operator": "not_eq", "value": "oslo"}) == ["b"]
    assert who({"field": "id", "operator": "eq", "value": "A"}) == []


def test_email_phone_dnd_dates_and_custom_fields() -> None:
    contact = rec(
        "c",
        email="Mixed@Case.io",
        phone="+18888888888",
        dnd=True,
        dateAdded="2026-01-02T00:00:00.000Z",
        customFields=[{"id": "num1", "value": 42}, {"id": "box1", "value": ["a", "b"]}],
    )

    def hit(node: dict[str, Any]) -> bool:
        return matches(q(filters=[node]), contact)

    assert hit({"field": "email", "operator": "eq", "value": "mixed@case.IO"})
    assert hit({"field": "phone", "operator": "eq", "value": "+1 888-888-8888"})
    assert hit({"field": "dnd", "operator": "eq", "value": True})
    assert not hit({"field": "dnd", "operator": "eq", "value": False})
    day = {"gte": "2026-01-01", "lt": "2026-01-03T00:00:00Z"}
    assert hit({"field": "dateAdded", "operator": "range", "value": day})
    assert not hit({"field": "dateAdded", "operator": "range", "value": {"gt": 1.9e12}})
    assert hit(
        {"field": "customFields.num1", "operator": "range", "value": {"gte": 40}}
    )
    assert hit({"field": "customFields.num1", "operator": "eq", "value": "42"})
    assert hit({"field": "customFields.box1", "operator": "eq", "value": "B"})
    assert not hit({"field": "customFields.txt1", "operator": "exists"})


def test_nested_groups_and_free_text() -> None:
    a, b, c = rec("a", city="x", state="p"), rec("b", city="y"), rec("c", city="z")
    group = {
        "group": "OR",
        "filters": [
            {
                "group": "AND",
                "filters": [
                    {"field": "city", "operator": "eq", "value": "x"},
                    {"field": "state", "operator": "eq", "value": "p"},
                ],
            },
            {"field": "city", "operator": "eq", "value": "y"},
        ],
    }
    assert [r["id"] for r in (a, b, c) if matches(q(filters=[group]), r)] == ["a", "b"]
    named = rec("d", firstName="Zoë", lastName="Quinn", companyName="Acme")
    assert matches(q(query="zoë q"), named) and matches(q(query="ACM"), named)
    assert not matches(q(query="nobody"), named)


def test_narrow_uses_only_indexable_filters() -> None:
    seen: list[tuple[str, str]] = []

    def lookup(field: str, value: str) -> set[str] | None:
        seen.append((field, value))
        return {f"{field}:{value}"} if field in ("email", "phone", "id") else None

    eq = [{"field": "email", "operator": "eq", "value": v} for v in ("a@x", "b@x")]
    assert narrow(q(filters=[{"group": "OR", "filters": eq}]), lookup) == {
        "email:a@x",
        "email:b@x",
    }
    city = {"field": "city", "operator": "eq", "value": "x"}
    mixed_or = {"group": "OR", "filters": [eq[0], city]}
    assert narrow(q(filters=[mixed_or]), lookup) is None
    assert narrow(q(filters=[eq[0], city]), lookup) == {"email:a@x"}
    both = [eq[0], {"field": "id", "operator": "eq", "value": "email:a@x"}]
    assert narrow(q(filters=both), lookup) == set()
    assert narrow(q(filters=eq, query="x"), lookup) is None


def test_sort_missing_last_both_ways_and_id_tiebreak() -> None:
    records = [
        rec("c", email="b@x"),
        rec("a"),
        rec("b", email="b@x"),
        rec("d", email="a@x"),
    ]
    up = sort_contacts(records, (SortKey("email", "asc"),))
    assert [r["id"] for r in up] == ["d", "b", "c", "a"]
    down = sort_contacts(records, (SortKey("email", "desc"),))
    assert [r["id"] for r in down] == ["b", "c", "d", "a"]
    two = (SortKey("email", "desc"), SortKey("firstNameLowerCase", "asc"))
    assert sort_values(records[0], two) == ["b@x", None]


def test_cursor_pages_across_equal_sort_values() -> None:
    records = [rec(f"id{n:02}", dateAdded="2026-01-01T00:00:00.000Z") for n in range(7)]
    query = q(pageLimit=3)
    ordered = sort_contacts(records, query.sort)
    first = paginate(ordered, query)
    assert first.total == 7 and first.cursors[0] == [1767225600000, "id00"]
    nxt = paginate(ordered, q(pageLimit=3, searchAfter=first.cursors[-1]))
    assert [r["id"] for r in nxt.contacts] == ["id03", "id04", "id05"]
    assert [r["id"] for r in paginate(ordered, q(pageLimit=3, page=3)).contacts] == [
        "id06"
    ]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.sampled_from(["a", "b", "c"])), min_size=0, max_size=25
    ),
    direction=st.sampled_from(["asc", "desc"]),
    size=st.integers(min_value=1, max_value=6),
)
def test_cursor_paging_visits_every_record_once(
    values: list[str | None], direction: str, size: int
) -> None:
    records = [
        rec(f"r{n:02}", **({"email": v} if v else {})) for n, v in enumerate(values)
    ]
    sort = [{"field": "email", "direction": direction}]
    ordered = sort_contacts(records, q(sort=sort).sort)
    seen: list[str] = []
    cursor: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"pageLimit": size, "sort": sort}
        if cursor is not None:
            body["searchAfter"] = cursor
        page = paginate(ordered, q(**body))
        if not page.contacts:
            break
        seen.extend(r["id"] for r in page.contacts)
        cursor = page.cursors[-1]
    assert seen == [r["id"] for r in ordered]
    present = [r["email"] for r in ordered if "email" in r]
    assert present == sorted(present, reverse=direction == "desc")
    assert all("email" not in r for r in ordered[len(present) :])


def test_a_date_range_on_the_sort_key_is_cut_by_bisection_as_matches_would() -> None:
    """A whole-location read in ``dateAdded`` steps: the bisection keeps exactly what
    the filter keeps, records without the date (sorted last) never among them."""
    rng = random.Random(5)
    records: list[dict[str, Any]] = []
    for n in range(400):
        record: dict[str, Any] = {"id": f"c{n:04d}"}
        if n % 37:
            ms = 1_700_000_000_000 + 1000 * rng.randrange(60)
            record["dateAdded"] = (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".000Z"
            )
        records.append(record)
    sort = [{"field": "dateAdded", "direction": "asc"}]
    instants = sorted({r["dateAdded"] for r in records if "dateAdded" in r})
    ordered = sort_contacts(
        records, parse_query({"locationId": "L", "pageLimit": 1, "sort": sort}, {}).sort
    )
    cut = 0
    for bound in [instants[0], instants[7], instants[-1], "2020-01-01", "2030-01-01"]:
        for operator in ("gte", "gt", "lte", "lt"):
            for extra in ({}, {"lt": instants[30]}):
                value = {operator: bound, **extra}
                body = {
                    "locationId": "L",
                    "pageLimit": 1,
                    "sort": sort,
                    "filters": [
                        {"field": "dateAdded", "operator": "range", "value": value}
                    ],
                }
                query = parse_query(body, {})
                sliced = range_slice(query, ordered)
                assert sliced is not None
                expected = [r for r in ordered if matches(query, r)]
                assert list(sliced) == expected
                cut += bool(expected)
    assert cut > 10
    descending = parse_query(
        {
            "locationId": "L",
            "pageLimit": 1,
            "sort": [{"field": "dateAdded", "direction": "desc"}],
            "filters": [
                {"field": "dateAdded", "operator": "range", "value": {"gte": 1}}
            ],
        },
        {},
    )
    assert range_slice(descending, ordered) is None


def test_sort_values_worked_out_once_give_the_same_order_and_cursors() -> None:
    """The location's cached order keeps each contact's sort values: sorting and
    paging with them is sorting and paging without."""
    rng = random.Random(9)
    records = [
        {
            "id": f"c{n:03d}",
            **({"firstName": rng.choice(["Ann", "bob", "Cy"])} if n % 5 else {}),
            **(
                {"dateAdded": f"2026-01-0{rng.randrange(1, 4)}T00:00:00Z"}
                if n % 7
                else {}
            ),
        }
        for n in range(120)
    ]
    for sort in (
        [
            {"field": "firstNameLowerCase", "direction": "desc"},
            {"field": "dateAdded", "direction": "asc"},
        ],
        [{"field": "dateAdded", "direction": "asc"}],
    ):
        body = {"locationId": "L", "pageLimit": 7, "sort": sort}
        query = parse_query(body, {})
        values = {r["id"]: sort_values(r, query.sort) for r in records}
        ordered = sort_contacts(records, query.sort)
        assert sort_contacts(records, query.sort, values) == ordered
        page = parse_query({**body, "page": 3}, {})
        assert paginate(ordered, page, values) == paginate(ordered, page)
        after = paginate(ordered, page).cursors[-1]
        cursor = parse_query({**body, "searchAfter": after}, {})
        assert paginate(ordered, cursor, values) == paginate(ordered, cursor)


_WORDS = st.sampled_from(["Ann", "ann", "BOB", "bob", "", "c1", "C1", "+15550000001"])


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {"id": st.sampled_from(["c1", "C1", "c2"])},
            optional={
                "email": st.one_of(_WORDS, st.integers(0, 3), st.booleans()),
                "phone": _WORDS,
                "tags": st.lists(st.one_of(_WORDS, st.integers(0, 2)), max_size=3),
                "companyName": _WORDS,
            },
        ),
        max_size=6,
    ),
    wanted=st.lists(
        st.tuples(
            st.sampled_from(["email", "phone", "tags", "id", "companyName"]),
            st.sampled_from(["Ann", "bob", "c1", "C1", "+15550000001", "0"]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_an_or_group_of_eq_filters_matches_by_set_as_filter_by_filter(
    records: list[dict[str, Any]], wanted: list[tuple[str, str]]
) -> None:
    group = {
        "group": "OR",
        "filters": [{"field": f, "operator": "eq", "value": v} for f, v in wanted],
    }
    query = parse_query({"locationId": "L", "pageLimit": 10, "filters": [group]}, {})
    test = matcher(query)
    assert [test(r) for r in records] == [matches(query, r) for r in records]
