"""The generic item store with a kind it has never heard of: what a new item resource
gets from ``ItemRules`` alone (the three real kinds are tested through
``LocationItems`` in test_emulator_store.py)."""

from __future__ import annotations

from typing import Any

import pytest

from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.itemstore import ItemRules, ItemStore, Record, is_valid_id
from hlsync.emulator.persist import MemoryPersistence

WIDGET = ItemRules(
    persisted_as="widget",
    noun="Widget",
    build=lambda location_id, fields: {
        "name": fields["name"],
        "code": fields["name"].upper(),
        "locationId": location_id,
    },
    revise=lambda current, fields: {**current, **fields},
    key=lambda record: str(record["code"]),
    taken=lambda key: f"Widget {key} exists",
    aliases=lambda record: (str(record["code"]),),
)


def _bad_request(action: Any) -> str:
    with pytest.raises(EmulatorError) as caught:
        action()
    assert caught.value.status == 400
    message: str = caught.value.body["message"]
    return message


def test_a_new_kind_round_trips_through_the_persistence() -> None:
    persistence = MemoryPersistence()
    items = ItemStore(persistence)
    b = items.create(WIDGET, "loc1", {"name": "b"})
    a = items.create(WIDGET, "loc1", {"name": "a"})
    items.create(WIDGET, "loc2", {"name": "a"})
    assert is_valid_id(a["id"]) and list(a) == ["id", "name", "code", "locationId"]
    assert items.list(WIDGET, "loc1") == [a, b]
    assert items.get(WIDGET, "loc1", "B") == b
    again = ItemStore(persistence)
    assert again.list(WIDGET, "loc1") == [a, b]
    assert persistence.load("widget") != [] and persistence.load("locationTag") == []


def test_keys_are_unique_per_location() -> None:
    items = ItemStore(MemoryPersistence())
    a = items.create(WIDGET, "loc1", {"name": "a"})
    b = items.create(WIDGET, "loc1", {"name": "b"})
    assert _bad_request(lambda: items.create(WIDGET, "loc1", {"name": "A"})) == (
        "Widget A exists"
    )
    assert _bad_request(
        lambda: items.update(WIDGET, "loc1", b["id"], {"code": "A"})
    ) == ("Widget A exists")
    renamed = items.update(WIDGET, "loc1", a["id"], {"name": "z"})
    assert renamed == {**a, "name": "z"}
    assert items.get(WIDGET, "loc1", a["id"]) == renamed


def test_missing_or_foreign_items_are_not_found() -> None:
    persistence = MemoryPersistence()
    items = ItemStore(persistence)
    a: Record = items.create(WIDGET, "loc1", {"name": "a"})
    assert items.find(WIDGET, "loc2", a["id"]) is None
    assert _bad_request(lambda: items.get(WIDGET, "loc2", a["id"])) == (
        f"Widget with id {a['id']} not found"
    )
    items.delete(WIDGET, "loc1", "A")
    assert items.list(WIDGET, "loc1") == []
    assert persistence.load("widget") == []
    assert _bad_request(lambda: items.delete(WIDGET, "loc1", a["id"])) == (
        f"Widget with id {a['id']} not found"
    )
