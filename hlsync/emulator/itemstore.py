"""One generic store for the items a location owns (tags, custom fields, custom values…),
and the id shape every emulated object shares.

:class:`ItemStore` knows no kind: each operation takes the kind's :class:`ItemRules`,
which the kind's resource module (``emulator/resources/``) declares — how a record is
built from a create body and revised by an update, its unique key and the message when
that key is taken, other names it answers to, and its listing order. Records are kept in
memory per kind, loaded from the persistence the first time a kind is used and written
through it (``put``/``delete``) on every change, like ``Store`` does for contacts. Callers
hold ``EmulatorState.lock``.

Shared rules: a missing item (or one of another location) answers 400 ``"<Noun> with id
<id> not found"``; a key is unique per location, so a create or an update that would take
another item's key answers 400 with the kind's message.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from hlsync.emulator.errors import EmulatorError

Record = dict[str, Any]

_ID_ALPHABET = string.ascii_letters + string.digits
_RANDOM = random.Random()


class _Persistence(Protocol):
    def put(self, kind: str, id: str, data: dict[str, Any]) -> None: ...

    def delete(self, kind: str, id: str) -> None: ...

    def load(self, kind: str) -> list[tuple[str, dict[str, Any]]]: ...


def new_id() -> str:
    """A 20-character alphanumeric id, the shape of upstream (Firestore) ids.

    Ids are not secrets, so a fast PRNG seeded from the OS does (``secrets.choice`` per
    character made seeding 20,000 contacts take seconds).
    """
    return "".join(_RANDOM.choices(_ID_ALPHABET, k=20))


# Random bytes onto the 62 id characters (the slight bias is harmless: ids are not
# secrets); a bulk load draws 100,000 ids in milliseconds this way.
_BYTE_TO_ID = bytes(ord(_ID_ALPHABET[b % len(_ID_ALPHABET)]) for b in range(256))


def new_ids(count: int) -> list[str]:
    """``count`` ids shaped as :func:`new_id` makes them, drawn at once (a bulk load's)."""
    letters = os.urandom(20 * count).translate(_BYTE_TO_ID).decode("ascii")
    return [letters[n : n + 20] for n in range(0, 20 * count, 20)]


def is_valid_id(value: str) -> bool:
    """True for a string shaped like an id this store (or upstream) hands out."""
    return len(value) == 20 and all(ch in _ID_ALPHABET for ch in value)


def snake_case(name: str) -> str:
    """``"Favourite Colour!"`` → ``"favourite_colour"``: how upstream derives keys."""
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in name).split()
    return "_".join(words)


def key_part(name: str) -> str:
    """:func:`snake_case` of a name; 422 when nothing is left to make a key of."""
    part = snake_case(name)
    if not part:
        raise EmulatorError.unprocessable(["name must contain a letter or a digit"])
    return part


def by_name(record: Record) -> tuple[str, str]:
    """Listing order by name, case-insensitively, then id."""
    return (record["name"].lower(), record["id"])


def _no_aliases(record: Record) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True, slots=True)
class ItemRules:
    """What the generic store needs to know about one kind of location item.

    ``persisted_as`` is the persistence kind; ``noun`` names the kind in "not found"
    messages. ``build(location_id, fields)`` makes a new record without its ``id`` (the
    store adds it first); ``revise(current, fields)`` returns the updated record.
    ``key`` is the record's unique key within its location and ``taken(key)`` the 400
    message when a create or update would duplicate it. ``aliases`` are other names the
    record can be addressed by besides its id; ``order`` sorts a listing.
    """

    persisted_as: str
    noun: str
    build: Callable[[str, dict[str, Any]], Record]
    revise: Callable[[Record, dict[str, Any]], Record]
    key: Callable[[Record], str]
    taken: Callable[[str], str]
    order: Callable[[Record], Any] = by_name
    aliases: Callable[[Record], tuple[str, ...]] = _no_aliases


class ItemStore:
    """Every location's items, of every kind, each kind under its :class:`ItemRules`."""

    def __init__(self, persistence: _Persistence) -> None:
        self._persistence = persistence
        self._kinds: dict[str, dict[str, Record]] = {}

    def _records(self, rules: ItemRules) -> dict[str, Record]:
        records = self._kinds.get(rules.persisted_as)
        if records is None:
            records = dict(self._persistence.load(rules.persisted_as))
            self._kinds[rules.persisted_as] = records
        return records

    def _in(self, rules: ItemRules, location_id: str) -> Iterable[Record]:
        return (
            r for r in self._records(rules).values() if r["locationId"] == location_id
        )

    def list(self, rules: ItemRules, location_id: str) -> list[Record]:
        return sorted(self._in(rules, location_id), key=rules.order)

    def find(self, rules: ItemRules, location_id: str, ref: str) -> Record | None:
        """By id, or by one of the record's aliases."""
        record = self._records(rules).get(ref)
        if record is not None and record["locationId"] == location_id:
            return record
        for record in self._in(rules, location_id):
            if ref in rules.aliases(record):
                return record
        return None

    def find_by_key(
        self, rules: ItemRules, location_id: str, key: str, *, exclude: str = ""
    ) -> Record | None:
        for record in self._in(rules, location_id):
            if record["id"] != exclude and rules.key(record) == key:
                return record
        return None

    def get(self, rules: ItemRules, location_id: str, ref: str) -> Record:
        record = self.find(rules, location_id, ref)
        if record is None:
            raise EmulatorError.bad_request(f"{rules.noun} with id {ref} not found")
        return record

    def create(
        self, rules: ItemRules, location_id: str, fields: dict[str, Any]
    ) -> Record:
        record = {"id": new_id(), **rules.build(location_id, fields)}
        key = rules.key(record)
        if self.find_by_key(rules, location_id, key) is not None:
            raise EmulatorError.bad_request(rules.taken(key))
        return self._put(rules, record)

    def update(
        self, rules: ItemRules, location_id: str, ref: str, fields: dict[str, Any]
    ) -> Record:
        current = self.get(rules, location_id, ref)
        record = rules.revise(current, fields)
        key = rules.key(record)
        if key != rules.key(current) and self.find_by_key(
            rules, location_id, key, exclude=current["id"]
        ):
            raise EmulatorError.bad_request(rules.taken(key))
        return self._put(rules, record)

    def delete(self, rules: ItemRules, location_id: str, ref: str) -> None:
        record = self.get(rules, location_id, ref)
        del self._records(rules)[record["id"]]
        self._persistence.delete(rules.persisted_as, record["id"])

    def _put(self, rules: ItemRules, record: Record) -> Record:
        self._records(rules)[record["id"]] = record
        self._persistence.put(rules.persisted_as, record["id"], record)
        return record
