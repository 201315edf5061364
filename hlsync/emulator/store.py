"""All upstream data of the emulator: locations and contacts, with the indexes that keep
contact search fast, plus (in ``Store.items``, see ``items``) each location's tags,
custom fields and custom values.

Contract (the seam with the platform half):

- ``Store(persistence, clock)`` loads every kind it owns from ``persistence`` at init and
  calls ``persistence.put``/``delete`` after every change of an object; it never commits
  (the app commits once per request). Callers hold ``EmulatorState.lock``; the store is
  not thread-safe by itself.
- Location API used by provisioning and auth: :meth:`Store.add_location`,
  :meth:`Store.get_location`, :meth:`Store.update_location_settings`,
  :meth:`Store.location_ids`.
- Records are plain JSON-native dicts, replaced (never mutated) on every change, so a
  reference kept by the search-lag history is a true snapshot.
- Timestamps (``dateAdded``/``dateUpdated``) and search lag both follow the emulator
  clock: real time until it is set, so an operator's lag catches up in wall time, and a
  frozen clock moves only when advanced, so a test crosses a lag without sleeping.

Contacts are stored in the "domain" form the routes produced with
``hlsync.emulator.validation``: ``phone`` E.164, ``tags`` a list, ``customFields`` a list of
``{id, value}``. Derived fields (``emailLowerCase``, ``fullNameLowerCase``…) are computed
when a response is shaped, never stored.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from hlsync.emulator import search
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.items import LocationItems
from hlsync.emulator.itemstore import new_id, new_ids
from hlsync.emulator.search_query import SearchQuery

Record = dict[str, Any]

KIND_LOCATION = "location"
KIND_CONTACT = "contact"

DEFAULT_SETTINGS: dict[str, bool] = {
    "allowDuplicateContact": False,
    "allowDuplicateOpportunity": False,
    "allowFacebookNameMerge": False,
    "disableContactTimezone": False,
}

# How long the search-lag history keeps a change; a lag longer than this shows the
# contact as it is now. Ten minutes is far beyond any lag a test or benchmark sets.
# (If the emulator clock is set back, the history is still taken in write order.)
HISTORY = timedelta(minutes=10)
# How many filtered result lists each location keeps between writes (cursor paging
# through one query hits the same entry page after page).
_RESULT_CACHE_SIZE = 8


class PersistenceLike(Protocol):
    """The part of ``persist.Persistence`` the store uses."""

    def put(self, kind: str, id: str, data: dict[str, Any]) -> None: ...

    def delete(self, kind: str, id: str) -> None: ...

    def load(self, kind: str) -> list[tuple[str, dict[str, Any]]]: ...


class ClockLike(Protocol):
    """The part of ``clock.Clock`` the store uses."""

    def now(self) -> datetime: ...


def iso_millis(when: datetime) -> str:
    """``2026-01-02T03:04:05.678Z``: the UTC millisecond form upstream uses."""
    return (
        when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


@dataclass(slots=True)
class _LocationIndex:
    """Per-location contact indexes; ``sorted_cache``/``result_cache`` die on a write."""

    ids: set[str] = field(default_factory=set)
    by_email: dict[str, set[str]] = field(default_factory=dict)
    by_phone: dict[str, set[str]] = field(default_factory=dict)
    sorted_cache: dict[tuple[tuple[str, str], ...], list[Record]] = field(
        default_factory=dict
    )
    result_cache: dict[str, list[Record]] = field(default_factory=dict)
    # each contact's sort values (its cursor, less its id) in a cached order
    values_cache: dict[tuple[tuple[str, str], ...], dict[str, list[Any]]] = field(
        default_factory=dict
    )

    def invalidate(self) -> None:
        self.sorted_cache.clear()
        self.result_cache.clear()
        self.values_cache.clear()


@dataclass(frozen=True, slots=True)
class _Change:
    """One contact write, for search lag: the record before it, at ``at`` (emulator
    clock)."""

    at: datetime
    location_id: str
    contact_id: str
    before: Record | None


def _add_to(index: dict[str, set[str]], key: str | None, contact_id: str) -> None:
    if key:
        index.setdefault(key, set()).add(contact_id)


def _drop_from(index: dict[str, set[str]], key: str | None, contact_id: str) -> None:
    if not key:
        return
    ids = index.get(key)
    if ids is not None:
        ids.discard(contact_id)
        if not ids:
            del index[key]


def _email_key(record: Record) -> str | None:
    email = record.get("email")
    return email.lower() if isinstance(email, str) and email else None


def _phone_key(record: Record) -> str | None:
    phone = record.get("phone")
    return phone if isinstance(phone, str) and phone else None


class Store:
    """The upstream data, loaded from and written through ``persistence``."""

    def __init__(
        self,
        persistence: PersistenceLike,
        clock: ClockLike,
    ) -> None:
        self._persistence = persistence
        self._clock = clock
        self._locations: dict[str, Record] = dict(persistence.load(KIND_LOCATION))
        self._contacts: dict[str, Record] = {}
        self._indexes: dict[str, _LocationIndex] = {}
        self.items = LocationItems(persistence)
        self._history: deque[_Change] = deque()
        # Ids deleted while this process ran: bulk tag updates answer "contact is
        # deleted" for them, as upstream does for soft-deleted contacts.
        self._deleted: set[str] = set()
        for contact_id, record in persistence.load(KIND_CONTACT):
            self._contacts[contact_id] = record
            self._index_add(record)

    def now(self) -> str:
        """The emulator clock as an upstream timestamp string."""
        return iso_millis(self._clock.now())

    # Locations

    def add_location(
        self,
        id: str,
        company_id: str,
        name: str,
        settings: dict[str, Any] | None = None,
    ) -> Record:
        """Provision a location (sub-account); 400 if ``id`` exists already.

        ``settings`` is checked as by :meth:`update_location_settings`; missing keys get
        upstream's defaults (duplicates not allowed).
        """
        if id in self._locations:
            raise EmulatorError.bad_request(f"Location {id} already exists")
        record: Record = {
            "id": id,
            "companyId": company_id,
            "name": name,
            "settings": dict(DEFAULT_SETTINGS),
            "dateAdded": self.now(),
        }
        if settings:
            record["settings"] = _merged_settings(record["settings"], settings)
        self._locations[id] = record
        self._persistence.put(KIND_LOCATION, id, record)
        return record

    def get_location(self, id: str) -> Record | None:
        return self._locations.get(id)

    def update_location_settings(self, id: str, settings: dict[str, Any]) -> Record:
        """Merge ``settings`` into the location's; 404 for an unknown location, 422 for
        an unknown key or a non-boolean value (the four keys of upstream's
        ``SettingsSchema``)."""
        current = self._locations.get(id)
        if current is None:
            raise EmulatorError.not_found(f"Location {id} not found")
        record = {
            **current,
            "settings": _merged_settings(current["settings"], settings),
        }
        self._locations[id] = record
        self._persistence.put(KIND_LOCATION, id, record)
        return record

    def location_ids(self) -> list[str]:
        return sorted(self._locations)

    def locations(self, company_id: str | None = None) -> list[Record]:
        """Locations in creation order (then id), optionally of one company."""
        found = [
            loc
            for loc in self._locations.values()
            if company_id is None or loc["companyId"] == company_id
        ]
        return sorted(found, key=lambda loc: (loc.get("dateAdded", ""), loc["id"]))

    def allows_duplicates(self, location_id: str) -> bool:
        location = self._locations.get(location_id)
        return bool(location and location["settings"].get("allowDuplicateContact"))

    # Contacts

    def get_contact(self, id: str) -> Record | None:
        return self._contacts.get(id)

    def was_deleted(self, id: str) -> bool:
        return id in self._deleted

    def create_contact(self, location_id: str, fields: dict[str, Any]) -> Record:
        """Create a contact from normalised ``fields`` (no duplicate check here)."""
        now = self.now()
        record: Record = {
            **_new_contact(new_id(), location_id),
            **{k: v for k, v in fields.items() if v is not None},
            "dateAdded": now,
            "dateUpdated": now,
        }
        record["tags"] = merge_tags([], record["tags"])
        self._write_contact(None, record)
        self.items.ensure_tags(location_id, record["tags"])
        return record

    def update_contact(self, id: str, fields: dict[str, Any]) -> Record:
        """Apply normalised ``fields``: ``None`` clears a field, ``tags`` replaces the
        whole list, ``customFields`` entries replace values by id (``None`` value
        clears one). Raises 400 for an unknown id."""
        before = self._require_contact(id)
        record = dict(before)
        for key, value in fields.items():
            if key == "customFields":
                record["customFields"] = _merge_custom_values(
                    before.get("customFields", []), value or []
                )
            elif key == "tags":
                record["tags"] = merge_tags([], value or [])
            elif value is None:
                record.pop(key, None)
            else:
                record[key] = value
        record["dateUpdated"] = self.now()
        self._write_contact(before, record)
        self.items.ensure_tags(record["locationId"], record["tags"])
        return record

    def add_contacts(self, location_id: str, records: list[Record]) -> list[str]:
        """Add whole contacts (the admin bulk load, ``bulk_load``), checked by the
        caller: each record's ``id`` is free, its fields in the store's form.

        Missing ``id``, ``dateAdded``/``dateUpdated`` (now) and the defaults a create
        gives are filled in; tags join the location's tag list. The contacts are seed
        data, not writes: no search-lag history is kept for them. Returns the ids.
        """
        now = self.now()
        ids: list[str] = []
        tags: dict[str, str] = {}
        put, contacts = self._persistence.put, self._contacts
        index = self._index(location_id)
        fresh = iter(new_ids(sum("id" not in fields for fields in records)))
        for fields in records:
            record: Record = {
                **_new_contact(fields.get("id") or next(fresh), location_id),
                "dateAdded": now,
                **fields,
            }
            record.setdefault("dateUpdated", record["dateAdded"])
            if record["tags"]:
                record["tags"] = merge_tags([], record["tags"])
                for tag in record["tags"]:
                    tags.setdefault(tag.lower(), tag)
            contact_id = record["id"]
            contacts[contact_id] = record
            index.ids.add(contact_id)
            _add_to(index.by_email, _email_key(record), contact_id)
            _add_to(index.by_phone, _phone_key(record), contact_id)
            put(KIND_CONTACT, contact_id, record)
            ids.append(contact_id)
        index.invalidate()
        self.items.ensure_tags(location_id, tags.values())
        return ids

    def set_activity(self, id: str, fields: dict[str, Any]) -> Record:
        """Set a contact's activity (``contact_activity``; ``None`` clears a field).
        Not an edit of the contact: ``dateUpdated`` stays. 400 for an unknown id."""
        before = self._require_contact(id)
        record = dict(before)
        for key, value in fields.items():
            if value is None:
                record.pop(key, None)
            else:
                record[key] = value
        self._write_contact(before, record)
        return record

    def delete_contact(self, id: str) -> Record:
        before = self._require_contact(id)
        self._write_contact(before, None)
        self._deleted.add(id)
        return before

    def add_contact_tags(self, id: str, tags: Iterable[str]) -> Record:
        before = self._require_contact(id)
        merged = merge_tags(before.get("tags", []), tags)
        return self.update_contact(id, {"tags": merged})

    def remove_contact_tags(self, id: str, tags: Iterable[str]) -> Record:
        before = self._require_contact(id)
        drop = {tag.strip().lower() for tag in tags}
        kept = [tag for tag in before.get("tags", []) if tag.lower() not in drop]
        return self.update_contact(id, {"tags": kept})

    def find_duplicate(
        self,
        location_id: str,
        email: str | None,
        phone: str | None,
        *,
        exclude: str | None = None,
    ) -> tuple[Record, str] | None:
        """The oldest contact of the location matching ``email`` (case-insensitive),
        else ``phone`` (E.164), with the matching field's name; ``None`` if none.

        Email has priority over phone, the order upstream documents for a location
        that allows duplicates; the emulator uses it for both settings.
        """
        index = self._indexes.get(location_id)
        if index is None:
            return None
        for field_name, table, key in (
            ("email", index.by_email, email.lower() if email else None),
            ("phone", index.by_phone, phone or None),
        ):
            if not key:
                continue
            ids = sorted(
                (self._contacts[cid] for cid in table.get(key, ()) if cid != exclude),
                key=lambda rec: (rec["dateAdded"], rec["id"]),
            )
            if ids:
                return ids[0], field_name
        return None

    def contacts_of(self, location_id: str) -> list[Record]:
        """Every contact of the location, in no particular order."""
        index = self._indexes.get(location_id)
        return [self._contacts[cid] for cid in index.ids] if index else []

    def contact_count(self, location_id: str) -> int:
        index = self._indexes.get(location_id)
        return len(index.ids) if index else 0

    def search_contacts(
        self,
        location_id: str,
        query: SearchQuery,
        *,
        lag_seconds: float = 0.0,
    ) -> search.SearchPage:
        """Run a validated search; with ``lag_seconds > 0`` on the lagged view.

        Without lag, index lookups narrow ``eq`` filters on email/phone/id, the sorted
        order of the location is cached until its next write, and the filtered list
        is cached per query, so paging through a location costs a bisect per page
        (and each contact's cursor is worked out once, with the order).
        """
        if lag_seconds > 0:
            view = self._lagged_view(location_id, lag_seconds)
            ordered = search.sort_contacts(view, query.sort)
            matched = [rec for rec in ordered if search.matches(query, rec)]
            return search.paginate(matched, query)
        index = self._indexes.get(location_id) or _LocationIndex()
        cache_key = query.cache_key()
        matched_or_none = index.result_cache.get(cache_key)
        if matched_or_none is None:
            matched = self._matching(index, query)
            if len(index.result_cache) >= _RESULT_CACHE_SIZE:
                index.result_cache.pop(next(iter(index.result_cache)))
            index.result_cache[cache_key] = matched
        else:
            matched = matched_or_none
        return search.paginate(matched, query, index.values_cache.get(query.sort_key()))

    def _matching(self, index: _LocationIndex, query: SearchQuery) -> list[Record]:
        def lookup(field_name: str, value: str) -> set[str] | None:
            if field_name == "email":
                return set(index.by_email.get(value.lower(), ()))
            if field_name == "phone":
                return set(index.by_phone.get(value, ()))
            if field_name == "id":
                return {value} if value in index.ids else set()
            return None

        candidates = search.narrow(query, lookup)
        if candidates is not None:
            records = [self._contacts[cid] for cid in candidates if cid in index.ids]
            ordered = search.sort_contacts(records, query.sort)
        else:
            sort_key = query.sort_key()
            cached = index.sorted_cache.get(sort_key)
            if cached is None:
                records = [self._contacts[cid] for cid in index.ids]
                values = {r["id"]: search.sort_values(r, query.sort) for r in records}
                cached = search.sort_contacts(records, query.sort, values)
                index.sorted_cache[sort_key] = cached
                index.values_cache[sort_key] = values
            ordered = cached
        if query.is_unfiltered():
            return ordered
        sliced = None if candidates is not None else search.range_slice(query, ordered)
        if sliced is not None:
            return list(sliced)
        test = search.matcher(query)
        return [rec for rec in ordered if test(rec)]

    def _lagged_view(self, location_id: str, lag_seconds: float) -> list[Record]:
        """The location's contacts as they were ``lag_seconds`` ago (emulator clock)."""
        index = self._indexes.get(location_id)
        view: dict[str, Record | None] = {
            cid: self._contacts[cid] for cid in (index.ids if index else ())
        }
        horizon = self._clock.now() - timedelta(seconds=lag_seconds)
        for change in reversed(self._history):
            if change.at <= horizon:
                break
            if change.location_id == location_id:
                view[change.contact_id] = change.before
        return [rec for rec in view.values() if rec is not None]

    # Shortcuts to ``items`` for seeding state in tests and provisioning.

    def tags(self, location_id: str) -> list[Record]:
        return self.items.tags(location_id)

    def create_tag(self, location_id: str, name: str) -> Record:
        return self.items.create_tag(location_id, name)

    def custom_fields(self, location_id: str, model: str | None = None) -> list[Record]:
        return self.items.custom_fields(location_id, model)

    def create_custom_field(self, location_id: str, fields: dict[str, Any]) -> Record:
        return self.items.create_custom_field(location_id, fields)

    def _require_contact(self, id: str) -> Record:
        record = self._contacts.get(id)
        if record is None:
            raise EmulatorError.bad_request(f"Contact with id {id} not found")
        return record

    def _write_contact(self, before: Record | None, after: Record | None) -> None:
        record = after if after is not None else before
        assert record is not None  # one of them is always given
        contact_id, location_id = record["id"], record["locationId"]
        if before is not None:
            self._index_drop(before)
        if after is not None:
            self._contacts[contact_id] = after
            self._index_add(after)
            self._persistence.put(KIND_CONTACT, contact_id, after)
        else:
            del self._contacts[contact_id]
            self._persistence.delete(KIND_CONTACT, contact_id)
        self._index(location_id).invalidate()
        now = self._clock.now()
        self._history.append(_Change(now, location_id, contact_id, before))
        while self._history and self._history[0].at < now - HISTORY:
            self._history.popleft()

    def _index(self, location_id: str) -> _LocationIndex:
        index = self._indexes.get(location_id)
        if index is None:
            index = self._indexes[location_id] = _LocationIndex()
        return index

    def _index_add(self, record: Record) -> None:
        index = self._index(record["locationId"])
        index.ids.add(record["id"])
        _add_to(index.by_email, _email_key(record), record["id"])
        _add_to(index.by_phone, _phone_key(record), record["id"])

    def _index_drop(self, record: Record) -> None:
        index = self._index(record["locationId"])
        index.ids.discard(record["id"])
        _drop_from(index.by_email, _email_key(record), record["id"])
        _drop_from(index.by_phone, _phone_key(record), record["id"])


def _new_contact(contact_id: str, location_id: str) -> Record:
    """What a contact holds before its own fields: upstream's defaults."""
    return {
        "id": contact_id,
        "locationId": location_id,
        "type": "lead",
        "tags": [],
        "customFields": [],
        "dnd": False,
    }


def merge_tags(current: Iterable[str], added: Iterable[str]) -> list[str]:
    """``current`` plus ``added``, trimmed, empty ones dropped, de-duplicated
    case-insensitively (the first spelling wins), order kept."""
    seen: set[str] = set()
    merged: list[str] = []
    for tag in (*current, *added):
        text = tag.strip()
        if text and text.lower() not in seen:
            seen.add(text.lower())
            merged.append(text)
    return merged


def _merge_custom_values(
    current: list[dict[str, Any]], updates: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    values = {entry["id"]: entry["value"] for entry in current}
    for entry in updates:
        if entry["value"] is None:
            values.pop(entry["id"], None)
        else:
            values[entry["id"]] = entry["value"]
    return [{"id": key, "value": value} for key, value in values.items()]


def _merged_settings(
    current: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    unknown = [
        f"property {k} should not exist" for k in changes if k not in DEFAULT_SETTINGS
    ]
    wrong = [
        f"{k} must be a boolean value"
        for k, v in changes.items()
        if k in DEFAULT_SETTINGS and not isinstance(v, bool)
    ]
    if unknown or wrong:
        raise EmulatorError.unprocessable(unknown + wrong)
    return {**current, **changes}
