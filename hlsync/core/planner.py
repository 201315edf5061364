"""Pure planning: ``build_plan(desired, observed) -> Plan``. No I/O, no network.

For every managed object (DESIGN.md §3) the planner emits exactly one :class:`Change`:
create, update, replace, delete or noop. Rules that keep hlsync safe beside people who
use the HighLevel UI:

* Only declared data is compared (``contact_diff``); removing an entry from the config
  stops managing it and never deletes it. Deletion needs ``ensure: absent``.
* Tags a contact uses that the location lacks (and the config does not declare) are
  created as tag changes; contacts depend on the tag and custom-field changes they use.
* A custom field's data type cannot change in place (PUT has no ``dataType``): that is a
  replace (delete, then create), gated like a delete.
* Token verbs (``hlsync.core.plan_integrations``, ``hlsync.tokens.rotation``): an existing integration
  may get a ``rotate`` / ``rotate_now`` / ``expire_old`` change from its token policy on
  the upstream's clock, or any verb ``PlanOptions.requests`` asks for; next to an update
  of the same integration it is a second change at ``<address>.token``. A location that
  seeds with one of its integrations' tokens waits for that integration's new token.
* Gates: every delete and replace needs ``--force``; removing more than
  ``PlanOptions.max_scope_removals`` scopes from one integration needs ``--force``;
  so does a token verb that ends a token at once (``rotate_now``, ``expire_old``);
  ``protect: true`` on an object that would be deleted or replaced is refused outright.

Order (deterministic): dependency layer — integrations; custom fields and tags; contacts;
then contact deletes, custom-field and tag deletes, integration deletes last (a deleted
integration may hold the token the other calls use) — then location (agency first), then
address.
"""

from __future__ import annotations

__all__ = ["AGENCY", "PlanOptions", "address", "build_plan"]

import json
from collections.abc import Iterable, Mapping
from datetime import datetime

from hlsync import __version__
from hlsync.core.catalog import Catalog, load_catalog
from hlsync.core.contact_diff import (
    compared_paths,
    create_body,
    create_fields,
    create_tags_add,
    diff_contact,
)
from hlsync.core.fingerprint import fingerprint
from hlsync.core.model import (
    Contact,
    CustomField,
    DesiredState,
    Integration,
    LocationSpec,
    ObservedContact,
    ObservedCustomField,
    ObservedIntegration,
    ObservedLocation,
    ObservedState,
    ObservedTag,
    Tag,
    Target,
)
from hlsync.core.plan import (
    Action,
    Change,
    FieldChange,
    Kind,
    Plan,
    PlanLocation,
)
from hlsync.core.plan_integrations import (
    PlanOptions,
    check_requests,
    plan_warnings,
    present_changes,
    seeded,
)
from hlsync.errors import HlsyncError, Problem
from hlsync.tokens.rotation import parse_time

AGENCY = "agency"


def build_plan(
    desired: DesiredState,
    observed: ObservedState,
    *,
    options: PlanOptions | None = None,
) -> Plan:
    """Every change that makes ``observed`` match ``desired``, in execution order.

    Raises :class:`HlsyncError` when the config contradicts itself in a way validation
    cannot see alone (a contact using a tag or custom field marked ``ensure: absent``),
    or when ``observed`` lacks one of the configured locations.
    """
    opts = options or PlanOptions()
    catalog = opts.catalog or load_catalog()
    now = parse_time(observed.upstream_now)
    changes = _integration_changes(
        None,
        None,
        desired.agency.integrations,
        observed.agency_integrations,
        opts,
        catalog,
        now,
    )
    problems: list[Problem] = []
    unwritable: list[str] = []
    for spec in desired.locations:
        obs = observed.locations.get(spec.name)
        if obs is None:
            raise HlsyncError(
                f"no observed state for location {spec.name!r} ({spec.id})",
                spec.source,
                hints=("check the location id and that its token can read it",),
            )
        unwritable += _option_warnings(spec, obs)
        integrations = _integration_changes(
            spec.name, spec.id, spec.integrations, obs.integrations, opts, catalog, now
        )
        changes += integrations
        changes += seeded(spec, integrations, _location_changes(spec, obs, problems))
    check_requests(changes, opts.requests, problems)
    if problems:
        raise HlsyncError.collect(problems)
    return Plan(
        hlsync_version=__version__,
        config_digest=desired.config_digest,
        target=_target_label(desired.target),
        locations=tuple(PlanLocation(s.name, s.id) for s in desired.locations),
        changes=tuple(sorted(changes, key=_order)),
        warnings=(*plan_warnings(desired, observed, opts.history), *unwritable),
    )


def address(location: str | None, kind: Kind, label: str) -> str:
    """Terraform-like: ``main.contact["ann@example.com"]``, ``agency.integration["ci"]``."""
    return f"{location or AGENCY}.{kind}[{json.dumps(label, ensure_ascii=False)}]"


def _target_label(target: Target) -> str:
    return "sandbox" if target.kind == "sandbox" else target.base_url


_LAYERS: Mapping[tuple[bool, str], int] = {
    (False, "integration"): 0,
    (False, "custom_field"): 1,
    (False, "tag"): 1,
    (False, "contact"): 2,
    (True, "contact"): 3,
    (True, "custom_field"): 4,
    (True, "tag"): 4,
    (True, "integration"): 5,
}


def _order(c: Change) -> tuple[int, bool, str, str]:
    layer = _LAYERS[(c.action == "delete", c.kind)]
    return (layer, c.location is not None, c.location or "", c.address)


