"""Contact search as upstream's ``POST /contacts/search`` does it: pure functions.

``search_query.parse_query`` validates a body into a ``SearchQuery``; here ``matches``
evaluates its filters on one contact record, ``narrow`` turns ``eq`` filters on email /
phone / id into index lookups, ``range_slice`` finds a lone date ``range`` on the sort
key by bisection, ``sort_contacts`` orders records and ``paginate`` cuts a page in page
mode or after a ``searchAfter`` cursor.

Assumptions (upstream leaves these open, reference §5.6 and §10):

- Without ``sort`` the order is ``dateAdded`` descending (newest first). Every sort ends
  with ``id`` ascending as the tie-breaker, so cursors are stable. Missing values sort
  last in both directions, as Elasticsearch does by default.
- A contact's ``searchAfter`` is its sort values followed by its id, dates as epoch
  milliseconds (the 2025 spec's example ``[1234, "<id>"]``); clients treat it as opaque.
- ``total`` is exact (never capped at 10,000).
- String ``eq``/``contains`` compare case-insensitively; ids (``id``, ``assignedTo``,
  ``followers``, workflow ids) compare exactly. ``not_eq`` and ``not_contains`` match a
  contact without the field. ``exists`` means present and not empty (an empty string or
  list is absent; ``false`` is present). Filter values are scalars (≤ 75 characters);
  ``range`` bounds are typed by the field (``search_query``).
- Dates stored as strings (``dateAdded``, DATE custom fields) compare as instants: an
  ISO date is midnight UTC, a string of digits is epoch milliseconds.
- The ``opportunities`` nested filter matches a contact when one of its opportunities
  matches every sub-filter; a contact without opportunities never matches it.
- A TEXTBOX_LIST value is an object of option id → text; ``customFields.<id>.<option>``
  sees that option's text, ``customFields.<id>`` every option's.
- ``query`` (free text) matches a substring of the name, email, phone or company name.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hlsync.emulator.search_fields import DATE_FIELDS
from hlsync.emulator.search_query import (
    Filter,
    Group,
    Nested,
    Node,
    SearchQuery,
    SortKey,
    to_millis,
    to_number,
)

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page: the records, each one's ``searchAfter`` cursor, the total matched."""

    contacts: tuple[Record, ...]
    cursors: tuple[list[Any], ...]
    total: int


def field_value(record: Record, name: str) -> Any:
    """The value a filter or sort on ``name`` sees in ``record`` (``None`` = absent)."""
    if name.startswith("customFields."):
        wanted = name.split(".", 2)[1]
        for entry in record.get("customFields", ()):
            if entry["id"] == wanted:
                return entry["value"]
        return None
    if name == "firstNameLowerCase":
        return _lower(record.get("firstName"))
    if name == "lastNameLowerCase":
        return _lower(record.get("lastName"))
    if name == "contactName":
        full = " ".join(
            p for p in (record.get("firstName"), record.get("lastName")) if p
        )
        return _lower(full or record.get("name"))
    if name == "address":
        return record.get("address1")
    if name in DATE_FIELDS:
        raw = record.get(name)
        return to_millis(raw) if raw else None
    if name == "dnd":
        return bool(record.get("dnd", False))
    return record.get(name)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) and value else None


def matches(query: SearchQuery, record: Record) -> bool:
    """True when ``record`` satisfies every top-level filter and the free text."""
    if query.text and not text_matches(query.text, record):
        return False
    return all(_evaluate(node, record) for node in query.filters)


def matcher(query: SearchQuery) -> Callable[[Record], bool]:
    """:func:`matches` for one query and many records: an OR group of plain ``eq``
    filters (a batched lookup: 100 emails) is tested by one set lookup per field
    instead of one comparison per filter."""
    tests = [_compiled(node) for node in query.filters]
    text = query.text

    def test(record: Record) -> bool:
        if text and not text_matches(text, record):
            return False
        return all(one(record) for one in tests)

    return test


def _compiled(node: Node) -> Callable[[Record], bool]:
    if isinstance(node, Group) and node.group == "OR":
        fast = _eq_sets(node)
        if fast is not None:
            return fast
    return lambda record: _evaluate(node, record)


