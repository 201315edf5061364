"""Seed contacts from CSV or JSONL files (``contacts_from:``).

Both formats produce :class:`RawContact` values shaped exactly like a contact written in
YAML (``{"firstName": …, "email": …, "tags": [...], "custom_fields": {...}}``), so the
config loader checks all contacts the same way.

CSV (the format to use for large seed sets):

* UTF-8, comma separated, the first row a header of HighLevel field names
  (:data:`FIELD_NAMES`), plus ``tags``, ``tags_exclusive``, ``ensure``, ``protect`` and one
  ``customFields.<key>`` column per custom field;
* an empty cell means "not declared" (the field is left alone, or filled from
  ``defaults``);
* ``tags`` cells hold several tags separated by ``;`` (``vip; newsletter``); list-valued
  custom fields (CHECKBOX, MULTIPLE_OPTIONS) use ``;`` the same way;
* ``dnd``, ``tags_exclusive`` and ``protect`` take ``true`` or ``false``;
* a contact's position is its row's first line: ``Location(file, line, 1)``.

JSONL: one JSON object per line, shaped like a YAML contact; blank lines are skipped.

Reading is one pass with the ``csv`` module (20,000 rows take well under a second).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlsync.config import checks
from hlsync.config.checks import did_you_mean, quote
from hlsync.config.yamlload import read_text
from hlsync.errors import Location, Problem

FIELD_NAMES = (
    "firstName",
    "lastName",
    "name",
    "email",
    "phone",
    "address1",
    "city",
    "state",
    "postalCode",
    "country",
    "website",
    "timezone",
    "companyName",
    "source",
    "dateOfBirth",
    "dnd",
)
BOOLEAN_COLUMNS = frozenset({"dnd", "tags_exclusive", "protect"})
EXTRA_COLUMNS = ("tags", "tags_exclusive", "ensure", "protect")
CUSTOM_PREFIX = "customFields."
MAX_CONTACT_FILE_BYTES = 200 * 1024 * 1024
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


@dataclass(frozen=True, slots=True)
class RawContact:
    """One contact as read: YAML-shaped data, where it came from, and whether its values
    are CSV text (custom-field numbers and lists still to be parsed)."""

    data: dict[str, Any]
    source: Location
    textual: bool


def read_contacts(path: Path, display: str) -> tuple[list[RawContact], list[Problem]]:
    """Read a ``.csv`` or ``.jsonl`` file; problems carry file:line:column."""
    if not path.is_file():
        reason = "is a directory" if path.is_dir() else "does not exist"
        return [], [Problem(f"contacts file {display} {reason}", Location(display))]
    text, problem = read_text(path, display, limit=MAX_CONTACT_FILE_BYTES)
    if problem is not None or text is None:
        return [], [problem or Problem("cannot read file", Location(display))]
    secrets = [
        Problem(
            checks.TOKEN_MESSAGE, Location(display, line, column), checks.TOKEN_HINT
        )
        for line, column in checks.token_positions(text)
    ]
    text = checks.redact(text)
    read = _read_jsonl if path.suffix.lower() == ".jsonl" else _read_csv
    contacts, problems = read(text, display)
    return contacts, secrets + problems


def _read_jsonl(text: str, display: str) -> tuple[list[RawContact], list[Problem]]:
    contacts: list[RawContact] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(
                    f"invalid JSON: {exc.msg}", Location(display, number, exc.colno)
                )
            )
            continue
        if not isinstance(data, dict):
            problems.append(
                Problem("each line must be a JSON object", Location(display, number, 1))
            )
            continue
        contacts.append(RawContact(data, Location(display, number, 1), textual=False))
    return contacts, problems


def _read_csv(text: str, display: str) -> tuple[list[RawContact], list[Problem]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [Problem(f"CSV error: {exc}", Location(display, 1, 1))]
    if not header or not any(cell.strip() for cell in header):
        return [], [
            Problem(
                "CSV file has no header row",
                Location(display, 1, 1),
                "the first row names the columns: firstName,lastName,email,phone,…",
            )
        ]
    columns, problems = _check_header(header, text.split("\n", 1)[0], display)
    if problems:
        return [], problems
    contacts: list[RawContact] = []
    line = reader.line_num + 1
    try:
        for row in reader:
            where = Location(display, line, 1)
            line = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                problems.append(
                    Problem(
                        f"row has {len(row)} cells; the header has {len(columns)}",
                        where,
                    )
                )
                continue
            data, cell_problems = _row(columns, row, where)
            problems.extend(cell_problems)
            contacts.append(RawContact(data, where, textual=True))
    except csv.Error as exc:
        problems.append(Problem(f"CSV error: {exc}", Location(display, line, 1)))
    return contacts, problems


def _check_header(
    header: list[str], first_line: str, display: str
) -> tuple[list[str], list[Problem]]:
    known = (*FIELD_NAMES, *EXTRA_COLUMNS)
    columns = [cell.strip() for cell in header]
    problems: list[Problem] = []
    seen: set[str] = set()
    offset = 0
    for index, name in enumerate(columns):
        cell = header[index]
        found = first_line.find(cell, offset) if cell else -1
        if found >= 0:
            column = found + 1
            offset = found + len(cell)
        else:  # an empty (or oddly quoted) cell sits right after the previous comma
            column = offset + 2 if index else 1
            offset += 1
        where = Location(display, 1, column)
        if not name:
            problems.append(Problem(f"column {index + 1} has an empty name", where))
        elif name in seen:
            problems.append(Problem(f'column "{name}" appears twice', where))
        elif name.startswith(CUSTOM_PREFIX):
            key = name[len(CUSTOM_PREFIX) :]
            if not key or not all(c.isalnum() or c == "_" for c in key):
                problems.append(
                    Problem(f"bad custom-field column {quote(name)}", where)
                )
        elif name not in known:
            hint = did_you_mean(name, known) or (
                "columns are HighLevel field names, tags, or customFields.<key>"
            )
            problems.append(Problem(f"unknown column {quote(name)}", where, hint))
        seen.add(name)
    return columns, problems


def _row(
    columns: list[str], row: list[str], where: Location
) -> tuple[dict[str, Any], list[Problem]]:
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    custom: dict[str, Any] = {}
    for name, cell in zip(columns, row, strict=False):
        value = cell.strip()
        if not value:
            continue
        if name.startswith(CUSTOM_PREFIX):
            custom[name[len(CUSTOM_PREFIX) :]] = value
        elif name == "tags":
            data["tags"] = list(
                dict.fromkeys(t.strip() for t in value.split(";") if t.strip())
            )
        elif name in BOOLEAN_COLUMNS:
            lowered = value.lower()
            if lowered in _TRUE or lowered in _FALSE:
                data[name] = lowered in _TRUE
            else:
                problems.append(
                    Problem(f"{name} must be true or false, got {quote(value)}", where)
                )
        else:
            data[name] = value
    if custom:
        data["custom_fields"] = custom
    return data, problems
