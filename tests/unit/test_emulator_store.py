"""Store: locations, contacts with indexes and search lag, tags, custom fields/values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hlsync.emulator import search_query
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.itemstore import is_valid_id, snake_case
from hlsync.emulator.store import KIND_CONTACT, KIND_LOCATION, Store, merge_tags


class FakePersistence:
    """Records every put/delete; ``load`` returns what is currently held."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: list[tuple[str, str, str]] = []

    def put(self, kind: str, id: str, data: dict[str, Any]) -> None:
        self.rows[(kind, id)] = data
        self.writes.append(("put", kind, id))

    def delete(self, kind: str, id: str) -> None:
        self.rows.pop((kind, id), None)
        self.writes.append(("delete", kind, id))

    def load(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return sorted((i, d) for (k, i), d in self.rows.items() if k == kind)


class FakeClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def persistence() -> FakePersistence:
    return FakePersistence()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(persistence: FakePersistence, clock: FakeClock) -> Store:
    s = Store(persistence, clock)
    s.add_location("loc1", "comp1", "One")
    s.add_location("loc2", "comp1", "Two", {"allowDuplicateContact": True})
    return s


def query(**body: Any) -> search_query.SearchQuery:
    return search_query.parse_query(
        {"locationId": "loc1", "pageLimit": 100, **body}, {}
    )


def test_location_api(store: Store, persistence: FakePersistence) -> None:
    assert store.location_ids() == ["loc1", "loc2"]
    loc = store.get_location("loc1")
    assert loc is not None and loc["companyId"] == "comp1" and loc["name"] == "One"
    assert loc["settings"]["allowDuplicateContact"] is False
    assert store.allows_duplicates("loc2") and not store.allows_duplicates("loc1")
    updated = store.update_location_settings("loc1", {"allowDuplicateContact": True})
    assert updated["settings"]["allowDuplicateContact"] is True
    assert persistence.rows[(KIND_LOCATION, "loc1")]["settings"][
        "allowDuplicateContact"
    ]
    assert store.get_location("nope") is None


def test_location_errors(store: Store) -> None:
    with pytest.raises(EmulatorError) as dup:
        store.add_location("loc1", "comp1", "Again")
    assert dup.value.status == 400
    with pytest.raises(EmulatorError) as missing:
        store.update_location_settings("nope", {"allowDuplicateContact": True})
    assert missing.value.status == 404
    with pytest.raises(EmulatorError) as bad:
        store.update_location_settings(
            "loc1", {"colour": 1, "allowDuplicateContact": "y"}
        )
    assert bad.value.status == 422
    assert bad.value.body["message"] == [
        "property colour should not exist",
        "allowDuplicateContact must be a boolean value",
    ]


def test_state_survives_reload(
    store: Store, persistence: FakePersistence, clock: FakeClock
) -> None:
    contact = store.create_contact("loc1", {"email": "A@x.io", "tags": ["vip"]})
    store.items.create_custom_field(
        "loc1", {"name": "Shoe Size", "dataType": "NUMERICAL"}
    )
    store.items.create_custom_value("loc1", "Brand", "Acme")
    again = Store(persistence, clock)
    assert again.location_ids() == ["loc1", "loc2"]
    assert again.get_contact(contact["id"]) == contact
    assert again.find_duplicate("loc1", "a@X.io", None) == (contact, "email")
    assert [t["name"] for t in again.items.tags("loc1")] == ["vip"]
    assert again.items.custom_fields("loc1")[0]["fieldKey"] == "contact.shoe_size"
    assert (
        again.items.custom_values("loc1")[0]["fieldKey"] == "{{ custom_values.brand }}"
    )


def test_contact_lifecycle_writes_through(
    store: Store, persistence: FakePersistence, clock: FakeClock
) -> None:
    created = store.create_contact(
        "loc1", {"firstName": "Ann", "phone": "+15550001111"}
    )
    assert is_valid_id(created["id"])
    assert created["dateAdded"] == "2026-01-02T03:04:05.678Z"
    assert created["type"] == "lead" and created["dnd"] is False
    assert persistence.rows[(KIND_CONTACT, created["id"])] == created
    clock.at += timedelta(seconds=5)
    updated = store.update_contact(created["id"], {"firstName": None, "city": "Oslo"})
    assert "firstName" not in updated and updated["city"] == "Oslo"
    assert updated["dateUpdated"] == "2026-01-02T03:04:10.678Z"
    assert updated["dateAdded"] == created["dateAdded"]
    store.delete_contact(created["id"])
    assert store.get_contact(created["id"]) is None and store.was_deleted(created["id"])
    assert ("delete", KIND_CONTACT, created["id"]) in persistence.writes
    with pytest.raises(EmulatorError) as err:
        store.update_contact(created["id"], {"city": "x"})
    assert err.value.body == {
        "statusCode": 400,
        "message": f"Contact with id {created['id']} not found",
    }


def test_custom_values_merge_by_id(store: Store) -> None:
    c = store.create_contact("loc1", {"customFields": [{"id": "f1", "value": "a"}]})
    c = store.update_contact(
        c["id"],
        {"customFields": [{"id": "f2", "value": 3}, {"id": "f1", "value": None}]},
    )
    assert c["customFields"] == [{"id": "f2", "value": 3}]


def test_tags_merge_remove_and_join_location(store: Store) -> None:
    c = store.create_contact("loc1", {"tags": ["VIP", " vip ", "new"]})
    assert c["tags"] == ["VIP", "new"]
    c = store.add_contact_tags(c["id"], ["New", "lead"])
    assert c["tags"] == ["VIP", "new", "lead"]
    c = store.remove_contact_tags(c["id"], ["vip"])
    assert c["tags"] == ["new", "lead"]
    assert [t["name"] for t in store.items.tags("loc1")] == ["lead", "new", "VIP"]
    assert store.items.tags("loc2") == []


def test_duplicates_email_before_phone(store: Store, clock: FakeClock) -> None:
    a = store.create_contact("loc1", {"email": "a@x.io"})
    clock.at += timedelta(seconds=1)
    b = store.create_contact("loc1", {"phone": "+15550001111"})
    assert store.find_duplicate("loc1", "A@X.IO", "+15550001111") == (a, "email")
    assert store.find_duplicate("loc1", "z@x.io", "+15550001111") == (b, "phone")
    assert store.find_duplicate("loc1", "a@x.io", None, exclude=a["id"]) is None
    assert store.find_duplicate("loc2", "a@x.io", None) is None
    store.update_contact(a["id"], {"email": "new@x.io"})
    assert store.find_duplicate("loc1", "a@x.io", None) is None
    assert store.find_duplicate("loc1", "NEW@x.io", None) == (
        store.get_contact(a["id"]),
        "email",
    )


def test_search_uses_email_index_and_cursor(store: Store, clock: FakeClock) -> None:
    ids = []
    for n in range(30):
        clock.at += timedelta(seconds=1)
        ids.append(store.create_contact("loc1", {"email": f"p{n}@x.io"})["id"])
    wanted = [
        {"field": "email", "operator": "eq", "value": f"P{n}@x.io"} for n in (3, 7, 99)
    ]
    page = store.search_contacts(
        "loc1", query(filters=[{"group": "OR", "filters": wanted}])
    )
    assert page.total == 2
    assert [c["id"] for c in page.contacts] == [ids[7], ids[3]]  # newest first
    first = store.search_contacts("loc1", query(pageLimit=10))
    assert [c["id"] for c in first.contacts] == ids[::-1][:10]
    second = store.search_contacts(
        "loc1", query(pageLimit=10, searchAfter=first.cursors[-1])
    )
    assert [c["id"] for c in second.contacts] == ids[::-1][10:20]
    assert second.total == 30


def test_search_cache_invalidated_by_write(store: Store, clock: FakeClock) -> None:
    store.create_contact("loc1", {"firstName": "Zed"})
    q = query(
        filters=[{"field": "firstNameLowerCase", "operator": "eq", "value": "amy"}]
    )
    assert store.search_contacts("loc1", q).total == 0
    amy = store.create_contact("loc1", {"firstName": "Amy"})
    assert [c["id"] for c in store.search_contacts("loc1", q).contacts] == [amy["id"]]
    store.update_contact(amy["id"], {"firstName": "Bea"})
    assert store.search_contacts("loc1", q).total == 0


def test_search_lag_view(store: Store, clock: FakeClock) -> None:
    old = store.create_contact("loc1", {"firstName": "Old"})
    gone = store.create_contact("loc1", {"firstName": "Gone"})
    clock.at += timedelta(seconds=10)
    store.update_contact(old["id"], {"firstName": "Renamed"})
    store.delete_contact(gone["id"])
    fresh = store.create_contact("loc1", {"firstName": "Fresh"})
    lagged = store.search_contacts("loc1", query(), lag_seconds=2.0)
    names = sorted(str(c.get("firstName")) for c in lagged.contacts)
    assert names == ["Gone", "Old"]
    assert store.get_contact(fresh["id"]) is not None
    clock.at += timedelta(seconds=1.9)  # the lag follows the emulator clock
    assert store.search_contacts("loc1", query(), lag_seconds=2.0).total == 2
    clock.at += timedelta(seconds=0.1)
    names = sorted(
        str(c.get("firstName"))
        for c in store.search_contacts("loc1", query(), lag_seconds=2.0).contacts
    )
    assert names == ["Fresh", "Renamed"]


def test_location_tags_crud(store: Store) -> None:
    tag = store.items.create_tag("loc1", "Hot")
    assert store.items.get_tag("loc1", tag["id"]) == tag
    with pytest.raises(EmulatorError):
        store.items.create_tag("loc1", "hot")
    with pytest.raises(EmulatorError):
        store.items.get_tag("loc2", tag["id"])
    assert store.items.update_tag("loc1", tag["id"], "Cold")["name"] == "Cold"
    store.items.delete_tag("loc1", tag["id"])
    assert store.items.tags("loc1") == []


def test_custom_fields_crud(store: Store) -> None:
    f = store.items.create_custom_field(
        "loc1", {"name": "Favourite Colour!", "dataType": "TEXT", "placeholder": "red"}
    )
    assert f["fieldKey"] == "contact.favourite_colour" and f["model"] == "contact"
    assert store.items.get_custom_field("loc1", "contact.favourite_colour") == f
    assert store.items.get_custom_field("loc1", "favourite_colour") == f
    with pytest.raises(EmulatorError):
        store.items.create_custom_field(
            "loc1", {"name": "favourite colour", "dataType": "TEXT"}
        )
    updated = store.items.update_custom_field("loc1", f["id"], {"name": "Colour"})
    assert updated["name"] == "Colour" and updated["fieldKey"] == f["fieldKey"]
    opp = store.items.create_custom_field(
        "loc1", {"name": "Stage", "dataType": "TEXT", "model": "opportunity"}
    )
    assert [r["id"] for r in store.items.custom_fields("loc1", "contact")] == [f["id"]]
    assert len(store.items.custom_fields("loc1")) == 2
    store.items.delete_custom_field("loc1", opp["id"])
    with pytest.raises(EmulatorError):
        store.items.get_custom_field("loc1", opp["id"])


def test_names_without_key_characters_are_refused(store: Store) -> None:
    with pytest.raises(EmulatorError) as field_err:
        store.items.create_custom_field("loc1", {"name": "!!", "dataType": "TEXT"})
    with pytest.raises(EmulatorError) as value_err:
        store.items.create_custom_value("loc1", " - ", "v")
    for err in (field_err, value_err):
        assert err.value.body["message"] == ["name must contain a letter or a digit"]


def test_custom_values_crud(store: Store) -> None:
    v = store.items.create_custom_value("loc1", "Support Email", "help@x.io")
    assert v["fieldKey"] == "{{ custom_values.support_email }}"
    v2 = store.items.update_custom_value("loc1", v["id"], "Support Email", "h@x.io")
    assert store.items.get_custom_value("loc1", v["id"]) == v2
    store.items.delete_custom_value("loc1", v["id"])
    assert store.items.custom_values("loc1") == []
    with pytest.raises(EmulatorError):
        store.items.delete_custom_value("loc1", v["id"])


def test_helpers() -> None:
    assert merge_tags(["a"], ["A", "", "b "]) == ["a", "b"]
    assert snake_case("  Hello, World 2 ") == "hello_world_2"
