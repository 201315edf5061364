"""How each kind of change is written: ``ChangeWriter.execute(change) -> Outcome``.

``applier.apply_plan`` decides when a change runs; this module makes its calls, exactly as
the plan describes them (the ``hlsync.core.plan`` docstring says what each ``desired`` holds),
idempotent wherever upstream allows it:

* contact create: ``POST /contacts/upsert`` only (never ``POST /contacts/``), so a retried
  or repeated apply — also one whose read missed the contact through search lag — updates
  the contact instead of duplicating it. Its tags go in the upsert only when they are
  exclusive (an upsert replaces all tags of a contact that exists); otherwise
  ``POST /contacts/{id}/tags`` adds ``desired["tags_add"]`` after it, to the id the
  upsert answered, so tags others put on a contact the read missed stay. Update:
  ``PUT`` (or upsert, as the plan says) with the changed fields, then the tag add/remove
  endpoints; tags are never replaced wholesale on an update. Delete: ``DELETE``.
* custom field values go by field id: the ids of the plan's existing fields, and those
  of fields created earlier in this run (a contact depends on the field it uses). A key
  with no known id is sent by key, which upstream also accepts.
* custom field / tag create: not idempotent upstream. An :class:`AmbiguousWriteError`
  (the create may have committed) re-reads the list: found means done, else failed. A
  400 for a name or key already taken (the same plan applied twice) re-reads too: the
  tag, or a field of the same data type, already there is success.
  HighLevel derives a field's key from its name; a created field whose key is not the
  declared one fails, naming both, since hlsync could never find it again by its key.
  HighLevel's location custom-field API takes no picklist options: a create with
  options succeeds with a note saying to add them in the UI; an update of options alone
  fails saying the same.
* deletes that answer "not found" are verified with one read: already gone is success.
* integrations: ``hlsync.apply.integration_writer`` (drivers, token custody, seeding switch).

A change that cannot be made is a ``failed`` outcome whose message is the upstream error
(method, path, status, upstream message) or says what is missing; never an exception.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from hlsync.apply.change_fields import ChangeFailed as _Failed
from hlsync.apply.change_fields import error_text as _error_text
from hlsync.apply.change_fields import object_id as _object_id
from hlsync.apply.change_fields import strings_of as _strings
from hlsync.apply.change_fields import text_of as _text
from hlsync.apply.integration_writer import (
    Custody,
    DeliverToken,
    IntegrationWriter,
    PlainDelivery,
)
from hlsync.core.plan import Change
from hlsync.core.result import Outcome
from hlsync.errors import HlsyncError
from hlsync.targets.access import TargetAccess
from hlsync.upstream.client import (
    AmbiguousWriteError,
    ApiError,
    LocationApi,
    attempt_counter,
)

FIELD_PREFIX = "contact."
# Answers that may mean "the object is already gone" (upstream says 400 for a contact).
_GONE_STATUSES = frozenset({400, 404})


def known_field_ids(changes: Sequence[Change]) -> dict[tuple[str, str], str]:
    """Ids of custom fields that exist and stay: noop and update changes carry them."""
    return {
        (c.location, c.key): c.object_id
        for c in changes
        if c.kind == "custom_field"
        and c.action in ("noop", "update")
        and c.location is not None
        and c.object_id is not None
    }


class ChangeWriter:
    """Carries out changes (concurrently, one task each) for one apply.

    ``field_ids`` maps (location, field key) to the upstream field id; fields created in
    this run are added as they are created, so later contact changes can use them.
    """

    def __init__(
        self,
        access: TargetAccess,
        deliver_token: DeliverToken | None,
        field_ids: dict[tuple[str, str], str],
        custody: Custody | None = None,
    ) -> None:
        self._access = access
        if custody is None and deliver_token is not None:
            custody = PlainDelivery(deliver_token)
        self._integrations = IntegrationWriter(access, custody)
        self._field_ids = field_ids

    async def execute(self, change: Change) -> Outcome:
        """The outcome of ``change``; its API calls are counted in this task only."""
        counter = [0]
        attempt_counter.set(counter)  # each task runs in its own context copy
        try:
            note = await self._dispatch(change)
        except _Failed as exc:
            return Outcome(
                change.address, "failed", exc.message, counter[0], change.action
            )
        except HlsyncError as exc:
            text = _error_text(exc)
            return Outcome(change.address, "failed", text, counter[0], change.action)
        return Outcome(change.address, "ok", note, counter[0], change.action)

    async def _dispatch(self, change: Change) -> str:
        if change.kind == "integration":
            return await self._integrations.execute(change)
        api = self._location_api(change)
        if change.kind == "custom_field":
            return await self._custom_field(api, change)
        if change.kind == "tag":
            return await self._tag(api, change)
        return await self._contact(api, change)

    def _location_api(self, change: Change) -> LocationApi:
        api = (
            None
            if change.location is None
            else self._access.locations.get(change.location)
        )
        if api is None:
            raise _Failed(f"no API access for location {change.location!r} in this run")
        return api

    # Contacts

    async def _contact(self, api: LocationApi, change: Change) -> str:
        if change.action == "create":
            answer = await api.upsert_contact(self._body(change))
            tags_add = _strings(change, "tags_add")
            if tags_add:
                contact = answer.get("contact")
                contact_id = contact.get("id") if isinstance(contact, Mapping) else None
                if not isinstance(contact_id, str) or not contact_id:
                    raise _Failed(
                        "the upsert answered without a contact id, so its tags "
                        f"({', '.join(tags_add)}) were not added"
                    )
                await api.add_tags(contact_id, tags_add)
            if answer.get("new") is False:
                return "already existed upstream: upsert updated it (no duplicate)"
            return ""
        if change.action == "update":
            write = change.desired.get("write")
            if write == "put":
                await api.update_contact(_object_id(change), self._body(change))
            elif write == "upsert":
                await api.upsert_contact(self._body(change))
            elif write is not None:
                raise _Failed(f"the plan names an unknown contact write {write!r}")
            tags_add = _strings(change, "tags_add")
            tags_remove = _strings(change, "tags_remove")
            if tags_add:
                await api.add_tags(_object_id(change), tags_add)
            if tags_remove:
                await api.remove_tags(_object_id(change), tags_remove)
            return ""
        if change.action == "delete":
            contact_id = _object_id(change)
            return await _delete(
                lambda: api.delete_contact(contact_id),
                lambda: _contact_exists(api, contact_id),
            )
        raise _Failed(f"a contact cannot be changed with action {change.action!r}")

    def _body(self, change: Change) -> dict[str, Any]:
        """``desired["body"]`` with custom field values addressed by field id."""
        body = change.desired.get("body")
        if not isinstance(body, Mapping):
            raise _Failed("the plan's change has no request body")
        out = dict(body)
        values = out.get("customFields")
        if isinstance(values, list):
            out["customFields"] = [self._by_id(change, entry) for entry in values]
        return out

    def _by_id(self, change: Change, entry: Any) -> Any:
        if not isinstance(entry, Mapping) or "key" not in entry:
            return entry
        field_id = self._field_ids.get((change.location or "", str(entry["key"])))
        if field_id is None:
            return dict(entry)  # upstream accepts a field key too
        rest = {k: v for k, v in entry.items() if k != "key"}
        return {"id": field_id, **rest}

    # Custom fields

    async def _custom_field(self, api: LocationApi, change: Change) -> str:
        if change.action == "delete":
            return await _delete(
                lambda: api.delete_custom_field(_object_id(change)),
                lambda: _field_exists(api, _object_id(change)),
            )
        if change.action == "replace":
            await _delete(
                lambda: api.delete_custom_field(_object_id(change)),
                lambda: _field_exists(api, _object_id(change)),
            )
            return await self._create_field(api, change)
        if change.action == "create":
            return await self._create_field(api, change)
        if change.action == "update":
            changed = {fc.path for fc in change.fields}
            body: dict[str, Any] = {"name": _text(change, "name")}
            placeholder = change.desired.get("placeholder")
            if "placeholder" in changed and placeholder is not None:
                body["placeholder"] = placeholder
            if changed - {"options"}:
                await api.update_custom_field(_object_id(change), body)
            if "options" in changed:
                raise _Failed(_options_note(change, "cannot change its options"))
            return ""
        raise _Failed(f"a custom field cannot be changed with action {change.action!r}")

    async def _create_field(self, api: LocationApi, change: Change) -> str:
        body: dict[str, Any] = {
            "name": _text(change, "name"),
            "dataType": _text(change, "data_type"),
            "model": "contact",
        }
        placeholder = change.desired.get("placeholder")
        if placeholder is not None:
            body["placeholder"] = placeholder
        note = ""
        try:
            created = await api.create_custom_field(body)
        except AmbiguousWriteError as exc:
            found = await _find_field(api, change.key)
            if found is None:
                raise _Failed(
                    f"{_error_text(exc)} (not created: re-read found no field)"
                ) from exc
            created = found
            note = "the create's answer was lost; a re-read found the field created"
        except ApiError as exc:
            # A repeated apply of the same plan: the field is there, as wanted.
            found = await _find_field(api, change.key) if exc.status == 400 else None
            if found is None or found.get("dataType") != body["dataType"]:
                raise
            created = found
            note = "already existed upstream"
        key = str(created.get("fieldKey") or "")
        if key.removeprefix(FIELD_PREFIX) != change.key:
            raise _Failed(
                f"upstream created it as {key!r} (HighLevel derives the key from the "
                f"name {body['name']!r}), not as {FIELD_PREFIX + change.key!r}: rename "
                f"the key to {key.removeprefix(FIELD_PREFIX)!r} in the config, or the "
                "field's name to match its key, and delete the field created here"
            )
        self._field_ids[(change.location or "", change.key)] = str(created["id"])
        if change.desired.get("options"):
            return "; ".join(
                n
                for n in (note, _options_note(change, "created without its options"))
                if n
            )
        return note

    # Tags

    async def _tag(self, api: LocationApi, change: Change) -> str:
        if change.action == "create":
            name = _text(change, "name")
            try:
                await api.create_tag(name)
            except AmbiguousWriteError as exc:
                if not await _tag_exists(api, name=name):
                    raise _Failed(
                        f"{_error_text(exc)} (not created: re-read found no tag)"
                    ) from exc
                return "the create's answer was lost; a re-read found the tag created"
            except ApiError as exc:
                # A repeated apply of the same plan: the tag is there, as wanted.
                if exc.status != 400 or not await _tag_exists(api, name=name):
                    raise
                return "already existed upstream"
            return ""
        if change.action == "delete":
            tag_id = _object_id(change)
            return await _delete(
                lambda: api.delete_tag(tag_id),
                lambda: _tag_exists(api, tag_id=tag_id),
            )
        raise _Failed(f"a tag cannot be changed with action {change.action!r}")

    # Integrations


async def _delete(
    send: Callable[[], Awaitable[None]],
    exists: Callable[[], Awaitable[bool]],
) -> str:
    """Send a delete; an error answer for an object that is gone anyway is success."""
    try:
        await send()
    except ApiError as exc:
        if exc.status not in _GONE_STATUSES or await exists():
            raise
        return "already gone upstream"
    return ""


async def _contact_exists(api: LocationApi, contact_id: str) -> bool:
    try:
        await api.get_contact(contact_id)
    except ApiError as exc:
        if exc.status in _GONE_STATUSES:
            return False
        raise
    return True


async def _field_exists(api: LocationApi, field_id: str) -> bool:
    return any(str(f.get("id")) == field_id for f in await api.list_custom_fields())


async def _find_field(api: LocationApi, key: str) -> dict[str, Any] | None:
    for item in await api.list_custom_fields():
        if str(item.get("fieldKey") or "").removeprefix(FIELD_PREFIX) == key:
            return item
    return None


async def _tag_exists(
    api: LocationApi, *, name: str | None = None, tag_id: str | None = None
) -> bool:
    for tag in await api.list_tags():
        if tag_id is not None and str(tag.get("id")) == tag_id:
            return True
        if name is not None and str(tag.get("name", "")).casefold() == name.casefold():
            return True
    return False


def _options_note(change: Change, what: str) -> str:
    options = change.desired.get("options") or []
    listed = ", ".join(str(o) for o in options) if options else "(none)"
    return (
        f"{what} [{listed}]: HighLevel's location custom-field API takes no picklist "
        "options; set them in the HighLevel UI (Settings > Custom Fields)"
    )
