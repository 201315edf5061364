"""The search body of ``POST /contacts/search``, parsed and validated (reference §5.6).

:func:`parse_query` turns a request body into a :class:`SearchQuery` or raises the 422 a
bad body gets, listing every problem: ``locationId`` and ``pageLimit`` (1 to 500)
required; ``page`` or ``searchAfter``, not both; ``page * pageLimit`` ≤ 10,000 (422
beyond — use ``searchAfter``); at most 2 ``sort`` entries on the documented sort fields;
filters and nested ``AND``/``OR`` groups with the operators each field allows (the table
in ``search_fields``; ``customFields.<id>`` by the field's ``dataType``); the
``opportunities`` nested filter; values ≤ 75 characters; ``query`` ≤ 75 characters.

``range`` bounds (``gt``, ``gte``, ``lt``, ``lte``) are typed by the field: dates
(``dateAdded``…, DATE custom fields) take ISO dates (``2026-01-31``, midnight UTC), ISO
date-times (``2026-01-31T12:00:00Z``; naive ones are UTC) or epoch milliseconds (a
number or a string of digits); NUMERICAL and MONETORY custom fields take numbers.
Evaluation lives in ``search``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard

from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.search_fields import (
    CUSTOM_FIELD_OPERATORS,
    DATE_FIELDS,
    FIELDS,
    NESTED,
    NESTED_FIELD,
    SIX,
    SORT_FIELDS,
    FieldRule,
    Kind,
)
from hlsync.emulator.validation import normalize_phone

MAX_PAGE_LIMIT = 500
MAX_PAGE_WINDOW = 10_000
MAX_VALUE_LENGTH = 75
MAX_SORT = 2
_BODY_KEYS = frozenset(
    {"locationId", "pageLimit", "page", "searchAfter", "filters", "sort", "query"}
)


@dataclass(frozen=True, slots=True)
class Filter:
    """``field operator value``; ``kind`` says how values compare (``search_fields``);
    ``option`` is a TEXTBOX_LIST option id (``customFields.<id>.<option>``)."""

    field: str
    operator: str
    value: Any = None
    kind: Kind = "text"
    option: str | None = None


@dataclass(frozen=True, slots=True)
class Group:
    group: str  # "AND" | "OR"
    filters: tuple[Filter | Group | Nested, ...]


@dataclass(frozen=True, slots=True)
class Nested:
    """``opportunities`` filters that one and the same opportunity must all match."""

    field: str
    filters: tuple[Filter, ...]


Node = Filter | Group | Nested


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    direction: str  # "asc" | "desc"


DEFAULT_SORT = (SortKey("dateAdded", "desc"),)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A validated search body; ``sort`` is the effective sort (default applied)."""

    location_id: str
    page_limit: int
    page: int | None = None
    search_after: tuple[Any, ...] | None = None
    filters: tuple[Node, ...] = ()
    sort: tuple[SortKey, ...] = DEFAULT_SORT
    text: str | None = None

    def sort_key(self) -> tuple[tuple[str, str], ...]:
        return tuple((key.field, key.direction) for key in self.sort)

    def is_unfiltered(self) -> bool:
        return not self.filters and not self.text

    def cache_key(self) -> str:
        """Identifies the matched list (filters, text, sort), not the page."""
        return json.dumps(
            [_node_json(self.filters), self.text, self.sort_key()], default=str
        )