def _eq_sets(group: Group) -> Callable[[Record], bool] | None:
    """An OR group of ``eq`` filters on text, phone or exact fields with string
    values, as one set of wanted values per field; None for any other group."""
    wanted: dict[str, set[str]] = {}
    exact: dict[str, bool] = {}
    for child in group.filters:
        if (
            not isinstance(child, Filter)
            or child.operator != "eq"
            or child.option is not None
            or not isinstance(child.value, str)
            or child.kind not in ("text", "phone", "exact")
            or exact.setdefault(child.field, child.kind == "exact")
            != (child.kind == "exact")
        ):
            return None
        value = child.value if child.kind == "exact" else child.value.lower()
        wanted.setdefault(child.field, set()).add(value)
    if not wanted:
        return None

    def test(record: Record) -> bool:
        for name, values in wanted.items():
            value = field_value(record, name)
            present = _present(value)
            if isinstance(value, dict) or not all(isinstance(v, str) for v in present):
                return _evaluate(group, record)  # not plain strings: compare in full
            if any((v if exact[name] else v.lower()) in values for v in present):
                return True
        return False

    return test


def text_matches(text: str, record: Record) -> bool:
    """Does lower-case ``text`` occur in the record's name, email, phone or company?"""
    names = (record.get("firstName"), record.get("lastName"))
    haystack = [
        " ".join(p for p in names if p),
        record.get("email"),
        record.get("phone"),
        record.get("companyName"),
        record.get("name"),
    ]
    return any(isinstance(h, str) and text in h.lower() for h in haystack)


def _evaluate(node: Node, record: Record) -> bool:
    if isinstance(node, Group):
        results = (_evaluate(child, record) for child in node.filters)
        return any(results) if node.group == "OR" else all(results)
    if isinstance(node, Nested):
        return any(
            isinstance(item, dict)
            and all(
                _compare_values(sub, _present(item.get(sub.field)))
                for sub in node.filters
            )
            for item in record.get(node.field) or ()
        )
    value = field_value(record, node.field)
    if node.option is not None:
        value = value.get(node.option) if isinstance(value, dict) else None
    elif isinstance(value, dict):
        value = list(value.values())
    return _compare_values(node, _present(value))


def _present(value: Any) -> list[Any]:
    """The non-empty values of a field (a list field's items)."""
    values: list[Any] = (
        value if isinstance(value, list) else [] if value is None else [value]
    )
    return [v for v in values if v not in (None, "")]


def _compare_values(node: Filter, values: list[Any]) -> bool:
    operator = node.operator
    if operator == "exists":
        return bool(values)
    if operator == "not_exists":
        return not values
    if operator == "eq":
        return any(_equal(v, node.value, node.kind) for v in values)
    if operator == "not_eq":
        return not any(_equal(v, node.value, node.kind) for v in values)
    if operator == "contains":
        return any(_contains(v, node.value) for v in values)
    if operator == "not_contains":
        return not any(_contains(v, node.value) for v in values)
    convert = to_millis if node.kind == "date" else to_number
    return any(_in_range(convert(v), node.value) for v in values)


def _equal(actual: Any, wanted: Any, kind: str) -> bool:
    if isinstance(actual, bool) or isinstance(wanted, bool) or kind == "bool":
        if isinstance(wanted, str):
            wanted = wanted.lower() == "true"
        return bool(actual) == bool(wanted) if isinstance(actual, bool) else False
    if isinstance(actual, int | float) or isinstance(wanted, int | float):
        return to_number(actual) == to_number(wanted)
    if kind == "exact":
        return bool(actual == wanted)
    return str(actual).lower() == str(wanted).lower()


def _contains(actual: Any, wanted: Any) -> bool:
    return str(wanted).lower() in str(actual).lower()


def _in_range(number: float | None, bounds: dict[str, float]) -> bool:
    if number is None:
        return False
    checks = {
        "gt": number > bounds.get("gt", number - 1),
        "gte": number >= bounds.get("gte", number),
        "lt": number < bounds.get("lt", number + 1),
        "lte": number <= bounds.get("lte", number),
    }
    return all(checks.values())


def narrow(
    query: SearchQuery, lookup: Callable[[str, str], set[str] | None]
) -> set[str] | None:
    """Candidate ids from index lookups, or ``None`` when the filters cannot narrow.

    ``lookup(field, value)`` answers ``eq`` on ``email``/``phone``/``id`` (``None`` for
    anything it does not index). Candidates still go through :func:`matches`.
    """
    if query.text:
        return None
    return _narrow_all(query.filters, lookup)


def _narrow_all(
    nodes: Sequence[Node], lookup: Callable[[str, str], set[str] | None]
) -> set[str] | None:
    result: set[str] | None = None
    for node in nodes:
        found = _narrow_node(node, lookup)
        if found is not None:
            result = found if result is None else result & found
    return result


def _narrow_node(
    node: Node, lookup: Callable[[str, str], set[str] | None]
) -> set[str] | None:
    if isinstance(node, Nested):
        return None
    if isinstance(node, Filter):
        if node.operator == "eq" and isinstance(node.value, str):
            return lookup(node.field, node.value)
        return None
    if node.group == "AND":
        return _narrow_all(node.filters, lookup)
    union: set[str] = set()
    for child in node.filters:
        found = _narrow_node(child, lookup)
        if found is None:
            return None
        union |= found
    return union


