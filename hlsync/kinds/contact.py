"""Seed contacts, keyed by ``email:<case-folded email>`` or else ``phone:<E.164>``.

Config: ``contacts:`` inline and ``contacts_from:`` CSV/JSONL files, with ``defaults:``
(``hlsync.config.seeds``). Read: the declared keys only, by the read-path rule of
``hlsync.upstream.contact_search`` (batched lookups or whole-location pages, whichever
costs fewer calls); custom-field values come back by field id and are keyed by field key
through the location's field list.

Plan (``hlsync.kinds.contact_diff``): only declared fields are compared; tags are ensured
present (removed only when the contact's list is exclusive). A contact depends on the
tag and custom-field creates it uses; using a tag or field the config marks ``ensure:
absent`` is a config error.

Write: create is ``POST /contacts/upsert`` only, so a retried or repeated apply — also
one whose read missed the contact through search lag — updates instead of duplicating.
Its tags go in the upsert only when exclusive (an upsert replaces all tags of a contact
that exists); otherwise ``POST /contacts/{id}/tags`` adds them to the id the upsert
answered. Update: ``PUT`` (or upsert, as the plan says), then the tag add/remove
endpoints. Delete: ``DELETE``, verified with one read when answered "not found".
Custom-field values go by field id where known (fields created earlier in this run
included), else by key, which upstream also accepts.

Unmanaged contacts are only counted, and only when a read learnt the location's total
for free (the read-path rule's first whole-location page). ``manage: {contacts:
exclusive}`` (which the config accepts only beside ``delete_unlisted_contacts: true``)
reads every contact of the location instead, and deletes, gated, each one the config
does not list; a contact with neither email nor phone (or a second one with a key) has
no key to address it by and is left, with a warning. Export (``--contacts``): every
contact with an email or phone (or those matching ``--contacts-filter``, the first
``--limit``), its set fields, tags and custom-field values, as seed-file rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hlsync.core.fingerprint import LazyFingerprint, fingerprint
from hlsync.core.model import (
    Contact,
    Kind,
    LocationSpec,
    ObservedContact,
    ObservedLocation,
)
from hlsync.core.plan import Action, Change, Unmanaged, address
from hlsync.errors import Problem
from hlsync.kinds.base import (
    ExportContext,
    Exported,
    LocationBuilder,
    PlanContext,
    ReadContext,
    WriteContext,
)
from hlsync.kinds.change_fields import ChangeFailed, object_id, strings_of
from hlsync.kinds.contact_diff import (
    FIELD_ORDER,
    compared_paths,
    create_body,
    create_fields,
    create_tags_add,
    date_ymd,
    diff_contact,
    plainly_unchanged,
)
from hlsync.kinds.custom_field import exportable, needs_fields, read_fields
from hlsync.kinds.shared import (
    GONE_STATUSES,
    absent_change,
    delete_verified,
    prune_changes,
)
from hlsync.upstream.api import LocationApiLike
from hlsync.upstream.client import ApiError
from hlsync.upstream.contact_search import (
    every_contact,
    lookup_contacts,
    observed_contact,
    primary_key,
    read_contacts,
)

# The contact fields an export writes (those a config declares, less the derived
# display ``name`` and the nested ``dndSettings``), in the diff's order.
EXPORTED_FIELDS = tuple(f for f in FIELD_ORDER if f not in ("name", "dndSettings"))


class ContactKind:
    name: Kind = "contact"
    section = "contacts"
    nouns = ("contact", "contacts")
    layer = 2
    delete_layer = 3
    lagging_read = True
    # ``manage: {contacts: exclusive}`` deletes every contact the config does not
    # list: the config must also say this, by name, to be accepted
    prune_consent: str | None = "delete_unlisted_contacts"

    def declared(self, spec: LocationSpec) -> Sequence[Contact]:
        return spec.contacts

    def observed(self, location: ObservedLocation) -> Mapping[str, ObservedContact]:
        return location.contacts

    def build(self, builder: LocationBuilder) -> tuple[Contact, ...]:
        return builder.contacts(builder.built("custom_field"), builder.built("tag"))

    def write_scopes(self, data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        # seeding always reads and writes contacts, declared or not
        return (
            ("contacts.readonly", "to read the seed contacts"),
            ("contacts.write", "to write the seed contacts"),
        )

    async def read(self, ctx: ReadContext) -> Mapping[str, ObservedContact]:
        if ctx.spec.exclusive(self.name):
            return await self._read_every(ctx)
        keys = sorted({c.key for c in ctx.spec.contacts})

        def total(count: int) -> None:
            ctx.totals[self.name] = count

        found = await read_contacts(
            ctx.api,
            keys,
            batch_size=ctx.access.batch_size,
            fields=_declared_fields(ctx.spec),
            on_total=total,
        )
        fields = await read_fields(ctx) if needs_fields(ctx.spec) else {}
        return _observed(found, {f.id: f.key for f in fields.values()})

    async def _read_every(self, ctx: ReadContext) -> Mapping[str, ObservedContact]:
        """Every contact, by key (the earliest of a key held twice): an exclusive
        location must see the ones it does not list to delete them."""
        every = await every_contact(ctx.api)
        ctx.totals[self.name] = len(every)
        found: dict[str, Any] = {}
        for contact in every:  # oldest first: the first of a key is kept
            key = primary_key(contact)
            if key is not None and "id" in contact:
                found.setdefault(key, contact)
        fields = await read_fields(ctx)
        return _observed(found, {f.id: f.key for f in fields.values()})

    async def reread(
        self, ctx: ReadContext, keys: set[str]
    ) -> Mapping[str, ObservedContact]:
        if not keys:
            return {}
        found = await lookup_contacts(
            ctx.api,
            sorted(keys),
            ctx.access.batch_size,
            fields=_declared_fields(ctx.spec),
        )
        fields = await read_fields(ctx)
        return _observed(found, {f.id: f.key for f in fields.values()})

    def plan(
        self, spec: LocationSpec, observed: ObservedLocation, ctx: PlanContext
    ) -> list[Change]:
        ctx.problems += _uses_absent(spec)
        replaced = {
            c.key for c in ctx.earlier.get("custom_field", []) if c.action == "replace"
        }
        field_types = {k: f.data_type for k, f in observed.custom_fields.items()}
        field_types.update({d.key: d.data_type for d in spec.custom_fields})
        providers = {
            (kind, key.casefold() if kind == "tag" else key): addr
            for (kind, key), addr in ctx.providers.items()
        }
        return [
            _change(
                spec,
                c,
                observed.contacts.get(c.key),
                field_types,
                replaced,
                providers,
            )
            for c in spec.contacts
        ]

    def unmanaged(
        self, spec: LocationSpec, observed: ObservedLocation
    ) -> Unmanaged | None:
        total = observed.totals.get(self.name)
        if total is None:
            return None  # counting them would cost requests
        declared = {c.key for c in spec.contacts}
        managed = sum(1 for key in observed.contacts if key in declared)
        count = max(total - managed, 0)
        return Unmanaged(spec.name, self.name, count) if count else None

    def prune(
        self, spec: LocationSpec, observed: ObservedLocation, ctx: PlanContext
    ) -> list[Change]:
        declared = {c.key for c in spec.contacts}
        found = {k: c for k, c in observed.contacts.items() if k not in declared}
        keyless = observed.totals.get(self.name, 0) - len(observed.contacts)
        if keyless > 0:
            ctx.warnings.append(
                f"{spec.name}: {keyless} contact(s) without an email or phone of their "
                "own (none, or one another contact holds) are not deleted: hlsync "
                "cannot address them by a key"
            )
        return prune_changes(spec, self.name, self.section, found, label)

    async def export(self, ctx: ExportContext) -> Exported:
        selection = ctx.contacts
        if selection is None:
            return Exported()
        filters = [
            {"field": name, "operator": "eq", "value": value}
            for name, value in selection.filters
        ]
        every = await every_contact(
            ctx.read.api, filters=filters, limit=selection.limit
        )
        fields = {
            f.id: f for f in (await read_fields(ctx.read)).values() if exportable(f)
        }
        rows: dict[str, dict[str, Any]] = {}
        keyless = 0
        for contact in every:  # oldest first: the first of a key is kept
            key = primary_key(contact)
            if key is None:
                keyless += 1
            elif key not in rows:
                rows[key] = _row(contact, fields)
        if keyless:
            ctx.warnings.append(
                f"{ctx.read.spec.name}: {keyless} contact(s) without email or phone "
                "left out: a seed contact needs one of them as its identity"
            )
        return Exported(seeds=tuple(rows[k] for k in sorted(rows)))

    async def write(self, change: Change, ctx: WriteContext) -> str:
        api = ctx.location_api(change)
        if change.action == "create":
            answer = await api.upsert_contact(_body(change, ctx))
            tags_add = strings_of(change, "tags_add")
            if tags_add:
                contact = answer.get("contact")
                contact_id = contact.get("id") if isinstance(contact, Mapping) else None
                if not isinstance(contact_id, str) or not contact_id:
                    raise ChangeFailed(
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
                await api.update_contact(object_id(change), _body(change, ctx))
            elif write == "upsert":
                await api.upsert_contact(_body(change, ctx))
            elif write is not None:
                raise ChangeFailed(f"the plan names an unknown contact write {write!r}")
            tags_add = strings_of(change, "tags_add")
            tags_remove = strings_of(change, "tags_remove")
            if tags_add:
                await api.add_tags(object_id(change), tags_add)
            if tags_remove:
                await api.remove_tags(object_id(change), tags_remove)
            return ""
        if change.action == "delete":
            contact_id = object_id(change)
            return await delete_verified(
                lambda: api.delete_contact(contact_id),
                lambda: _contact_exists(api, contact_id),
            )
        raise ChangeFailed(f"a contact cannot be changed with action {change.action!r}")


CONTACT = ContactKind()


def _observed(
    found: dict[str, dict[str, Any]], field_keys: Mapping[str, str]
) -> dict[str, ObservedContact]:
    """The contacts read, as the model holds them, by key; ``found`` is emptied as
    they are made, so the two never both hold every contact."""
    return {
        key: observed_contact(key, found.pop(key), field_keys) for key in sorted(found)
    }


def _declared_fields(spec: LocationSpec) -> set[str]:
    """The contact fields any declared contact of the location names: all that is
    kept of a contact read (only declared fields are ever compared, DESIGN.md §3)."""
    return {name for contact in spec.contacts for name in contact.fields}


def _row(contact: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """One exported seed contact: its set fields, tags and custom-field values."""
    row: dict[str, Any] = {}
    for name in EXPORTED_FIELDS:
        value = contact.get(name)
        if (
            value is None
            or value == ""
            or value == []
            or (name, value) == ("dnd", False)
        ):
            continue  # unset; and "not DND" is no setting to enforce over an opt-out
        if name == "dateOfBirth" and isinstance(value, str):
            value = date_ymd(value)
        row[name] = value
    tags = sorted({str(t) for t in contact.get("tags") or ()}, key=str.casefold)
    if tags:
        row["tags"] = tags
    values: dict[str, Any] = {}
    for item in contact.get("customFields") or ():
        found = fields.get(str(item.get("id"))) if isinstance(item, Mapping) else None
        value = None if found is None else item.get("value")
        if found is None or value is None or value == "" or value == []:
            continue
        if found.data_type == "DATE" and isinstance(value, str):
            value = date_ymd(value)
        values[found.key] = value
    if values:
        row["custom_fields"] = dict(sorted(values.items()))
    return row


def _uses_absent(spec: LocationSpec) -> list[Problem]:
    """A contact using a tag or custom field the config marks ``ensure: absent``."""
    absent_fields = {d.key for d in spec.custom_fields if d.ensure == "absent"}
    absent_tags = {d.name.casefold() for d in spec.tags if d.ensure == "absent"}
    problems: list[Problem] = []
    for contact in spec.contacts:
        if contact.ensure == "absent":
            continue
        for key in sorted(absent_fields.intersection(contact.custom_fields)):
            problems.append(
                Problem(
                    f"contact {label(contact.key)} sets custom field {key!r}, "
                    "which the config marks `ensure: absent`",
                    contact.source,
                )
            )
        for tag in contact.tags:
            if tag.casefold() in absent_tags:
                problems.append(
                    Problem(
                        f"contact {label(contact.key)} uses tag {tag!r}, "
                        "which the config marks `ensure: absent`",
                        contact.source,
                    )
                )
    return problems


def _change(
    spec: LocationSpec,
    decl: Contact,
    obs: ObservedContact | None,
    field_types: Mapping[str, str],
    replaced: set[str],
    providers: Mapping[tuple[Kind, str], str],
) -> Change:
    name = label(decl.key)
    compared = compared_paths(decl)
    if decl.ensure == "absent":
        return absent_change(
            spec.name, spec.id, "contact", decl.key, name, decl, obs, compared
        )
    action: Action
    if obs is not None and plainly_unchanged(decl, obs, replaced):
        # one comparison per declared value, no diff: what the diff would plan
        return Change(
            address=address(spec.name, "contact", name),
            action="noop",
            kind="contact",
            location=spec.name,
            location_id=spec.id,
            key=decl.key,
            object_id=obs.id,
            fingerprint=LazyFingerprint(obs, compared),  # hashed only if read
            compared=compared,
            source=decl.source,
        )
    if obs is None:
        action = "create"
        fields = create_fields(decl)
        tags_add = create_tags_add(decl)
        desired: dict[str, object] = {
            "body": create_body(decl, spec.id),
            "tags_add": list(tags_add),
        }
        calls = 1 + bool(tags_add)  # the upsert, then the tags (contact_diff)
        uses_fields: list[str] = list(decl.custom_fields)
        uses_tags: list[str] = list(decl.tags)
    else:
        diff = diff_contact(
            decl,
            obs,
            location_id=spec.id,
            field_types=field_types,
            cleared_custom_fields=replaced,
        )
        fields = diff.fields
        action = "update" if fields else "noop"
        desired = {
            "write": diff.write,
            "body": diff.body,
            "tags_add": list(diff.tags_add),
            "tags_remove": list(diff.tags_remove),
        }
        calls = diff.api_calls
        uses_fields = [
            fc.path[13:] for fc in fields if fc.path.startswith("customFields.")
        ]
        uses_tags = list(diff.tags_add)
    depends = {providers.get(("custom_field", k)) for k in uses_fields}
    depends |= {providers.get(("tag", t.casefold())) for t in uses_tags}
    return Change(
        address=address(spec.name, "contact", name),
        action=action,
        kind="contact",
        location=spec.name,
        location_id=spec.id,
        key=decl.key,
        object_id=None if obs is None else obs.id,
        fields=fields,
        desired={} if action == "noop" else desired,
        fingerprint=fingerprint(obs, compared),
        compared=compared,
        depends_on=tuple(sorted(d for d in depends if d is not None)),
        api_calls=calls,
        source=decl.source,
    )


def label(key: str) -> str:
    """The contact label of an address: its key without ``email:`` / ``phone:``."""
    prefix, sep, rest = key.partition(":")
    return rest if sep and prefix in ("email", "phone") else key


def _body(change: Change, ctx: WriteContext) -> dict[str, Any]:
    """``desired["body"]`` with custom field values addressed by field id."""
    body = change.desired.get("body")
    if not isinstance(body, Mapping):
        raise ChangeFailed("the plan's change has no request body")
    out = dict(body)
    values = out.get("customFields")
    if isinstance(values, list):
        out["customFields"] = [_by_id(change, entry, ctx) for entry in values]
    return out


def _by_id(change: Change, entry: Any, ctx: WriteContext) -> Any:
    if not isinstance(entry, Mapping) or "key" not in entry:
        return entry
    field_id = ctx.field_ids.get((change.location or "", str(entry["key"])))
    if field_id is None:
        return dict(entry)  # upstream accepts a field key too
    rest = {k: v for k, v in entry.items() if k != "key"}
    return {"id": field_id, **rest}


async def _contact_exists(api: LocationApiLike, contact_id: str) -> bool:
    try:
        await api.get_contact(contact_id)
    except ApiError as exc:
        if exc.status in GONE_STATUSES:
            return False
        raise
    return True
