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


def _derived(record: Record, v3: bool) -> Record:
    """The derived and defaulted output fields of a record (they win over its own)."""
    name = full_name(record)
    email = record.get("email")
    dob = record.get("dateOfBirth")
    first = record.get("firstName")
    last = record.get("lastName")
    out: Record = {
        "name": name,
        "contactName": name,
        "emailLowerCase": email.lower() if email else None,
        "firstNameLowerCase": first.lower() or None if first else None,
        "lastNameLowerCase": last.lower() or None if last else None,
        "fullNameLowerCase": name.lower() if name else None,
        "address": record.get("address1"),
        "deleted": False,
        "bounceEmail": False,
        "unsubscribeEmail": False,
        "followers": record.get("followers") or [],
        "additionalEmails": [],
        "additionalPhones": [],
    }
    if isinstance(dob, str) and len(dob) >= 10:
        # upstream reports a zero-based month (JavaScript getMonth): 09-25 → 8, 25
        out["birthMonth"] = int(dob[5:7]) - 1
        out["birthDay"] = int(dob[8:10])
    if v3 and isinstance(record.get("dndSettings"), dict):
        out["dndSettings"] = {
            DND_CHANNELS_V3[DND_CHANNELS_V2.index(k)]: v
            for k, v in record["dndSettings"].items()
        }
    return out


def _pick(record: Record, v3: bool, names: tuple[str, ...]) -> Record:
    """``names`` of the record with its derived fields, those not None, in that order
    (the record itself is not copied: a search page shapes 500 of them)."""
    derived = _derived(record, v3)
    out: Record = {}
    for name in names:
        value = derived[name] if name in derived else record.get(name)
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
