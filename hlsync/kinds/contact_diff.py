"""Compare one seed contact with the contact upstream holds: declared fields only.

Part of the pure planner. A value is normalised before it is compared, so that a contact
nobody changed plans as a noop:

* ``email`` case-insensitively (upstream keeps the case it was given);
* ``phone`` as E.164 (upstream's input accepts ``+1 888-888-8888``);
* ``dateOfBirth`` and DATE custom fields as ``YYYY-MM-DD`` (upstream accepts eight input
  formats and answers ISO timestamps, reference §5.2);
* other strings exactly, with ``None``, ``""`` and a missing value alike (upstream omits
  empty fields);
* custom fields by key: MULTIPLE_OPTIONS / CHECKBOX values as sets, NUMERICAL / MONETORY
  as numbers;
* nested objects (``dndSettings``) with deepdiff, restricted to the keys the config
  declares, each difference becoming a plain ``FieldChange`` such as
  ``dndSettings.Email.status``; no DeepDiff object leaves this module.

Tags compare case-insensitively (an assumption: HighLevel stores tags lower-cased).
Declared tags missing on the contact are added; other tags are removed only when the
contact's tag list is exclusive. A create sends its tags in the upsert only when they
are exclusive (an upsert replaces every tag of a contact that exists); otherwise it adds
them after the upsert (``create_tags_add``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import phonenumbers

from hlsync.core.model import Contact, JSONValue, ObservedContact
from hlsync.core.plan import FieldChange

Write = Literal["put", "upsert"]

SET_TYPES = frozenset({"MULTIPLE_OPTIONS", "CHECKBOX"})
NUMBER_TYPES = frozenset({"NUMERICAL", "MONETORY"})
# Fields the update DTO lacks (reference §5.2): changing them needs an upsert.
NOT_UPDATABLE = frozenset({"companyName"})
FIELD_ORDER = (
    "firstName",
    "lastName",
    "name",
    "email",
    "phone",
    "companyName",
    "address1",
    "city",
    "state",
    "postalCode",
    "country",
    "website",
    "timezone",
    "source",
    "dateOfBirth",
    "dnd",
    "dndSettings",
)

_YMD = re.compile(r"^(\d{4})[-/._](\d{1,2})[-/._](\d{1,2})(?:[T ].*)?$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_MDY = re.compile(r"^(\d{1,2})[-/._](\d{1,2})[-/._](\d{4})$")


@dataclass(frozen=True, slots=True)
class ContactDiff:
    """What differs, and the request bodies that make it right."""

    fields: tuple[FieldChange, ...]
    write: Write | None  # how to send ``body``; None when only tags change
    body: dict[str, Any]
    tags_add: tuple[str, ...]
    tags_remove: tuple[str, ...]

    @property
    def api_calls(self) -> int:
        return (self.write is not None) + bool(self.tags_add) + bool(self.tags_remove)


def compared_paths(contact: Contact) -> tuple[str, ...]:
    """The observed data a contact's fingerprint covers (see ``plan.observed_view``).

    Contacts declared alike (the same fields, custom fields and tags: most rows of a
    seed file) share one tuple, worked out once."""
    shape = (
        tuple(contact.fields),
        tuple(contact.custom_fields),
        contact.tags,
        contact.tags_exclusive,
    )
    paths = _PATHS.get(shape)
    if paths is None:
        if len(_PATHS) >= _PATHS_MAX:
            _PATHS.clear()
        paths = _PATHS[shape] = _compared_paths(contact)
    return paths


_PATHS: dict[tuple[object, ...], tuple[str, ...]] = {}
_PATHS_MAX = 4096  # shapes remembered; a config with more just works them out again


def _compared_paths(contact: Contact) -> tuple[str, ...]:
    paths = [*_ordered(contact.fields)]
    paths += [f"customFields.{k}" for k in sorted(contact.custom_fields)]
    if contact.tags_exclusive:
        paths.append("tags")
    else:
        paths += [f"tags.{t}" for t in sorted({t.casefold() for t in contact.tags})]
    return tuple(paths)


def create_body(contact: Contact, location_id: str) -> dict[str, Any]:
    """The ``POST /contacts/upsert`` body that creates the contact idempotently.

    ``tags`` in an upsert replace every tag of a contact that already exists (reference
    §5.2), and a create can meet one that search lag hid from the read. So the body
    carries the declared tags only when the contact's tag list is exclusive; otherwise
    they are added after the upsert (:func:`create_tags_add`), and tags put on the
    contact by people or workflows stay (DESIGN.md §3)."""
    body: dict[str, Any] = {"locationId": location_id}
    ident, _, value = contact.key.partition(":")
    if ident in ("email", "phone") and not contact.fields.get(ident):
        body[ident] = value  # the identity must reach upstream even if not declared
    for name in _ordered(contact.fields):
        if contact.fields[name] is not None:
            body[name] = contact.fields[name]
    if contact.tags and contact.tags_exclusive:
        body["tags"] = list(contact.tags)
    if contact.custom_fields:
        body["customFields"] = _custom_input(contact.custom_fields)
    return body


def create_tags_add(contact: Contact) -> tuple[str, ...]:
    """The tags a create adds with ``POST /contacts/{id}/tags`` after its upsert: the
    declared ones (first spelling of each), unless the upsert body carries them."""
    if contact.tags_exclusive:
        return ()
    seen: set[str] = set()
    out: list[str] = []
    for tag in contact.tags:
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return tuple(out)


def create_fields(contact: Contact) -> tuple[FieldChange, ...]:
    out = [
        FieldChange(name, None, contact.fields[name])
        for name in _ordered(contact.fields)
        if contact.fields[name] is not None
    ]
    out += [
        FieldChange(f"customFields.{k}", None, contact.custom_fields[k])
        for k in sorted(contact.custom_fields)
    ]
    if contact.tags:
        out.append(FieldChange("tags", None, sorted(contact.tags)))
    return tuple(out)


def plainly_unchanged(
    contact: Contact, observed: ObservedContact, cleared_custom_fields: Collection[str]
) -> bool:
    """True when plain equality already shows no declared difference: every declared
    field and custom field as upstream holds it, every declared tag present (a tag list
    that is not exclusive). The common case of a large plan, for one comparison per
    declared value; False means only "compare in full" (:func:`diff_contact`), which
    normalises (a contact may still be unchanged)."""
    if contact.tags_exclusive:
        return False
    have = observed.fields
    for name, want in contact.fields.items():
        if want != have.get(name):
            return False
    if contact.custom_fields:
        values = observed.custom_fields
        for key, want in contact.custom_fields.items():
            if key in cleared_custom_fields or want != values.get(key):
                return False
    if contact.tags:
        present = {t.casefold() for t in observed.tags}
        if any(t.casefold() not in present for t in contact.tags):
            return False
    return True


def diff_contact(
    contact: Contact,
    observed: ObservedContact,
    *,
    location_id: str,
    field_types: Mapping[str, str],
    cleared_custom_fields: Collection[str] = (),
) -> ContactDiff:
    """Differences in declared data; ``cleared_custom_fields`` are being replaced and
    so lose their values upstream, which must then be written again."""
    changes: list[FieldChange] = []
    changed_names: list[str] = []
    for name in _ordered(contact.fields):
        found = _field_changes(name, contact.fields[name], observed.fields.get(name))
        if found:
            changes += found
            changed_names.append(name)
    changed_custom: dict[str, JSONValue] = {}
    for key in sorted(contact.custom_fields):
        want = contact.custom_fields[key]
        have = None if key in cleared_custom_fields else observed.custom_fields.get(key)
        kind = field_types.get(key, "TEXT")
        if _custom_norm(want, kind) != _custom_norm(have, kind):
            changes.append(FieldChange(f"customFields.{key}", have, want))
            changed_custom[key] = want
    tags_add, tags_remove, tag_change = _tag_changes(contact, observed)
    if tag_change is not None:
        changes.append(tag_change)

    write: Write | None = None
    body: dict[str, Any] = {}
    if changed_names or changed_custom:
        write = "upsert" if NOT_UPDATABLE.intersection(changed_names) else "put"
        if write == "upsert":
            body["locationId"] = location_id
            ident = "email" if contact.key.startswith("email:") else "phone"
            body[ident] = contact.fields.get(ident, contact.key.partition(":")[2])
        for name in changed_names:
            body[name] = _merged(observed.fields.get(name), contact.fields[name])
        if changed_custom:
            body["customFields"] = _custom_input(changed_custom)
    return ContactDiff(tuple(changes), write, body, tags_add, tags_remove)


def _tag_changes(
    contact: Contact, observed: ObservedContact
) -> tuple[tuple[str, ...], tuple[str, ...], FieldChange | None]:
    have = {t.casefold() for t in observed.tags}
    want = {t.casefold() for t in contact.tags}
    add: list[str] = []
    for tag in contact.tags:
        if tag.casefold() not in have:
            have.add(tag.casefold())
            add.append(tag)
    remove = [t for t in observed.tags if t.casefold() not in want]
    remove = remove if contact.tags_exclusive else []
    if not add and not remove:
        return (), (), None
    after = sorted([t for t in observed.tags if t not in remove] + add)
    change = FieldChange("tags", sorted(observed.tags), after)
    return tuple(sorted(add)), tuple(sorted(remove)), change


def _field_changes(name: str, want: JSONValue, have: JSONValue) -> list[FieldChange]:
    if want == have:
        return []  # the common case, before any normalising
    if isinstance(want, Mapping):
        pruned = _prune(have, want)
        return _nested_changes(name, pruned, _plain(want))
    if _field_norm(name, want) == _field_norm(name, have):
        return []
    return [FieldChange(name, have, want)]


def _nested_changes(name: str, have: JSONValue, want: JSONValue) -> list[FieldChange]:
    """deepdiff's tree view, flattened to ``name.a.b`` paths with plain values."""
    # Imported on first use: most plans compare no nested field, and deepdiff costs
    # ~0.1 s of every run's start-up.
    from deepdiff import DeepDiff
    from deepdiff.helper import NotPresent

    diff = DeepDiff(have, want, view="tree", verbose_level=2)
    out = []
    for report in sorted(diff):
        for level in diff[report]:
            parts = [str(p) for p in level.path(output_format="list")]
            before = None if isinstance(level.t1, NotPresent) else level.t1
            after = None if isinstance(level.t2, NotPresent) else level.t2
            if _scalar_norm(before) == _scalar_norm(after):
                continue
            out.append(FieldChange(".".join([name, *parts]), before, after))
    return sorted(out, key=lambda fc: fc.path)


