"""A contact request body in the store's form: what the contact routes keep (reference
§5.2–§5.4) once ``validation.check_body`` has accepted the body's shape.

- ``phone`` is parsed with ``phonenumbers`` (``+1 888-888-8888`` → ``+18888888888``);
  a number without ``+`` is read as a US number; an unparseable one answers 422.
- ``email`` keeps its case (``emailLowerCase`` is derived for matching); a malformed one
  answers 422 ``"email must be an email"``.
- ``name`` alone is split into ``firstName``/``lastName`` at the first space.
- ``dateOfBirth`` accepts the eight documented formats and is kept as
  ``YYYY-MM-DDT00:00:00.000Z``.
- ``dndSettings`` keys are kept in the v2 spelling (``Call``…); ``v3`` requests use and get
  the v3 spelling (``call``…).
- ``customFields`` entries name the field by ``id`` or ``key`` and carry ``field_value``
  or ``value`` (v2) / ``fieldValue`` too (v3); values are checked loosely against the
  field's ``dataType`` (numbers for NUMERICAL/MONETORY, string lists for CHECKBOX/
  MULTIPLE_OPTIONS — a single string is wrapped). Entries naming no field of the
  location are ignored, as upstream ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.validation import normalize_phone

DND_CHANNELS_V2 = ("Call", "Email", "SMS", "WhatsApp", "GMB", "FB")
DND_CHANNELS_V3 = ("call", "email", "sms", "whatsApp", "gmb", "fb")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE_FORMATS = (
    re.compile(r"^(?P<y>\d{4})(?P<s>[-/._])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<m>\d{1,2})(?P<s>[-/._])(?P<d>\d{1,2})(?P=s)(?P<y>\d{4})$"),
)


def normalize_date_of_birth(value: Any) -> str | None:
    """One of the eight documented formats (or ISO) → ``YYYY-MM-DDT00:00:00.000Z``."""
    if not isinstance(value, str):
        return None
    text = value.strip()[:10] if "T" in value else value.strip()
    for pattern in _DATE_FORMATS:
        found = pattern.match(text)
        if found:
            try:
                day = date(int(found["y"]), int(found["m"]), int(found["d"]))
            except ValueError:
                return None
            return f"{day.isoformat()}T00:00:00.000Z"
    return None


FieldResolver = Callable[[str], Mapping[str, Any] | None]


def contact_fields(
    body: Mapping[str, Any], *, v3: bool, resolve_field: FieldResolver
) -> dict[str, Any]:
    """The store form of an already shape-checked contact body (see module doc).

    Only keys present in ``body`` appear in the result (``None`` = clear the field);
    ``locationId`` and ``createNewIfDuplicateAllowed`` are left to the caller.
    """
    problems: list[str] = []
    fields: dict[str, Any] = {}
    for key, value in body.items():
        if key in ("locationId", "createNewIfDuplicateAllowed", "name"):
            continue
        if value is None:
            fields[key] = None
        elif key == "email":
            if not _EMAIL.match(value.strip()):
                problems.append("email must be an email")
            fields[key] = value.strip()
        elif key == "phone":
            phone = normalize_phone(value)
            if phone is None:
                problems.append("phone must be a valid phone number")
            fields[key] = phone
        elif key == "dateOfBirth":
            fields[key] = normalize_date_of_birth(value)
            if fields[key] is None:
                problems.append("dateOfBirth must be a valid date")
        elif key == "dndSettings":
            fields[key] = _dnd_settings(value, v3, problems)
        elif key == "inboundDndSettings":
            _inbound_dnd(value, problems)
            fields[key] = value
        elif key == "customFields":
            fields[key] = _custom_fields(value, v3, resolve_field, problems)
        else:
            fields[key] = value
    name = body.get("name")
    if isinstance(name, str) and name.strip():
        first, _, last = name.strip().partition(" ")
        fields.setdefault("firstName", first)
        if last.strip():
            fields.setdefault("lastName", last.strip())
    if problems:
        raise EmulatorError.unprocessable(problems)
    return fields


def _dnd_settings(
    value: dict[str, Any], v3: bool, problems: list[str]
) -> dict[str, Any]:
    channels = DND_CHANNELS_V3 if v3 else DND_CHANNELS_V2
    stored: dict[str, Any] = {}
    for key, setting in value.items():
        if key not in channels:
            problems.append(f"property dndSettings.{key} should not exist")
            continue
        where = f"dndSettings.{key}"
        if not isinstance(setting, dict):
            problems.append(f"{where} must be an object")
            continue
        if setting.get("status") not in ("active", "inactive", "permanent"):
            problems.append(
                f"{where}.status must be one of the following values: "
                "active, inactive, permanent"
            )
        extra = set(setting) - {"status", "message", "code"}
        problems.extend(f"property {where}.{k} should not exist" for k in sorted(extra))
        stored[DND_CHANNELS_V2[channels.index(key)]] = dict(setting)
    return stored


def _inbound_dnd(value: dict[str, Any], problems: list[str]) -> None:
    for key, setting in value.items():
        if key != "all":
            problems.append(f"property inboundDndSettings.{key} should not exist")
        elif not isinstance(setting, dict) or setting.get("status") not in (
            "active",
            "inactive",
        ):
            problems.append(
                "inboundDndSettings.all.status must be one of the following values: "
                "active, inactive"
            )


def _custom_fields(
    entries: list[Any], v3: bool, resolve: FieldResolver, problems: list[str]
) -> list[dict[str, Any]]:
    value_keys = (
        ("fieldValue", "field_value", "value") if v3 else ("field_value", "value")
    )
    out: list[dict[str, Any]] = []
    for number, entry in enumerate(entries):
        where = f"customFields.{number}"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be an object")
            continue
        extra = set(entry) - {"id", "key", *value_keys}
        problems.extend(f"property {where}.{k} should not exist" for k in sorted(extra))
        ref = entry.get("id") or entry.get("key")
        if not isinstance(ref, str):
            problems.append(f"{where}.id must be a string")
            continue
        present = [k for k in value_keys if k in entry]
        if not present:
            problems.append(f"{where}.field_value should not be empty")
            continue
        definition = resolve(ref)
        if definition is None:
            continue
        value = _typed_value(entry[present[0]], str(definition["dataType"]))
        if isinstance(value, _Invalid):
            problems.append(f"{where}.{present[0]} {value.reason}")
            continue
        out.append({"id": definition["id"], "value": value})
    return out


@dataclass(frozen=True, slots=True)
class _Invalid:
    reason: str


def _typed_value(value: Any, data_type: str) -> Any:
    if value is None or value == "":
        return None
    if data_type in ("NUMERICAL", "MONETORY"):
        if isinstance(value, bool):
            return _Invalid("must be a number")
        if isinstance(value, int | float):
            return value
        try:
            number = float(str(value))
        except ValueError:
            return _Invalid("must be a number")
        return int(number) if number.is_integer() else number
    if data_type in ("CHECKBOX", "MULTIPLE_OPTIONS"):
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in items):
            return _Invalid("must be an array of strings")
        return list(items)
    if data_type in ("FILE_UPLOAD", "TEXTBOX_LIST"):
        return value if isinstance(value, dict | str) else _Invalid("must be an object")
    if isinstance(value, bool) or isinstance(value, dict | list):
        return _Invalid("must be a string")
    return str(value)