def parse_query(body: Mapping[str, Any], field_types: Mapping[str, str]) -> SearchQuery:
    """Validate a search body; raise 422 with every problem found.

    ``field_types`` maps the location's custom field ids to their ``dataType``, which
    decides the operators a ``customFields.<id>`` filter may use.
    """
    problems = [
        f"property {key} should not exist" for key in body if key not in _BODY_KEYS
    ]
    location_id = body.get("locationId")
    if not isinstance(location_id, str) or not location_id:
        problems.append("locationId should not be empty")
        problems.append("locationId must be a string")
    page_limit = body.get("pageLimit")
    if not _is_int(page_limit):
        problems.append(
            "pageLimit must be a number conforming to the specified constraints"
        )
    elif page_limit < 1:
        problems.append("pageLimit must not be less than 1")
    elif page_limit > MAX_PAGE_LIMIT:
        problems.append(f"pageLimit must not be greater than {MAX_PAGE_LIMIT}")
    page = body.get("page")
    if page is not None and (not _is_int(page) or page < 1):
        problems.append("page must be a positive number")
    search_after = body.get("searchAfter")
    if search_after is not None and not isinstance(search_after, list):
        problems.append("searchAfter must be an array")
    if page is not None and search_after is not None:
        problems.append("page and searchAfter cannot be used together")
    if _is_int(page) and _is_int(page_limit) and page * page_limit > MAX_PAGE_WINDOW:
        problems.append(
            f"page * pageLimit must not exceed {MAX_PAGE_WINDOW}; use searchAfter"
        )
    text = body.get("query")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_VALUE_LENGTH):
        problems.append(
            f"query must be a string of at most {MAX_VALUE_LENGTH} characters"
        )
    sort = _parse_sort(body.get("sort"), problems)
    raw_filters = body.get("filters", [])
    filters: tuple[Node, ...] = ()
    if not isinstance(raw_filters, list):
        problems.append("filters must be an array")
    else:
        filters = _parse_nodes(raw_filters, "filters", field_types, problems)
    cursor: tuple[Any, ...] | None = None
    if isinstance(search_after, list):
        if len(search_after) != len(sort) + 1:
            problems.append(
                f"searchAfter must hold {len(sort) + 1} values: the sort values and the id"
            )
        else:
            cursor = _parse_cursor(search_after, sort, problems)
    if problems:
        raise EmulatorError.unprocessable(problems)
    assert isinstance(location_id, str) and isinstance(page_limit, int)
    return SearchQuery(
        location_id=location_id,
        page_limit=page_limit,
        page=page if cursor is None else None,
        search_after=cursor,
        filters=filters,
        sort=sort,
        text=text.lower() if text else None,
    )


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_sort(raw: Any, problems: list[str]) -> tuple[SortKey, ...]:
    if raw is None or raw == []:
        return DEFAULT_SORT
    if not isinstance(raw, list):
        problems.append("sort must be an array")
        return DEFAULT_SORT
    if len(raw) > MAX_SORT:
        problems.append(f"sort must contain no more than {MAX_SORT} elements")
    keys: list[SortKey] = []
    for number, item in enumerate(raw):
        where = f"sort.{number}"
        if not isinstance(item, dict) or set(item) - {"field", "direction"}:
            problems.append(f"{where} must be an object with field and direction")
            continue
        name, direction = item.get("field"), item.get("direction", "asc")
        if name not in SORT_FIELDS:
            problems.append(
                f"{where}.field must be one of {', '.join(sorted(SORT_FIELDS))}"
            )
        elif direction not in ("asc", "desc"):
            problems.append(f"{where}.direction must be one of asc, desc")
        else:
            keys.append(SortKey(name, direction))
    return tuple(keys) or DEFAULT_SORT


def _parse_nodes(
    raw: list[Any], where: str, field_types: Mapping[str, str], problems: list[str]
) -> tuple[Node, ...]:
    nodes: list[Node] = []
    for number, item in enumerate(raw):
        here = f"{where}.{number}"
        if not isinstance(item, dict):
            problems.append(f"{here} must be an object")
        elif "group" in item:
            group = item["group"]
            children = item.get("filters")
            if set(item) - {"group", "filters"}:
                problems.append(f"{here} must hold only group and filters")
            elif group not in ("AND", "OR"):
                problems.append(f"{here}.group must be one of AND, OR")
            elif not isinstance(children, list) or not children:
                problems.append(f"{here}.filters must be a non-empty array")
            else:
                parsed = _parse_nodes(
                    children, f"{here}.filters", field_types, problems
                )
                nodes.append(Group(group, parsed))
        elif item.get("field") == NESTED_FIELD:
            nested = _parse_nested(item, here, problems)
            if nested is not None:
                nodes.append(nested)
        else:
            parsed_filter = _parse_filter(item, here, field_types, problems)
            if parsed_filter is not None:
                nodes.append(parsed_filter)
    return tuple(nodes)


def _parse_nested(
    item: dict[str, Any], here: str, problems: list[str]
) -> Nested | None:
    """``{"field": "opportunities", "operator": "nested", "value": [filters]}``."""
    if set(item) - {"field", "operator", "value"}:
        problems.append(f"{here} must hold only field, operator and value")
        return None
    if item.get("operator") != "nested":
        problems.append(f"{here}.operator must be nested for {NESTED_FIELD}")
        return None
    children = item.get("value")
    if not isinstance(children, list) or not children:
        problems.append(f"{here}.value must be a non-empty array of filters")
        return None
    found: list[Filter] = []
    for number, child in enumerate(children):
        where = f"{here}.value.{number}"
        if not isinstance(child, dict):
            problems.append(f"{where} must be an object")
            continue
        parsed = _parse_filter(child, where, {}, problems, fields=NESTED)
        if parsed is not None:
            found.append(parsed)
    return Nested(NESTED_FIELD, tuple(found))