def _absent(
    where: str | None,
    location_id: str | None,
    kind: Kind,
    key: str,
    label: str,
    decl: Integration | CustomField | Tag | Contact,
    obs: ObservedIntegration
    | ObservedCustomField
    | ObservedTag
    | ObservedContact
    | None,
    compared: tuple[str, ...] = (),
) -> Change:
    """``ensure: absent``: a gated delete, or a noop when it is already gone."""
    gone = obs is None
    return Change(
        address=address(where, kind, label),
        action="noop" if gone else "delete",
        kind=kind,
        location=where,
        location_id=location_id,
        key=key,
        object_id=None if obs is None else obs.id,
        desired={} if gone or kind == "contact" else {"name": label},
        fingerprint=fingerprint(obs, compared),
        compared=compared,
        gate=None if gone else ("protected" if decl.protect else "delete"),
        api_calls=0 if gone else 1,
        source=decl.source,
    )


def _integration_changes(
    where: str | None,
    location_id: str | None,
    decls: Iterable[Integration],
    observed: Mapping[str, ObservedIntegration],
    opts: PlanOptions,
    catalog: Catalog,
    now: datetime | None,
) -> list[Change]:
    out: list[Change] = []
    for decl in decls:
        obs = observed.get(decl.name)
        if decl.ensure == "absent":
            label = decl.name
            out.append(
                _absent(where, location_id, "integration", label, label, decl, obs)
            )
            continue
        addr = address(where, "integration", decl.name)
        out += present_changes(addr, where, location_id, decl, obs, opts, catalog, now)
    return out


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


def _location_changes(
    spec: LocationSpec, obs: ObservedLocation, problems: list[Problem]
) -> list[Change]:
    """Custom fields, tags and contacts of one location."""
    fields = [
        _custom_field_change(spec, d, obs.custom_fields.get(d.key))
        for d in spec.custom_fields
    ]
    tags = _tag_changes(spec, obs)
    absent_fields = {d.key for d in spec.custom_fields if d.ensure == "absent"}
    absent_tags = {d.name.casefold() for d in spec.tags if d.ensure == "absent"}
    for contact in spec.contacts:
        if contact.ensure == "absent":
            continue
        for key in sorted(absent_fields.intersection(contact.custom_fields)):
            problems.append(
                Problem(
                    f"contact {_label(contact.key)} sets custom field {key!r}, "
                    "which the config marks `ensure: absent`",
                    contact.source,
                )
            )
        for tag in contact.tags:
            if tag.casefold() in absent_tags:
                problems.append(
                    Problem(
                        f"contact {_label(contact.key)} uses tag {tag!r}, "
                        "which the config marks `ensure: absent`",
                        contact.source,
                    )
                )
    # Contacts wait for the fields and tags that are created (or re-created) for them.
    providers: dict[tuple[str, str], str] = {
        (c.kind, c.key.casefold() if c.kind == "tag" else c.key): c.address
        for c in [*fields, *tags]
        if c.action in ("create", "replace")
    }
    replaced = {c.key for c in fields if c.action == "replace"}
    field_types = {k: f.data_type for k, f in obs.custom_fields.items()}
    field_types.update({d.key: d.data_type for d in spec.custom_fields})
    contacts = [
        _contact_change(
            spec, c, obs.contacts.get(c.key), field_types, replaced, providers
        )
        for c in spec.contacts
    ]
    return [*fields, *tags, *contacts]


def _custom_field_change(
    spec: LocationSpec, decl: CustomField, obs: ObservedCustomField | None
) -> Change:
    addr = address(spec.name, "custom_field", decl.key)
    if decl.ensure == "absent":
        return _absent(
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


def _tag_changes(spec: LocationSpec, obs: ObservedLocation) -> list[Change]:
    """Declared tags, plus the tags contacts use that the location lacks.

    Tags match case-insensitively; an existing tag's ``key`` is upstream's spelling, so
    a saved-plan re-read by exact name finds it again.
    """
    existing = {name.casefold(): tag for name, tag in obs.tags.items()}
    out: list[Change] = []
    seen: set[str] = set()
    wanted: list[tuple[str, Tag | Contact]] = [(t.name, t) for t in spec.tags]
    wanted += [
        (tag, c) for c in spec.contacts if c.ensure == "present" for tag in c.tags
    ]
    for name, decl in wanted:
        folded = name.casefold()
        if folded in seen:
            continue
        seen.add(folded)
        found = existing.get(folded)
        if isinstance(decl, Tag) and decl.ensure == "absent":
            key = name if found is None else found.name  # upstream's spelling
            out.append(_absent(spec.name, spec.id, "tag", key, name, decl, found))
            continue
        if found is not None and isinstance(decl, Contact):
            continue  # exists and is not declared: nothing to manage
        out.append(
            Change(
                address=address(spec.name, "tag", name),
                action="noop" if found else "create",
                kind="tag",
                location=spec.name,
                location_id=spec.id,
                key=name if found is None else found.name,
                object_id=None if found is None else found.id,
                fields=() if found else (FieldChange("name", None, name),),
                desired={} if found else {"name": name},
                fingerprint=fingerprint(found),
                api_calls=0 if found else 1,
                source=decl.source,
            )
        )
    return out


def _contact_change(
    spec: LocationSpec,
    decl: Contact,
    obs: ObservedContact | None,
    field_types: Mapping[str, str],
    replaced: set[str],
    providers: Mapping[tuple[str, str], str],
) -> Change:
    label = _label(decl.key)
    compared = compared_paths(decl)
    if decl.ensure == "absent":
        return _absent(
            spec.name, spec.id, "contact", decl.key, label, decl, obs, compared
        )
    action: Action
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
        address=address(spec.name, "contact", label),
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


def _label(key: str) -> str:
    """The contact label of an address: its key without ``email:`` / ``phone:``."""
    prefix, sep, rest = key.partition(":")
    return rest if sep and prefix in ("email", "phone") else key
