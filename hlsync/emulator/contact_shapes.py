"""A contact record shaped as upstream returns it (reference §5), shared by the contact
resources (``resources/contacts``, ``contact_search``).

Every shape follows the response schema of the official OpenAPI files, misspelled names
included (``GetContectByIdSchema`` → :func:`contact`, ``CreateContactSchema`` →
:func:`created_contact`). Fields without a value are left out rather than sent as
``null`` (upstream omits unset fields, and the schemas declare them non-nullable).
Derived fields (``emailLowerCase``, ``firstNameLowerCase``, ``fullNameLowerCase``) are
computed here. ``v3`` requests get the v3 DND key spelling (``call`` …) and the full
contact on create (the v3 create response is ``GetContactByIdSchemaV3``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hlsync.emulator.contact_body import DND_CHANNELS_V2, DND_CHANNELS_V3

Record = dict[str, Any]

_GET_FIELDS = (
    "id",
    "name",
    "locationId",
    "firstName",
    "lastName",
    "email",
    "emailLowerCase",
    "timezone",
    "companyName",
    "phone",
    "dnd",
    "dndSettings",
    "type",
    "source",
    "assignedTo",
    "address1",
    "city",
    "state",
    "country",
    "postalCode",
    "website",
    "tags",
    "dateOfBirth",
    "dateAdded",
    "dateUpdated",
    "firstNameLowerCase",
    "fullNameLowerCase",
    "lastNameLowerCase",
    "customFields",
    "businessId",
)
_CREATE_FIELDS = (
    "id",
    "dateAdded",
    "dateUpdated",
    "deleted",
    "tags",
    "type",
    "customFields",
    "locationId",
    "firstName",
    "firstNameLowerCase",
    "fullNameLowerCase",
    "lastName",
    "lastNameLowerCase",
    "email",
    "emailLowerCase",
    "bounceEmail",
    "unsubscribeEmail",
    "dnd",
    "dndSettings",
    "phone",
    "address1",
    "city",
    "state",
    "country",
    "postalCode",
    "website",
    "source",
    "companyName",
    "dateOfBirth",
    "birthMonth",
    "birthDay",
    "assignedTo",
)
_LIST_FIELDS = (
    "id",
    "locationId",
    "contactName",
    "firstName",
    "lastName",
    "firstNameLowerCase",
    "lastNameLowerCase",
    "email",
    "phone",
    "companyName",
    "timezone",
    "country",
    "source",
    "type",
    "dnd",
    "address1",
    "city",
    "state",
    "postalCode",
    "website",
    "assignedTo",
    "dateOfBirth",
    "dateAdded",
    "dateUpdated",
    "customFields",
    "tags",
    "followers",
    "businessId",
)
_SEARCH_FIELDS = (
    "id",
    "locationId",
    "firstName",
    "lastName",
    "firstNameLowerCase",
    "lastNameLowerCase",
    "email",
    "phone",
    "additionalEmails",
    "additionalPhones",
    "address",
    "city",
    "state",
    "postalCode",
    "country",
    "companyName",
    "assignedTo",
    "followers",
    "tags",
    "type",
    "source",
    "dnd",
    "validEmail",
    "businessId",
    "website",
    "timezone",
    "dateOfBirth",
    "dateAdded",
    "dateUpdated",
    "customFields",
)


def full_name(record: Record) -> str | None:
    parts = [p for p in (record.get("firstName"), record.get("lastName")) if p]
    return " ".join(parts) if parts else None


def _lower(value: Any) -> Any:
    return value.lower() or None if value else None


def _full_lower(record: Record, v3: bool) -> Any:
    name = full_name(record)
    return name.lower() if name else None


def _birth(record: Record, own: str, start: int, shift: int) -> Any:
    """``birthMonth``/``birthDay`` from ``dateOfBirth``: upstream reports a zero-based
    month (JavaScript getMonth): 09-25 → 8, 25."""
    dob = record.get("dateOfBirth")
    if isinstance(dob, str) and len(dob) >= 10:
        return int(dob[start : start + 2]) - shift
    return record.get(own)


def _dnd(record: Record, v3: bool) -> Any:
    settings = record.get("dndSettings")
    if v3 and isinstance(settings, dict):
        return {
            DND_CHANNELS_V3[DND_CHANNELS_V2.index(k)]: v for k, v in settings.items()
        }
    return settings


# The derived and defaulted output fields (they win over the record's own), each
# worked out only when an answer shape has it.
_DERIVED: dict[str, Callable[[Record, bool], Any]] = {
    "name": lambda record, v3: full_name(record),
    "contactName": lambda record, v3: full_name(record),
    "emailLowerCase": lambda record, v3: _lower(record.get("email")),
    "firstNameLowerCase": lambda record, v3: _lower(record.get("firstName")),
    "lastNameLowerCase": lambda record, v3: _lower(record.get("lastName")),
    "fullNameLowerCase": _full_lower,
    "address": lambda record, v3: record.get("address1"),
    "deleted": lambda record, v3: False,
    "bounceEmail": lambda record, v3: False,
    "unsubscribeEmail": lambda record, v3: False,
    "followers": lambda record, v3: record.get("followers") or [],
    "additionalEmails": lambda record, v3: [],
    "additionalPhones": lambda record, v3: [],
    "birthMonth": lambda record, v3: _birth(record, "birthMonth", 5, 1),
    "birthDay": lambda record, v3: _birth(record, "birthDay", 8, 0),
    "dndSettings": _dnd,
}


def _pick(record: Record, v3: bool, names: tuple[str, ...]) -> Record:
    """``names`` of the record with its derived fields, those not None, in that order
    (the record itself is not copied: a search page shapes 500 of them)."""
    out: Record = {}
    for name in names:
        derive = _DERIVED.get(name)
        value = record.get(name) if derive is None else derive(record, v3)
        if value is not None:
            out[name] = value
    return out


def contact(record: Record, *, v3: bool = False) -> Record:
    """``GetContectByIdSchema`` (GET, PUT and upsert responses)."""
    return _pick(record, v3, _GET_FIELDS)


def created_contact(record: Record, *, v3: bool = False) -> Record:
    """``CreateContactSchema``: no ``name``/``timezone`` (v2); the full contact in v3."""
    if v3:
        return contact(record, v3=True)
    return _pick(record, v3, _CREATE_FIELDS)


def listed_contact(record: Record) -> Record:
    """``ContactsSearchSchema``: one item of the deprecated ``GET /contacts/``."""
    return _pick(record, False, _LIST_FIELDS)


def searched_contact(record: Record, cursor: list[Any], *, v3: bool = False) -> Record:
    """One item of ``POST /contacts/search`` with its ``searchAfter`` cursor.

    ``dndSettings`` is left out, as live results leave it out (reference §5.6, I#43).
    """
    shaped = _pick(record, v3, _SEARCH_FIELDS)
    shaped["searchAfter"] = cursor
    return shaped
