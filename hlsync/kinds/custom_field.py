"""Contact custom fields of a location, keyed by field key (``fieldKey`` without
``contact.``).

Config: ``custom_fields: {key: {name, type, options?, placeholder?, ensure?, protect?}}``.
Upstream derives a field's key from its name (``shared.derived_key``) and keeps one field
per key: two declared names that derive the same key are refused at ``validate``, so
the second create does not fail with a 400 at apply.
Read: one ``GET /locations/{id}/customFields?model=contact``, only when something declared
needs it (a declared field, or a contact setting a custom-field value: contacts address
values by field id, see :func:`read_fields`).

Plan: create, update (name, options, placeholder: a placeholder not declared is not
managed), or **replace** when the data type differs (PUT has no ``dataType``: delete, then
create, gated like a delete). HighLevel's location custom-field API takes no picklist
options (reference §6): a field without any is not a change, and a declared picklist the
upstream lacks is a plan warning instead of a silent "No changes".

Write: create is not idempotent upstream. An ``AmbiguousWriteError`` (the create may have
committed: a 5xx or a dropped connection) re-reads the list by key: found means done,
else the create is sent again (``shared.create_keyed``, bounded), so the contacts using
the field still run. A 400 for a key already taken
(the same plan applied twice) re-reads too: a field of the same data type already there is
success. HighLevel derives a field's key from its name; a created field whose key is not
the declared one fails, naming both, since hlsync could never find it again by its key.
Ids of created fields go into ``ctx.field_ids`` for the contacts that use them.

Unmanaged: the contact fields the config does not declare (listed when the token may
read them); deleted when ``manage: {custom_fields: exclusive}``. Export: every contact
field of a data type the config knows (:data:`DATA_TYPES`), with its options and
placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from hlsync.core.fingerprint import fingerprint
from hlsync.core.model import (
    CustomField,
    Kind,
    LocationSpec,
    ObservedCustomField,
    ObservedLocation,
)
from hlsync.core.plan import Action, Change, FieldChange, address
from hlsync.kinds.base import (
    ExportContext,
    Exported,
    LocationBuilder,
    PlanContext,
    ReadContext,
    WriteContext,
)
from hlsync.kinds.change_fields import ChangeFailed, object_id, text_of
from hlsync.kinds.shared import (
    NamedUnmanaged,
    absent_change,
    create_keyed,
    declares,
    delete_verified,
    derived_key,
    listing,
)
from hlsync.upstream.api import LocationApiLike
from hlsync.upstream.client import ApiError

FIELD_PREFIX = "contact."
# The data types a config may declare (schemas/config.schema.json, $defs/customField);
# a field of another type (upstream's EMAIL) is left out of an export.
DATA_TYPES = (
    "TEXT",
    "LARGE_TEXT",
    "NUMERICAL",
    "PHONE",
    "MONETORY",
    "CHECKBOX",
    "SINGLE_OPTIONS",
    "MULTIPLE_OPTIONS",
    "DATE",
    "TEXTBOX_LIST",
    "FILE_UPLOAD",
    "RADIO",
)
KEY_PATTERN = re.compile(r"^[a-z0-9_]{1,64}$")  # the config's field keys


class CustomFieldKind(NamedUnmanaged):
    name: Kind = "custom_field"
    section = "custom_fields"
    nouns = ("custom field", "custom fields")
    layer = 1
    delete_layer = 4
    lagging_read = False
    prune_consent: str | None = None

    def declared(self, spec: LocationSpec) -> Sequence[CustomField]:
        return spec.custom_fields

    def observed(self, location: ObservedLocation) -> Mapping[str, ObservedCustomField]:
        return location.custom_fields

    def build(self, builder: LocationBuilder) -> tuple[CustomField, ...]:
        raw: Mapping[str, Any] = builder.data.get("custom_fields", {})
        derived: dict[str, str] = {}
        for key, spec in raw.items():  # file order: the second of a pair is reported
            spot = builder.where(("custom_fields", key, "name"))
            name = spec["name"]
            upstream = derived_key(name)
            if not upstream:
                builder.problem(
                    f'custom field "{key}" is named "{name}", which has no letter or '
                    "digit to make a key of",
                    spot,
                    "HighLevel derives the field key contact.<snake_case name> from "
                    "the name",
                )
            elif upstream in derived:
                builder.problem(
                    f'custom field "{key}" is named "{name}", which gives the same '
                    f'key as custom field "{derived[upstream]}" '
                    f"({FIELD_PREFIX}{upstream}), and HighLevel keeps one field per key",
                    spot,
                    "rename one of them; HighLevel derives the field key "
                    "contact.<snake_case name> from the name",
                )
            else:
                derived[upstream] = key
        return tuple(
            CustomField(
                key=key,
                name=spec["name"],
                data_type=spec["type"],
                options=tuple(spec.get("options", ())),
                placeholder=spec.get("placeholder"),
                ensure=spec.get("ensure", "present"),
                protect=spec.get("protect", False),
                source=builder.where(("custom_fields", key)),
            )
            for key, spec in sorted(raw.items())
        )

    def write_scopes(self, data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        if not declares(data, self.section):
            return ()
        return (
            ("locations/customFields.readonly", "to read the declared custom fields"),
            ("locations/customFields.write", "to write the declared custom fields"),
        )

    async def read(self, ctx: ReadContext) -> Mapping[str, ObservedCustomField]:
        return await listing(
            ctx,
            self.name,
            "locations/customFields.readonly",
            lambda: read_fields(ctx),
            {},
            needed=needs_fields(ctx.spec) or ctx.spec.exclusive(self.name),
        )

    async def reread(
        self, ctx: ReadContext, keys: set[str]
    ) -> Mapping[str, ObservedCustomField]:
        if not keys:
            return {}
        return {k: v for k, v in (await read_fields(ctx)).items() if k in keys}

    def plan(
        self, spec: LocationSpec, observed: ObservedLocation, ctx: PlanContext
    ) -> list[Change]:
        ctx.warnings += _option_warnings(spec, observed)
        return [
            _change(spec, decl, observed.custom_fields.get(decl.key))
            for decl in spec.custom_fields
        ]

    def unmanaged_objects(
        self, spec: LocationSpec, observed: ObservedLocation
    ) -> Mapping[str, ObservedCustomField]:
        return _unmanaged(spec, observed)

    async def export(self, ctx: ExportContext) -> Exported:
        fields: dict[str, Any] = {}
        for key, found in sorted((await read_fields(ctx.read)).items()):
            if not exportable(found):
                ctx.warnings.append(
                    f"{ctx.read.spec.name}: custom field {found.name!r} "
                    f"({FIELD_PREFIX}{key}, {found.data_type}) left out: a config "
                    "cannot declare it (its key or data type is not one hlsync knows)"
                )
                continue
            entry: dict[str, Any] = {"name": found.name, "type": found.data_type}
            if found.options:
                entry["options"] = list(found.options)
            if found.placeholder:
                entry["placeholder"] = found.placeholder
            fields[key] = entry
        return Exported(shared=fields or None)

    async def write(self, change: Change, ctx: WriteContext) -> str:
        api = ctx.location_api(change)
        if change.action == "delete":
            return await delete_verified(
                lambda: api.delete_custom_field(object_id(change)),
                lambda: _field_exists(api, object_id(change)),
            )
        if change.action == "replace":
            await delete_verified(
                lambda: api.delete_custom_field(object_id(change)),
                lambda: _field_exists(api, object_id(change)),
            )
            return await _create(api, change, ctx)
        if change.action == "create":
            return await _create(api, change, ctx)
        if change.action == "update":
            changed = {fc.path for fc in change.fields}
            body: dict[str, Any] = {"name": text_of(change, "name")}
            placeholder = change.desired.get("placeholder")
            if "placeholder" in changed and placeholder is not None:
                body["placeholder"] = placeholder
            if changed - {"options"}:
                await api.update_custom_field(object_id(change), body)
            if "options" in changed:
                raise ChangeFailed(_options_note(change, "cannot change its options"))
            return ""
        raise ChangeFailed(
            f"a custom field cannot be changed with action {change.action!r}"
        )


CUSTOM_FIELD = CustomFieldKind()


def needs_fields(spec: LocationSpec) -> bool:
    """Declared fields, or contacts setting values (addressed by field id upstream)."""
    return bool(spec.custom_fields) or any(c.custom_fields for c in spec.contacts)


def exportable(found: ObservedCustomField) -> bool:
    """Whether a config can declare the field: a key and data type it knows."""
    return found.data_type in DATA_TYPES and bool(KEY_PATTERN.match(found.key))


def _unmanaged(
    spec: LocationSpec, observed: ObservedLocation
) -> dict[str, ObservedCustomField]:
    declared = {f.key for f in spec.custom_fields}
    return {k: f for k, f in observed.custom_fields.items() if k not in declared}


def read_fields(ctx: ReadContext) -> Awaitable[dict[str, ObservedCustomField]]:
    """The location's contact custom fields, by key: one list call per location, shared
    by every kind that needs them."""
    return ctx.shared("custom_fields", lambda: _list_fields(ctx.api))


async def _list_fields(api: LocationApiLike) -> dict[str, ObservedCustomField]:
    found: dict[str, ObservedCustomField] = {}
    for item in await api.list_custom_fields():
        if item.get("model", "contact") != "contact":
            continue
        key = str(item.get("fieldKey") or "").removeprefix(FIELD_PREFIX)
        options = item.get("picklistOptions") or ()
        found[key] = ObservedCustomField(
            id=str(item["id"]),
            key=key,
            name=str(item.get("name") or ""),
            data_type=str(item.get("dataType") or ""),
            options=tuple(str(o) for o in options),
            placeholder=item.get("placeholder") or None,
        )
    return found


def _change(
    spec: LocationSpec, decl: CustomField, obs: ObservedCustomField | None
) -> Change:
    addr = address(spec.name, "custom_field", decl.key)
    if decl.ensure == "absent":
        return absent_change(
            spec.name, spec.id, "custom_field", decl.key, decl.key, decl, obs
        )
    wanted = {
        "name": decl.name,
        "data_type": decl.data_type,
        "options": list(decl.options),
        "placeholder": decl.placeholder,
    }
    have = (
        {}
        if obs is None
        else {
            "name": obs.name,
            "data_type": obs.data_type,
            "options": list(obs.options),
            "placeholder": obs.placeholder,
        }
    )
    fields = tuple(
        FieldChange(name, have.get(name), value)
        for name, value in wanted.items()
        if value != have.get(name)
        and not (name == "placeholder" and value is None)  # not declared: not managed
        and not (obs is None and value == [])
        # Upstream's location custom-field API cannot write picklist options
        # (reference §6): a field without any (set them in the UI) is not a change.
        and not (name == "options" and obs is not None and not obs.options)
    )
    gate = None
    action: Action
    if obs is None:
        action, calls = "create", 1
    elif obs.data_type != decl.data_type:
        action, calls = "replace", 2
        gate = "protected" if decl.protect else "replace"
    elif fields:
        action, calls = "update", 1
    else:
        action, calls = "noop", 0
    return Change(
        address=addr,
        action=action,
        kind="custom_field",
        location=spec.name,
        location_id=spec.id,
        key=decl.key,
        object_id=None if obs is None else obs.id,
        fields=fields,
        desired={} if action == "noop" else {"key": decl.key, **wanted},
        fingerprint=fingerprint(obs),
        gate=gate,
        api_calls=calls,
        source=decl.source,
    )


def _option_warnings(spec: LocationSpec, obs: ObservedLocation) -> list[str]:
    """One warning per declared picklist the upstream lacks and hlsync cannot write.

    HighLevel's location custom-field API takes no picklist options (reference §6), so
    a field created (or re-created) by the plan gets none, and missing options on an
    existing field are not a change hlsync could make: without a warning, "No changes"
    would hide them. Options that exist but differ are an update (which says the same
    when applied)."""
    out: list[str] = []
    for decl in spec.custom_fields:
        if decl.ensure == "absent" or not decl.options:
            continue
        have = obs.custom_fields.get(decl.key)
        listed = "[" + ", ".join(decl.options) + "]"
        where = address(spec.name, "custom_field", decl.key)
        why = (
            "(HighLevel's API cannot write picklist options); "
            "set them in the HighLevel UI (Settings > Custom Fields)"
        )
        if have is None or have.data_type != decl.data_type:
            out.append(f"{where}: will be created without its options {listed} {why}")
        elif not have.options:
            out.append(f"{where}: options {listed} are not set upstream {why}")
    return out


async def _create(api: LocationApiLike, change: Change, ctx: WriteContext) -> str:
    body: dict[str, Any] = {
        "name": text_of(change, "name"),
        "dataType": text_of(change, "data_type"),
        "model": "contact",
    }
    placeholder = change.desired.get("placeholder")
    if placeholder is not None:
        body["placeholder"] = placeholder
    try:
        settled = await create_keyed(
            lambda: api.create_custom_field(body),
            lambda: _find_field(api, change.key),
            "field",
        )
        created, note = settled.value, settled.note("field")
    except ApiError as exc:
        # A repeated apply of the same plan: the field is there, as wanted.
        found = await _find_field(api, change.key) if exc.status == 400 else None
        if found is None or found.get("dataType") != body["dataType"]:
            raise
        created = found
        note = "already existed upstream"
    key = str(created.get("fieldKey") or "")
    if key.removeprefix(FIELD_PREFIX) != change.key:
        raise ChangeFailed(
            f"upstream created it as {key!r} (HighLevel derives the key from the "
            f"name {body['name']!r}), not as {FIELD_PREFIX + change.key!r}: rename "
            f"the key to {key.removeprefix(FIELD_PREFIX)!r} in the config, or the "
            "field's name to match its key, and delete the field created here"
        )
    ctx.field_ids[(change.location or "", change.key)] = str(created["id"])
    if change.desired.get("options"):
        return "; ".join(
            n for n in (note, _options_note(change, "created without its options")) if n
        )
    return note


async def _field_exists(api: LocationApiLike, field_id: str) -> bool:
    return any(str(f.get("id")) == field_id for f in await api.list_custom_fields())


async def _find_field(api: LocationApiLike, key: str) -> dict[str, Any] | None:
    for item in await api.list_custom_fields():
        if str(item.get("fieldKey") or "").removeprefix(FIELD_PREFIX) == key:
            return item
    return None


def _options_note(change: Change, what: str) -> str:
    options = change.desired.get("options") or []
    listed = ", ".join(str(o) for o in options) if options else "(none)"
    return (
        f"{what} [{listed}]: HighLevel's location custom-field API takes no picklist "
        "options; set them in the HighLevel UI (Settings > Custom Fields)"
    )
