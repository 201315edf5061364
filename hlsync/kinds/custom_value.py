"""Location custom values (``{{ custom_values.booking_link }}``), keyed by name.

Agencies set them per sub-account (business phone, booking link, brand colour) and
HighLevel's templates, emails and funnels use them. Config, per location or template::

    custom_values:
      Booking Link: https://cal.example.com/${CLINIC}   # ${VAR} like any string
      Brand Colour: "#0a7cff"
      Old Promo: {ensure: absent}                         # deleted with --force
      Business Phone: {value: "+1 202 555 0100", protect: true}

Upstream (reference §6): ``GET /locations/{id}/customValues`` lists them, ``POST``
creates ``{name, value}``, ``PUT /locations/{id}/customValues/{id}`` changes them,
``DELETE`` removes them; scopes ``locations/customValues.readonly`` / ``.write``. Upstream
derives a value's key from its name in snake case (``{{ custom_values.brand_colour }}``)
and refuses a second name with the same key, so two declared names that derive the same
key are a config error; names otherwise match exactly.

Write: a create is not idempotent upstream. When its answer is lost
(``AmbiguousWriteError``: a 5xx or a dropped connection) the list is read again by name:
found with the declared value means done, not found means the create is sent again
(``shared.create_keyed``, bounded). When upstream says the key is taken (the same plan
applied twice), the value there by that name with the declared value is success;
anything else fails the change naming what was found.

Read: the whole list (when none are declared, only if the token may: it then only
names the unmanaged values). Unmanaged: the values the config does not declare; deleted
when ``manage: {custom_values: exclusive}``. Export: every value, by name; each location
keeps its own (with ``--as-template`` they are the location's parameters).

Reserved: ``hlsync lock`` (key ``hlsync_lock``) is the apply lock's lease
(``hlsync.locks.lease``); a config may not declare a value with that key, so hlsync never
plans its own lease as a change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hlsync.core.fingerprint import fingerprint
from hlsync.core.model import (
    CustomValue,
    Kind,
    LocationSpec,
    ObservedCustomValue,
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
from hlsync.kinds.change_fields import ChangeFailed, error_text, object_id, text_of
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

LEASE_NAME = "hlsync lock"  # the apply lock's custom value (hlsync.locks.lease)


class CustomValueKind(NamedUnmanaged):
    name: Kind = "custom_value"
    section = "custom_values"
    nouns = ("custom value", "custom values")
    layer = 1
    delete_layer = 4
    lagging_read = False
    prune_consent: str | None = None

    def declared(self, spec: LocationSpec) -> Sequence[CustomValue]:
        return spec.custom_values

    def observed(self, location: ObservedLocation) -> Mapping[str, ObservedCustomValue]:
        return location.custom_values

    def build(self, builder: LocationBuilder) -> tuple[CustomValue, ...]:
        raw: Mapping[str, Any] = builder.data.get(self.section, {})
        built: list[CustomValue] = []
        keys: dict[str, str] = {}
        for name, item in raw.items():  # file order: the second of a pair is reported
            spot = builder.where((self.section, name))
            spec: Mapping[str, Any] = (
                item if isinstance(item, dict) else {"value": item}
            )
            key = derived_key(name)
            if not key:
                builder.problem(
                    f'custom value "{name}" has no letter or digit to make a key of',
                    spot,
                    "HighLevel derives {{ custom_values.<key> }} from the name",
                )
                continue
            if key == derived_key(LEASE_NAME):
                builder.problem(
                    f'custom value "{name}" takes the key of "{LEASE_NAME}", which '
                    "hlsync keeps for its apply lock",
                    spot,
                    "rename it",
                )
                continue
            if key in keys:
                builder.problem(
                    f'custom value "{name}" gets the same key as "{keys[key]}" '
                    f"({{{{ custom_values.{key} }}}}), and HighLevel keeps one value "
                    "per key",
                    spot,
                    "rename one of them",
                )
                continue
            keys[key] = name
            ensure = spec.get("ensure", "present")
            if ensure == "present" and "value" not in spec:
                builder.problem(
                    f'custom value "{name}" has no value',
                    spot,
                    "give it a value, or `ensure: absent` to delete it",
                )
                continue
            value = spec.get("value", "")
            built.append(
                CustomValue(
                    name=name,
                    value=value if isinstance(value, str) else str(value),
                    ensure=ensure,
                    protect=spec.get("protect", False),
                    source=spot,
                )
            )
        return tuple(sorted(built, key=lambda v: v.name))

    def write_scopes(self, data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        if not declares(data, self.section):
            return ()
        return (
            ("locations/customValues.readonly", "to read the declared custom values"),
            ("locations/customValues.write", "to write the declared custom values"),
        )

    async def read(self, ctx: ReadContext) -> Mapping[str, ObservedCustomValue]:
        return await listing(
            ctx,
            self.name,
            "locations/customValues.readonly",
            lambda: _list(ctx.api),
            {},
            needed=bool(ctx.spec.custom_values) or ctx.spec.exclusive(self.name),
        )

    async def reread(
        self, ctx: ReadContext, keys: set[str]
    ) -> Mapping[str, ObservedCustomValue]:
        if not keys:
            return {}
        return {k: v for k, v in (await _list(ctx.api)).items() if k in keys}

    def plan(
        self, spec: LocationSpec, observed: ObservedLocation, ctx: PlanContext
    ) -> list[Change]:
        out: list[Change] = []
        for decl in spec.custom_values:
            obs = observed.custom_values.get(decl.name)
            if decl.ensure == "absent":
                out.append(
                    absent_change(
                        spec.name, spec.id, self.name, decl.name, decl.name, decl, obs
                    )
                )
                continue
            action: Action
            fields: tuple[FieldChange, ...]
            if obs is None:
                action = "create"
                fields = (FieldChange("value", None, decl.value),)
            elif obs.value != decl.value:
                action = "update"
                fields = (FieldChange("value", obs.value, decl.value),)
            else:
                action, fields = "noop", ()
            out.append(
                Change(
                    address=address(spec.name, self.name, decl.name),
                    action=action,
                    kind=self.name,
                    location=spec.name,
                    location_id=spec.id,
                    key=decl.name,
                    object_id=None if obs is None else obs.id,
                    fields=fields,
                    desired={}
                    if action == "noop"
                    else {"name": decl.name, "value": decl.value},
                    fingerprint=fingerprint(obs),
                    api_calls=0 if action == "noop" else 1,
                    source=decl.source,
                )
            )
        return out

    def unmanaged_objects(
        self, spec: LocationSpec, observed: ObservedLocation
    ) -> Mapping[str, ObservedCustomValue]:
        return _unmanaged(spec, observed)

    async def export(self, ctx: ExportContext) -> Exported:
        found = await _list(ctx.read.api)
        values = {
            name: found[name].value for name in sorted(found) if name != LEASE_NAME
        }
        return Exported(own=values or None)

    async def write(self, change: Change, ctx: WriteContext) -> str:
        api = ctx.location_api(change)
        path = f"{api.base}/customValues"
        if change.action == "create":
            body = {"name": text_of(change, "name"), "value": text_of(change, "value")}
            try:
                created = await create_keyed(
                    lambda: api.call_object(
                        "POST", path, "customValue", json_body=body, creates=True
                    ),
                    lambda: _find(api, change.key),
                    "custom value",
                )
            except ApiError as exc:
                if exc.status != 400:
                    raise
                return await _settled(api, change, error_text(exc))
            if created.found and created.value.get("value") != body["value"]:
                raise ChangeFailed(
                    "the create's answer was lost, and a re-read found a custom value "
                    "of that name with another value: run hlsync plan again"
                )
            return created.note("value")
        if change.action == "update":
            body = {"name": text_of(change, "name"), "value": text_of(change, "value")}
            await api.call_object(
                "PUT", f"{path}/{object_id(change)}", "customValue", json_body=body
            )
            return ""
        if change.action == "delete":
            value_id = object_id(change)
            return await delete_verified(
                lambda: _delete(api, f"{path}/{value_id}"),
                lambda: _exists(api, value_id),
            )
        raise ChangeFailed(
            f"a custom value cannot be changed with action {change.action!r}"
        )


CUSTOM_VALUE = CustomValueKind()


def _unmanaged(
    spec: LocationSpec, observed: ObservedLocation
) -> dict[str, ObservedCustomValue]:
    """The observed values the config does not declare; never the apply lock's lease
    (hlsync's own, held while an apply runs)."""
    declared = {v.name for v in spec.custom_values}
    return {
        name: value
        for name, value in observed.custom_values.items()
        if name not in declared and name != LEASE_NAME
    }


async def _list(api: LocationApiLike) -> dict[str, ObservedCustomValue]:
    found: dict[str, ObservedCustomValue] = {}
    for item in await api.call_list(f"{api.base}/customValues", "customValues"):
        name = str(item.get("name") or "")
        found[name] = ObservedCustomValue(
            id=str(item["id"]), name=name, value=str(item.get("value") or "")
        )
    return found


async def _find(api: LocationApiLike, name: str) -> dict[str, Any] | None:
    for item in await api.call_list(f"{api.base}/customValues", "customValues"):
        if str(item.get("name") or "") == name:
            return item
    return None


async def _settled(api: LocationApiLike, change: Change, error: str) -> str:
    """After a create upstream refused (its key is taken): read the list again."""
    found = (await _list(api)).get(change.key)
    wanted = change.desired.get("value")
    if found is None:
        raise ChangeFailed(
            f"{error} (another custom value holds its key: rename one of them)"
        )
    if found.value != wanted:
        raise ChangeFailed(
            f"{error} (a custom value of that name exists with another value: "
            "run hlsync plan again)"
        )
    return "already existed upstream"


async def _delete(api: LocationApiLike, path: str) -> None:
    await api.call("DELETE", path)


async def _exists(api: LocationApiLike, value_id: str) -> bool:
    items = await api.call_list(f"{api.base}/customValues", "customValues")
    return any(str(item.get("id")) == value_id for item in items)
