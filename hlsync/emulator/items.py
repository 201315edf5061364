"""A location's tags, custom fields and custom values by name: the operations the rest
of the emulator (contacts, contact search, seeding, tests) performs on those three kinds.

``LocationItems`` is the generic :class:`~hlsync.emulator.itemstore.ItemStore` with one
method per operation, each handing the kind's rules (declared in its resource module,
``resources/tags``, ``custom_fields``, ``custom_values``) to the generic one; ``Store.items``
is the instance the routes use. A new item resource needs nothing here: its routes call
the generic operations with its own rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hlsync.emulator.itemstore import ItemStore, Record
from hlsync.emulator.resources import custom_fields, custom_values, tags

TAG = tags.RULES
FIELD = custom_fields.RULES
VALUE = custom_values.RULES


class LocationItems(ItemStore):
    """Tags, custom fields and custom values of every location."""

    def tags(self, location_id: str) -> list[Record]:
        return self.list(TAG, location_id)

    def get_tag(self, location_id: str, tag_id: str) -> Record:
        return self.get(TAG, location_id, tag_id)

    def find_tag(self, location_id: str, name: str) -> Record | None:
        return self.find_by_key(TAG, location_id, tags.name_key(name))

    def create_tag(self, location_id: str, name: str) -> Record:
        """400 when the location has a tag of that name (case-insensitive)."""
        return self.create(TAG, location_id, {"name": name})

    def update_tag(self, location_id: str, tag_id: str, name: str) -> Record:
        return self.update(TAG, location_id, tag_id, {"name": name})

    def delete_tag(self, location_id: str, tag_id: str) -> None:
        self.delete(TAG, location_id, tag_id)

    def ensure_tags(self, location_id: str, names: Iterable[str]) -> None:
        """A tag put on a contact also joins the location's tag list, as upstream."""
        for name in names:
            if self.find_tag(location_id, name) is None:
                self.create_tag(location_id, name)

    def custom_fields(self, location_id: str, model: str | None = None) -> list[Record]:
        found = self.list(FIELD, location_id)
        return found if model is None else [r for r in found if r["model"] == model]

    def find_custom_field(self, location_id: str, id_or_key: str) -> Record | None:
        """By id, or by field key with or without its model prefix."""
        return self.find(FIELD, location_id, id_or_key)

    def get_custom_field(self, location_id: str, id_or_key: str) -> Record:
        return self.get(FIELD, location_id, id_or_key)

    def create_custom_field(self, location_id: str, fields: dict[str, Any]) -> Record:
        """``fields`` holds name, dataType and the optional DTO fields."""
        return self.create(FIELD, location_id, fields)

    def update_custom_field(
        self, location_id: str, id_or_key: str, fields: dict[str, Any]
    ) -> Record:
        return self.update(FIELD, location_id, id_or_key, fields)

    def delete_custom_field(self, location_id: str, id_or_key: str) -> None:
        self.delete(FIELD, location_id, id_or_key)

    def custom_values(self, location_id: str) -> list[Record]:
        return self.list(VALUE, location_id)

    def get_custom_value(self, location_id: str, value_id: str) -> Record:
        return self.get(VALUE, location_id, value_id)

    def create_custom_value(self, location_id: str, name: str, value: str) -> Record:
        return self.create(VALUE, location_id, {"name": name, "value": value})

    def update_custom_value(
        self, location_id: str, value_id: str, name: str, value: str
    ) -> Record:
        return self.update(VALUE, location_id, value_id, {"name": name, "value": value})

    def delete_custom_value(self, location_id: str, value_id: str) -> None:
        self.delete(VALUE, location_id, value_id)
