"""Request-body checks for the upstream routes, in upstream's own words.

Upstream validates bodies with NestJS class-validator and ``forbidNonWhitelisted``: an
unknown property answers 422 ``"property X should not exist"`` and a wrong type 422
``"X must be a string"`` — all problems of one body in one ``message`` array. The DTOs
below are written from the official OpenAPI files (reference §5.2, §6); the contract
tests compare their property sets with the files, so a drift fails a test.

Normalisation (what the store keeps, reference §5.2–§5.4):

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

import phonenumbers

from hlsync.emulator.errors import EmulatorError

DND_CHANNELS_V2 = ("Call", "Email", "SMS", "WhatsApp", "GMB", "FB")
DND_CHANNELS_V3 = ("call", "email", "sms", "whatsApp", "gmb", "fb")
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
    "EMAIL",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE_FORMATS = (
    re.compile(r"^(?P<y>\d{4})(?P<s>[-/._])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})$"),
    re.compile(r"^(?P<m>\d{1,2})(?P<s>[-/._])(?P<d>\d{1,2})(?P=s)(?P<y>\d{4})$"),
)


@dataclass(frozen=True, slots=True)
class Prop:
    """One DTO property: its kind, whether required, whether ``null`` is allowed."""

    kind: str  # string | boolean | number | strings | object | any
    required: bool = False
    nullable: bool = False
    enum: tuple[str, ...] = ()


_S, _SN = Prop("string"), Prop("string", nullable=True)
_CONTACT_COMMON: dict[str, Prop] = {
    "firstName": _SN,
    "lastName": _SN,
    "name": _SN,
    "email": _SN,
    "phone": _SN,
    "address1": _SN,
    "city": _SN,
    "state": _SN,
    "postalCode": _S,
    "website": _SN,
    "timezone": _SN,
    "dnd": Prop("boolean"),
    "dndSettings": Prop("object"),
    "inboundDndSettings": Prop("object"),
    "tags": Prop("strings"),
    "customFields": Prop("array"),
    "dateOfBirth": Prop("any", nullable=True),
    "country": _S,
}
CREATE_CONTACT: dict[str, Prop] = {
    **_CONTACT_COMMON,
    "locationId": Prop("string", required=True),
    "gender": _S,
    "source": _S,
    "companyName": _SN,
    "assignedTo": _S,
}
UPDATE_CONTACT: dict[str, Prop] = {**_CONTACT_COMMON, "source": _SN, "assignedTo": _SN}
UPSERT_CONTACT: dict[str, Prop] = {
    **CREATE_CONTACT,
    "createNewIfDuplicateAllowed": Prop("boolean"),
}
TAGS: dict[str, Prop] = {"tags": Prop("strings", required=True)}
BULK_TAGS: dict[str, Prop] = {
    "contacts": Prop("strings", required=True),
    "tags": Prop("strings", required=True),
    "locationId": Prop("string", required=True),
    "removeAllTags": Prop("boolean"),
}
LOCATION_TAG: dict[str, Prop] = {"name": Prop("string", required=True)}
_FIELD_COMMON: dict[str, Prop] = {
    "placeholder": _S,
    "acceptedFormat": Prop("strings"),
    "isMultipleFile": Prop("boolean"),
    "maxNumberOfFiles": Prop("number"),
    "textBoxListOptions": Prop("array"),
    "position": Prop("number"),
    "model": Prop("string", enum=("contact", "opportunity")),
}
CREATE_CUSTOM_FIELD: dict[str, Prop] = {
    "name": Prop("string", required=True),
    "dataType": Prop("string", required=True, enum=DATA_TYPES),
    **_FIELD_COMMON,
}
UPDATE_CUSTOM_FIELD: dict[str, Prop] = {
    "name": Prop("string", required=True),
    **_FIELD_COMMON,
}
CUSTOM_VALUE: dict[str, Prop] = {
    "name": Prop("string", required=True),
    "value": Prop("string", required=True),
}


def check_body(body: Any, dto: Mapping[str, Prop]) -> dict[str, Any]:
    """``body`` as a dict when it fits ``dto``; else 422 listing every problem."""
    if not isinstance(body, dict):
        raise EmulatorError.unprocessable(["body must be a JSON object"])
    problems = [f"property {key} should not exist" for key in body if key not in dto]
    for name, prop in dto.items():
        if name not in body:
            if prop.required:
                problems.append(f"{name} should not be empty")
            continue
        problems.extend(_check_value(name, body[name], prop))
    if problems:
        raise EmulatorError.unprocessable(problems)
    return body


def _check_value(name: str, value: Any, prop: Prop) -> list[str]:
    if value is None:
        if prop.nullable or prop.kind == "any":
            return []
        return (
            [f"{name} should not be empty"]
            if prop.required
            else [f"{name} must be {_article(prop.kind)}"]
        )
    kind = prop.kind
    if kind == "string":
        if not isinstance(value, str):
            return [f"{name} must be a string"]
        if prop.required and not value.strip():
            return [f"{name} should not be empty"]
        if prop.enum and value not in prop.enum:
            return [
                f"{name} must be one of the following values: {', '.join(prop.enum)}"
            ]
    elif kind == "boolean" and not isinstance(value, bool):
        return [f"{name} must be a boolean value"]
    elif kind == "number" and (
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        return [f"{name} must be a number conforming to the specified constraints"]
    elif kind == "object" and not isinstance(value, dict):
        return [f"{name} must be an object"]
    elif kind in ("array", "strings") and not isinstance(value, list):
        return [f"{name} must be an array"]
    elif kind == "strings" and not all(isinstance(item, str) for item in value):
        return [f"each value in {name} must be a string"]
    return []


def _article(kind: str) -> str:
    return {
        "string": "a string",
        "boolean": "a boolean value",
        "number": "a number conforming to the specified constraints",
        "object": "an object",
    }.get(kind, "an array")


def normalize_phone(text: str) -> str | None:
    """E.164 for a parseable phone number (no ``+``: read as US), else ``None``."""
    try:
        number = phonenumbers.parse(
            text, None if text.strip().startswith("+") else "US"
        )
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


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