def range_slice(
    query: SearchQuery, ordered: Sequence[Record]
) -> Sequence[Record] | None:
    """What :func:`matches` keeps of ``ordered`` (sorted by ``query.sort``), found by
    bisection when the query is one date ``range`` filter on its first, ascending sort
    key (a whole-location read in ``dateAdded`` steps); None for any other query.

    The order puts records without the field last, and a range never matches them,
    so the matches are one slice of what comes before them."""
    if query.text or len(query.filters) != 1 or not query.sort:
        return None
    node, first = query.filters[0], query.sort[0]
    if (
        not isinstance(node, Filter)
        or node.operator != "range"
        or node.option is not None
        or node.kind != "date"
        or node.field not in DATE_FIELDS
        or (node.field, first.direction) != (first.field, "asc")
    ):
        return None

    def absent(record: Record) -> bool:
        return field_value(record, node.field) is None

    def value(record: Record) -> Any:
        return field_value(record, node.field)

    end = bisect.bisect_left(ordered, True, key=absent)
    low, high = 0, end
    bounds = node.value
    if "gte" in bounds:
        low = max(low, bisect.bisect_left(ordered, bounds["gte"], 0, end, key=value))
    if "gt" in bounds:
        low = max(low, bisect.bisect_right(ordered, bounds["gt"], 0, end, key=value))
    if "lte" in bounds:
        high = min(high, bisect.bisect_right(ordered, bounds["lte"], 0, end, key=value))
    if "lt" in bounds:
        high = min(high, bisect.bisect_left(ordered, bounds["lt"], 0, end, key=value))
    return ordered[low:high] if low < high else []


def sort_values(record: Record, sort: Sequence[SortKey]) -> list[Any]:
    """The record's values for ``sort``; dates as integer epoch milliseconds."""
    values: list[Any] = []
    for key in sort:
        value = field_value(record, key.field)
        if key.field == "email":
            value = _lower(value)
        elif key.field in ("source", "businessName"):
            value = _lower(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        values.append(value)
    return values


Values = Mapping[str, list[Any]]  # a record's sort values, by its id


def sort_contacts(
    records: Iterable[Record], sort: Sequence[SortKey], values: Values | None = None
) -> list[Record]:
    """Records in ``sort`` order, then id ascending; missing values last. ``values``:
    each record's :func:`sort_values`, worked out already (else as it sorts)."""

    def value(record: Record, position: int) -> Any:
        if values is not None:
            return values[record["id"]][position]
        return sort_values(record, sort[position : position + 1])[0]

    ordered = sorted(records, key=lambda rec: rec["id"])
    for position in reversed(range(len(sort))):
        key = sort[position]
        if key.direction == "desc":
            ordered.sort(
                key=lambda rec: _present_first(value(rec, position)), reverse=True
            )
        else:
            ordered.sort(key=lambda rec: _absent_last(value(rec, position)))
    return ordered


def _present_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else 0)


def _absent_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value if value is not None else 0)


def _compare(a: Sequence[Any], b: Sequence[Any], sort: Sequence[SortKey]) -> int:
    """Compare two cursors (sort values + id) the way :func:`sort_contacts` orders."""
    for position, (x, y) in enumerate(zip(a, b, strict=True)):
        if x == y:
            continue
        if x is None:
            return 1
        if y is None:
            return -1
        try:
            less = x < y
        except TypeError:
            less = str(x) < str(y)
        result = -1 if less else 1
        desc = position < len(sort) and sort[position].direction == "desc"
        return -result if desc else result
    return 0


def paginate(
    matched: Sequence[Record], query: SearchQuery, values: Values | None = None
) -> SearchPage:
    """Cut one page from the ordered ``matched`` records; ``values``: their
    :func:`sort_values` by id where worked out already (the location's cached order)."""

    def cursor_of(record: Record) -> list[Any]:
        known = None if values is None else values.get(record["id"])
        found = sort_values(record, query.sort) if known is None else known
        return [*found, record["id"]]

    if query.search_after is not None:
        cursor = list(query.search_after)
        low, high = 0, len(matched)
        while low < high:  # first record strictly after the cursor
            middle = (low + high) // 2
            if _compare(cursor_of(matched[middle]), cursor, query.sort) <= 0:
                low = middle + 1
            else:
                high = middle
        start = low
    else:
        start = ((query.page or 1) - 1) * query.page_limit
    chosen = tuple(matched[start : start + query.page_limit])
    cursors = tuple(cursor_of(rec) for rec in chosen)
    return SearchPage(chosen, cursors, len(matched))