def _prune(have: JSONValue, shape: Mapping[str, Any]) -> JSONValue:
    """``have`` restricted to the keys ``shape`` declares, recursively."""
    if not isinstance(have, Mapping):
        return have
    out: dict[str, Any] = {}
    for key, sub in shape.items():
        if key in have:
            out[key] = _prune(have[key], sub) if isinstance(sub, Mapping) else have[key]
    return out


def _merged(have: JSONValue, want: JSONValue) -> JSONValue:
    """``want`` laid over ``have`` for nested objects, so writing a declared key of,
    say, ``dndSettings`` never drops the undeclared channels beside it."""
    if not isinstance(want, Mapping):
        return want
    out = dict(have) if isinstance(have, Mapping) else {}
    for key, value in want.items():
        out[key] = _merged(out.get(key), value)
    return out


def _plain(value: JSONValue) -> JSONValue:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _field_norm(name: str, value: JSONValue) -> JSONValue:
    value = _scalar_norm(value)
    if not isinstance(value, str):
        return value
    if name == "email":
        return value.strip().casefold()
    if name == "phone":
        return e164(value)
    if name == "dateOfBirth":
        return date_ymd(value)
    return value


def _custom_norm(value: JSONValue, kind: str) -> JSONValue:
    value = _scalar_norm(value)
    if kind in SET_TYPES and value is not None:
        items = value if isinstance(value, list) else [value]
        return sorted({str(v) for v in items})
    if kind in NUMBER_TYPES and isinstance(value, str | int | float):
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "DATE" and isinstance(value, str):
        return date_ymd(value)
    return value


def _scalar_norm(value: JSONValue) -> JSONValue:
    return None if value == "" or value == [] else value


def e164(value: str) -> str:
    """``value`` as E.164 when it parses as an international number, else unchanged."""
    if _E164.match(value):
        return value  # already E.164: skip the (slow) parser
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def date_ymd(value: str) -> str:
    """``YYYY-MM-DD`` for any of upstream's date spellings, else ``value`` unchanged."""
    text = value.strip()
    match = _YMD.match(text)
    if match:
        year, month, day = match.groups()
    else:
        match = _MDY.match(text)
        if not match:
            return value
        month, day, year = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _custom_input(values: Mapping[str, JSONValue]) -> list[dict[str, JSONValue]]:
    """Upstream's v2 custom-field input, by key so fields created in the same apply
    need no id (reference §5.3)."""
    return [{"key": k, "field_value": values[k]} for k in sorted(values)]


def _ordered(fields: Mapping[str, JSONValue]) -> list[str]:
    known = [f for f in FIELD_ORDER if f in fields]
    return known + sorted(f for f in fields if f not in FIELD_ORDER)