def _rule_for(
    name: str, here: str, field_types: Mapping[str, str], problems: list[str]
) -> tuple[FieldRule, str | None] | None:
    """The rule of a ``customFields.<id>[.<option>]`` field, and the option id."""
    _, field_id, *rest = name.split(".", 2)
    data_type = field_types.get(field_id)
    if data_type is None:
        problems.append(f"{here}.field {name} is not a custom field of this location")
        return None
    option = rest[0] if rest else None
    if option is not None and data_type != "TEXTBOX_LIST":
        problems.append(
            f"{here}.field {name}: only TEXTBOX_LIST fields are filtered by option"
        )
        return None
    return CUSTOM_FIELD_OPERATORS.get(data_type, FieldRule(SIX)), option


def _parse_filter(
    item: dict[str, Any],
    here: str,
    field_types: Mapping[str, str],
    problems: list[str],
    *,
    fields: Mapping[str, FieldRule] = FIELDS,
) -> Filter | None:
    if set(item) - {"field", "operator", "value"}:
        problems.append(f"{here} must hold only field, operator and value")
        return None
    name, operator = item.get("field"), item.get("operator")
    if not isinstance(name, str):
        problems.append(f"{here}.field must be a string")
        return None
    option: str | None = None
    rule = fields.get(name)
    if rule is None and name.startswith("customFields.") and fields is FIELDS:
        found = _rule_for(name, here, field_types, problems)
        if found is None:
            return None
        rule, option = found
    if rule is None:
        problems.append(f"{here}.field {name} is not supported")
        return None
    if operator not in rule.operators:
        problems.append(
            f"{here}.operator {operator} is not supported for {name}; "
            f"use one of {', '.join(sorted(rule.operators))}"
        )
        return None
    kind, value = rule.kind, item.get("value")
    if operator in ("exists", "not_exists"):
        return Filter(name, operator, None, kind, option)
    if operator == "range":
        bounds = _parse_range(value, kind, here, problems)
        return None if bounds is None else Filter(name, operator, bounds, kind, option)
    if isinstance(value, bool) or isinstance(value, int | float):
        return Filter(name, operator, value, kind, option)
    if not isinstance(value, str) or not value:
        problems.append(f"{here}.value must be a non-empty string, number or boolean")
        return None
    if len(value) > MAX_VALUE_LENGTH:
        problems.append(f"{here}.value must be at most {MAX_VALUE_LENGTH} characters")
        return None
    if kind == "phone" and operator in ("eq", "not_eq"):
        value = normalize_phone(value) or value
    return Filter(name, operator, value, kind, option)


def _parse_range(
    value: Any, kind: Kind, here: str, problems: list[str]
) -> dict[str, float] | None:
    if (
        not isinstance(value, dict)
        or not value
        or set(value) - {"gt", "gte", "lt", "lte"}
    ):
        problems.append(f"{here}.value must be an object of gt, gte, lt, lte")
        return None
    bounds: dict[str, float] = {}
    for key, bound in value.items():
        number = to_millis(bound) if kind == "date" else to_number(bound)
        if number is None:
            wanted = (
                "an ISO 8601 date or date-time, or epoch milliseconds"
                if kind == "date"
                else "a number"
            )
            problems.append(f"{here}.value.{key} must be {wanted}")
            return None
        bounds[key] = number
    return bounds


def _parse_cursor(
    raw: list[Any], sort: tuple[SortKey, ...], problems: list[str]
) -> tuple[Any, ...]:
    values: list[Any] = []
    for key, value in zip(sort, raw, strict=False):
        if key.field in DATE_FIELDS and value is not None:
            value = to_millis(value)
        values.append(value)
    if not isinstance(raw[-1], str):
        problems.append("searchAfter must end with a contact id")
    values.append(raw[-1])
    return tuple(values)


def to_millis(value: Any) -> float | None:
    """Epoch milliseconds of a number, a string of digits, or an ISO 8601 date or
    date-time (naive: UTC); else None."""
    if not isinstance(value, str):
        return to_number(value)
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp() * 1000


def to_number(value: Any) -> float | None:
    """A number, or a string holding one, as a float; else None (booleans too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _node_json(nodes: Iterable[Node]) -> list[Any]:
    out: list[Any] = []
    for node in nodes:
        if isinstance(node, Group):
            out.append([node.group, _node_json(node.filters)])
        elif isinstance(node, Nested):
            out.append([node.field, "nested", _node_json(node.filters)])
        else:
            out.append([node.field, node.operator, node.value, node.option])
    return out
