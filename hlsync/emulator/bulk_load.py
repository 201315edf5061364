"""The admin bulk load of contacts: JSON lines, checked as the API checks a create, and put
straight into the store (``POST /_emulator/locations/{locationId}/contacts``).

Each non-blank line is one JSON object: what ``POST /contacts/`` accepts (``locationId``
may be left out; when given it must be the path's location), plus

- ``id``: the contact's id (default: a new one); unique in the emulator;
- ``dateAdded``, ``dateUpdated``: ISO 8601 times or epoch milliseconds (default: now,
  and ``dateUpdated`` defaults to ``dateAdded``);
- the activity keys of ``contact_activity`` (followers, workflows, opportunities,
  tasks, notes, appointments…).

All or nothing: a bad line answers 422 with ``line N: <problem>`` messages (the first
20, then a count) and nothing is stored. On a location that forbids duplicates, a line
whose email (case-insensitive) or phone is already taken — by a contact or by an
earlier line — is a problem too. :class:`BulkLoad` is fed the body as it streams in
(:meth:`BulkLoad.feed`), so the lines are checked while the client is still sending;
:meth:`BulkLoad.check` then compares them with the store (under the state lock).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hlsync.emulator.contact_activity import FIELDS as ACTIVITY
from hlsync.emulator.contact_activity import activity_fields, iso_from_millis
from hlsync.emulator.contact_body import contact_fields
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.resources.contacts import CREATE_CONTACT, DUPLICATE_MESSAGE
from hlsync.emulator.search_query import to_millis
from hlsync.emulator.store import Record, Store
from hlsync.emulator.validation import Prop, check_value

MAX_PROBLEMS = 20
_DTO: dict[str, Prop] = {k: v for k, v in CREATE_CONTACT.items() if k != "locationId"}
_DATES = frozenset({"dateAdded", "dateUpdated"})
_OWN = _DATES | {"id", "locationId"}
_KNOWN = frozenset(_DTO) | _OWN | frozenset(ACTIVITY)
# Properties any string fits: a str value needs no check_value call (the fast path of a
# load of 100,000 lines).
_PLAIN_STRINGS = {
    key: str
    for key, prop in _DTO.items()
    if prop.kind == "string" and not prop.enum and not prop.required
}


class BulkLoad:
    """The lines of one bulk load into ``location_id``, checked as they arrive.

    ``custom_fields`` are the location's custom field records (a snapshot taken under
    the state lock), which contact bodies may name by id or key.
    """

    def __init__(self, location_id: str, custom_fields: Iterable[Record]) -> None:
        self.location_id = location_id
        self._fields: dict[str, Record] = {}
        for field in custom_fields:
            key: str = field["fieldKey"]
            for alias in (field["id"], key, key.split(".", 1)[-1]):
                self._fields.setdefault(alias, field)
        self._tail = b""
        self._number = 0
        self.records: list[Record] = []
        self._lines: list[int] = []
        self._problems: list[str] = []
        self._problem_count = 0

    def feed(self, data: bytes) -> None:
        """Take the next chunk of the body (lines may span chunks)."""
        lines = (self._tail + data).split(b"\n")
        self._tail = lines.pop()
        self._take_all(lines)

    def finish(self) -> None:
        """The body ended: check its last line; 422 if any line was bad."""
        if self._tail:
            self._take_all([self._tail])
            self._tail = b""
        self._raise_if_bad()

    def _take_all(self, lines: list[bytes]) -> None:
        for raw in lines:
            self._number += 1
            if raw.strip():
                self._take(self._number, _decoded(raw))

    def check(self, store: Store) -> None:
        """Compare the lines with the store (ids, duplicates); 422 if any clash."""
        taken_ids: set[str] = set()
        seen: dict[tuple[str, str], int] = {}
        unique = not store.allows_duplicates(self.location_id)
        for number, record in zip(self._lines, self.records, strict=True):
            contact_id = record.get("id")
            if contact_id is not None:
                if contact_id in taken_ids or store.get_contact(contact_id):
                    self._problem(number, f"id {contact_id} is taken")
                taken_ids.add(contact_id)
            if unique:
                self._check_duplicate(store, number, record, seen)
        self._raise_if_bad()

    def _check_duplicate(
        self,
        store: Store,
        number: int,
        record: Record,
        seen: dict[tuple[str, str], int],
    ) -> None:
        email, phone = record.get("email"), record.get("phone")
        keys = [("email", email.lower())] if email else []
        keys += [("phone", phone)] if phone else []
        for key in keys:
            if key in seen:
                self._problem(
                    number,
                    f"{DUPLICATE_MESSAGE} ({key[0]} as on line {seen[key]})",
                )
                return
        found = store.find_duplicate(self.location_id, email, phone)
        if found is not None:
            self._problem(
                number,
                f"{DUPLICATE_MESSAGE} ({found[1]} of contact {found[0]['id']})",
            )
            return
        for key in keys:
            seen[key] = number

    def _take(self, number: int, body: Any) -> None:
        if not isinstance(body, dict):
            bad = isinstance(body, _Undecodable)
            self._problem(number, "not valid JSON" if bad else "not a JSON object")
            return
        problems: list[str] = []
        extra = body.keys() - _DTO.keys()
        record = self._contact(
            {k: v for k, v in body.items() if k in _DTO} if extra else body,
            body.get("id"),
            problems,
        )
        if extra:
            problems.extend(
                f"property {k} should not exist" for k in extra if k not in _KNOWN
            )
            if body.get("locationId", self.location_id) != self.location_id:
                problems.append("locationId must be the location loaded into")
            if not extra.isdisjoint(_DATES):
                record.update(_dates(body, problems))
            if not extra.isdisjoint(ACTIVITY):
                record.update(activity_fields(body, problems))
        for problem in problems:
            self._problem(number, problem)
        if not problems:
            self.records.append({k: v for k, v in record.items() if v is not None})
            self._lines.append(number)

    def _contact(
        self, contact: dict[str, Any], contact_id: Any, problems: list[str]
    ) -> Record:
        """The store form of the line's contact properties (``contact``)."""
        shape = [
            problem
            for key, value in contact.items()
            if type(value) is not _PLAIN_STRINGS.get(key)
            for problem in check_value(key, value, _DTO[key])
        ]
        if shape:
            problems.extend(shape)
            return {}
        try:
            fields = contact_fields(contact, v3=False, resolve_field=self._fields.get)
        except EmulatorError as exc:
            problems.extend(exc.body["message"])
            return {}
        if contact_id is not None:
            if isinstance(contact_id, str) and contact_id and "/" not in contact_id:
                fields["id"] = contact_id
            else:
                problems.append("id must be a non-empty string without '/'")
        return fields

    def _problem(self, number: int, message: str) -> None:
        self._problem_count += 1
        if len(self._problems) < MAX_PROBLEMS:
            self._problems.append(f"line {number}: {message}")

    def _raise_if_bad(self) -> None:
        if not self._problem_count:
            return
        messages = list(self._problems)
        if self._problem_count > len(messages):
            messages.append(f"… and {self._problem_count - len(messages)} more")
        raise EmulatorError.unprocessable(messages)


class _Undecodable:
    """A line that is not JSON (its place in a chunk's decoded list)."""


# One decoder for every line (json.loads finds the encoding of bytes and looks up its
# decoder on each call: a third more time over 100,000 lines).
_DECODER = json.JSONDecoder()


def _decoded(raw: bytes) -> Any:
    try:
        return _DECODER.decode(raw.decode("utf-8-sig"))  # a BOM may open the body
    except ValueError:  # UnicodeDecodeError is one
        return _Undecodable()


def _dates(body: dict[str, Any], problems: list[str]) -> Record:
    out: Record = {}
    for key in ("dateAdded", "dateUpdated"):
        if key in body:
            millis = None if isinstance(body[key], bool) else to_millis(body[key])
            if millis is None:
                problems.append(f"{key} must be an ISO 8601 time or epoch milliseconds")
            else:
                out[key] = iso_from_millis(millis)
    return out
