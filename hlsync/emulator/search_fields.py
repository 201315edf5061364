"""The fields ``POST /contacts/search`` filters and sorts on: one table (reference §5.6).

:data:`FIELDS` lists every documented filter field with the operators the guide allows
for it and the *kind* of its values, which decides how a filter compares them
(``search``). :data:`CUSTOM_FIELD_OPERATORS` does the same for ``customFields.<id>`` by
the field's ``dataType``; :data:`NESTED` for the sub-fields of the ``opportunities``
nested filter. ``docs/emulator-search.md`` shows these tables, and
``tests/unit/test_search_docs.py`` keeps the page and the tables equal.

Kinds:

- ``text``: strings compared case-insensitively (``eq``, ``contains``);
- ``exact``: ids compared as they are (``id``; user and workflow ids in lists);
- ``phone``: E.164 strings; an ``eq`` value is normalised first (no ``+``: read as US);
- ``bool``: ``true``/``false`` (a string ``"true"`` counts as ``true``);
- ``date``: instants, compared as epoch milliseconds (ISO dates, ISO date-times and
  epoch milliseconds are all accepted as ``range`` bounds);
- ``number``: numbers (numeric strings too).

A field holding a list (``tags``, ``followers``, workflows) matches ``eq`` when one item
equals the value, ``not_eq`` when none does. An empty string or list is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "exact", "phone", "bool", "date", "number"]

SIX = frozenset({"eq", "not_eq", "contains", "not_contains", "exists", "not_exists"})
FOUR = frozenset({"eq", "not_eq", "exists", "not_exists"})
DATES = frozenset({"range", "exists", "not_exists"})
NUMBERS = frozenset({"eq", "not_eq", "range", "exists", "not_exists"})


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One filter field: its operators and the kind of its values."""

    operators: frozenset[str]
    kind: Kind = "text"


FIELDS: dict[str, FieldRule] = {
    "id": FieldRule(frozenset({"eq", "not_eq"}), "exact"),
    "contactName": FieldRule(FOUR),
    **dict.fromkeys(
        (
            "address",
            "businessName",
            "city",
            "companyName",
            "firstNameLowerCase",
            "lastNameLowerCase",
            "postalCode",
            "source",
            "state",
            "tags",
        ),
        FieldRule(SIX),
    ),
    "phone": FieldRule(SIX, "phone"),
    **dict.fromkeys(
        ("country", "email", "timezone", "type", "website"), FieldRule(FOUR)
    ),
    "dnd": FieldRule(FOUR, "bool"),
    "validEmail": FieldRule(FOUR, "bool"),
    "isValidWhatsapp": FieldRule(FOUR, "bool"),
    **dict.fromkeys(
        ("assignedTo", "followers", "activeWorkflows", "finishedWorkflows"),
        FieldRule(FOUR, "exact"),
    ),
    **dict.fromkeys(
        (
            "dateAdded",
            "dateUpdated",
            "dateOfBirth",
            "lastEmailClickedDate",
            "lastEmailOpenedDate",
            "lastAppointment",
        ),
        FieldRule(DATES, "date"),
    ),
}
DATE_FIELDS = frozenset(name for name, rule in FIELDS.items() if rule.kind == "date")

# ``customFields.<id>`` by the field's dataType; TEXTBOX_LIST is filtered per option,
# ``customFields.<id>.<optionId>``. EMAIL (a create-only type) filters like TEXT and
# FILE_UPLOAD (no value to compare) only by presence: the guide lists neither.
CUSTOM_FIELD_OPERATORS: dict[str, FieldRule] = {
    **dict.fromkeys(
        (
            "TEXT",
            "LARGE_TEXT",
            "SINGLE_OPTIONS",
            "RADIO",
            "PHONE",
            "EMAIL",
            "TEXTBOX_LIST",
        ),
        FieldRule(SIX),
    ),
    **dict.fromkeys(("CHECKBOX", "MULTIPLE_OPTIONS"), FieldRule(FOUR)),
    **dict.fromkeys(("NUMERICAL", "MONETORY"), FieldRule(NUMBERS, "number")),
    "DATE": FieldRule(DATES, "date"),
    "FILE_UPLOAD": FieldRule(frozenset({"exists", "not_exists"})),
}

# ``{"field": "opportunities", "operator": "nested", "value": [sub-filters]}``.
NESTED_FIELD = "opportunities"
NESTED: dict[str, FieldRule] = {
    "pipelineId": FieldRule(FOUR, "exact"),
    "pipelineStageId": FieldRule(FOUR, "exact"),
    "status": FieldRule(FOUR),
}

SORT_FIELDS = frozenset(
    {
        "firstNameLowerCase",
        "lastNameLowerCase",
        "businessName",
        "dateAdded",
        "dateUpdated",
        "email",
        "dnd",
        "source",
    }
)
