"""A location's tags, custom fields and custom values (reference §6), and the id shape.

``LocationItems`` keeps the three kinds in memory, loads them from the persistence at
init and writes every change through it (``put``/``delete``), like ``Store`` does for
locations and contacts; ``Store.items`` is the instance the routes use.

Assumptions: names are unique per location case-insensitively for tags (400 on a
duplicate); a custom field's key is ``<model>.<snake_case name>`` and a custom value's
``{{ custom_values.<snake_case name> }}``, each unique per location (400 when taken); a
missing item answers 400 ``"<Kind> with id <id> not found"``; a custom field may be
addressed by its key, with or without the model prefix.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable
from typing import Any, Protocol

from hlsync.emulator.errors import EmulatorError

Record = dict[str, Any]

KIND_TAG = "locationTag"
KIND_FIELD = "customField"
KIND_VALUE = "customValue"

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


def is_valid_id(value: str) -> bool:
    """True for a string shaped like an id this store (or upstream) hands out."""
    return len(value) == 20 and all(ch in _ID_ALPHABET for ch in value)


class LocationItems:
    """Tags, custom fields and custom values of every location."""

    def __init__(self, persistence: _Persistence) -> None:
        self._persistence = persistence
        self._tags: dict[str, Record] = dict(persistence.load(KIND_TAG))
        self._fields: dict[str, Record] = dict(persistence.load(KIND_FIELD))
        self._values: dict[str, Record] = dict(persistence.load(KIND_VALUE))

    # Tags

    def tags(self, location_id: str) -> list[Record]:
        return _by_name(
            r for r in self._tags.values() if r["locationId"] == location_id
        )

    def get_tag(self, location_id: str, tag_id: str) -> Record:
        record = self._tags.get(tag_id)
        if record is None or record["locationId"] != location_id:
            raise EmulatorError.bad_request(f"Tag with id {tag_id} not found")
        return record

    def find_tag(self, location_id: str, name: str) -> Record | None:
        wanted = name.strip().lower()
        for record in self._tags.values():
            if record["locationId"] == location_id and record["name"].lower() == wanted:
                return record
        return None

    def create_tag(self, location_id: str, name: str) -> Record:
        """400 when the location has a tag of that name (case-insensitive)."""
        if self.find_tag(location_id, name) is not None:
            raise EmulatorError.bad_request("The tag name already exists")
        record = {"id": new_id(), "name": name.strip(), "locationId": location_id}
        self._tags[record["id"]] = record
        self._persistence.put(KIND_TAG, record["id"], record)
        return record

    def update_tag(self, location_id: str, tag_id: str, name: str) -> Record:
        current = self.get_tag(location_id, tag_id)
        other = self.find_tag(location_id, name)
        if other is not None and other["id"] != tag_id:
            raise EmulatorError.bad_request("The tag name already exists")
        record = {**current, "name": name.strip()}
        self._tags[tag_id] = record
        self._persistence.put(KIND_TAG, tag_id, record)
        return record

    def delete_tag(self, location_id: str, tag_id: str) -> None:
        self.get_tag(location_id, tag_id)
        del self._tags[tag_id]
        self._persistence.delete(KIND_TAG, tag_id)

    def ensure_tags(self, location_id: str, tags: Iterable[str]) -> None:
        """A tag put on a contact also joins the location's tag list, as upstream."""
        for tag in tags:
            if self.find_tag(location_id, tag) is None:
                self.create_tag(location_id, tag)

    # Custom fields

    def custom_fields(self, location_id: str, model: str | None = None) -> list[Record]:
        found = (
            r
            for r in self._fields.values()
            if r["locationId"] == location_id and (model is None or r["model"] == model)
        )
        return sorted(found, key=lambda r: (r.get("position", 0), r["name"], r["id"]))

    def find_custom_field(self, location_id: str, id_or_key: str) -> Record | None:
        """By id, or by field key with or without its model prefix."""
        record = self._fields.get(id_or_key)
        if record is not None and record["locationId"] == location_id:
            return record
        for record in self._fields.values():
            if record["locationId"] != location_id:
                continue
            key = record["fieldKey"]
            if id_or_key in (key, key.split(".", 1)[-1]):
                return record
        return None

    def get_custom_field(self, location_id: str, id_or_key: str) -> Record:
        record = self.find_custom_field(location_id, id_or_key)
        if record is None:
            raise EmulatorError.bad_request(
                f"Custom field with id {id_or_key} not found"
            )
        return record

    def create_custom_field(self, location_id: str, fields: dict[str, Any]) -> Record:
        """``fields`` holds name, dataType and the optional DTO fields; the field key
        is ``<model>.<snake_case name>``; 400 if the location already has that key."""
        model = fields.get("model") or "contact"
        key = f"{model}.{_key_part(fields['name'])}"
        if any(
            r["locationId"] == location_id and r["fieldKey"] == key
            for r in self._fields.values()
        ):
            raise EmulatorError.bad_request(
                f"Custom field with key {key} already exists"
            )
        record: Record = {
            "id": new_id(),
            "name": fields["name"],
            "fieldKey": key,
            "placeholder": fields.get("placeholder") or "",
            "dataType": fields["dataType"],
            "position": fields.get("position", 0),
            "picklistOptions": [],
            "picklistImageOptions": [],
            "isAllowedCustomOption": False,
            "isMultiFileAllowed": bool(fields.get("isMultipleFile", False)),
            "maxFileLimit": fields.get("maxNumberOfFiles", 0),
            "locationId": location_id,
            "model": model,
        }
        if fields.get("acceptedFormat") is not None:
            record["acceptedFormat"] = list(fields["acceptedFormat"])
        if fields.get("textBoxListOptions") is not None:
            record["textBoxListOptions"] = list(fields["textBoxListOptions"])
        self._fields[record["id"]] = record
        self._persistence.put(KIND_FIELD, record["id"], record)
        return record

    def update_custom_field(
        self, location_id: str, id_or_key: str, fields: dict[str, Any]
    ) -> Record:
        """Rename / re-describe a field; its id, key and data type never change."""
        current = self.get_custom_field(location_id, id_or_key)
        record = dict(current)
        renames = {
            "isMultipleFile": "isMultiFileAllowed",
            "maxNumberOfFiles": "maxFileLimit",
        }
        for key, value in fields.items():
            record[renames.get(key, key)] = value
        self._fields[record["id"]] = record
        self._persistence.put(KIND_FIELD, record["id"], record)
        return record

    def delete_custom_field(self, location_id: str, id_or_key: str) -> None:
        record = self.get_custom_field(location_id, id_or_key)
        del self._fields[record["id"]]
        self._persistence.delete(KIND_FIELD, record["id"])

    # Custom values

    def custom_values(self, location_id: str) -> list[Record]:
        return _by_name(
            r for r in self._values.values() if r["locationId"] == location_id
        )

    def get_custom_value(self, location_id: str, value_id: str) -> Record:
        record = self._values.get(value_id)
        if record is None or record["locationId"] != location_id:
            raise EmulatorError.bad_request(
                f"Custom value with id {value_id} not found"
            )
        return record

    def create_custom_value(self, location_id: str, name: str, value: str) -> Record:
        """The key is ``{{ custom_values.<snake_case name> }}``; 400 when taken."""
        key = "{{ custom_values." + _key_part(name) + " }}"
        if any(
            r["locationId"] == location_id and r["fieldKey"] == key
            for r in self._values.values()
        ):
            raise EmulatorError.bad_request(
                f"Custom value with key {key} already exists"
            )
        record = {
            "id": new_id(),
            "name": name,
            "fieldKey": key,
            "value": value,
            "locationId": location_id,
        }
        self._values[record["id"]] = record
        self._persistence.put(KIND_VALUE, record["id"], record)
        return record

    def update_custom_value(
        self, location_id: str, value_id: str, name: str, value: str
    ) -> Record:
        record = {
            **self.get_custom_value(location_id, value_id),
            "name": name,
            "value": value,
        }
        self._values[value_id] = record
        self._persistence.put(KIND_VALUE, value_id, record)
        return record

    def delete_custom_value(self, location_id: str, value_id: str) -> None:
        self.get_custom_value(location_id, value_id)
        del self._values[value_id]
        self._persistence.delete(KIND_VALUE, value_id)


def _key_part(name: str) -> str:
    """:func:`snake_case` of a name; 422 when nothing is left to make a key of."""
    part = snake_case(name)
    if not part:
        raise EmulatorError.unprocessable(["name must contain a letter or a digit"])
    return part


def snake_case(name: str) -> str:
    """``"Favourite Colour!"`` → ``"favourite_colour"``: how upstream derives keys."""
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in name).split()
    return "_".join(words)


def _by_name(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=lambda r: (r["name"].lower(), r["id"]))
