"""A contact's activity: what upstream records about a contact from other parts of the
product, which the contacts API cannot write, but search filters on and read routes show.

Tests set it through the admin API (``PATCH /_emulator/contacts/{contactId}/activity``)
or in the lines of a bulk load; :func:`activity_fields` checks such a body and returns
the store form (``None`` clears a field). Keys:

=====================  =====================================================================
``followers``          user ids following the contact (search ``followers``)
``validEmail``         email validation's verdict (``true``/``false``)
``isValidWhatsapp``    WhatsApp validation's verdict
``activeWorkflows``    workflow ids the contact is in
``finishedWorkflows``  workflow ids the contact finished
``lastEmailClickedDate``, ``lastEmailOpenedDate``, ``lastAppointment``: ISO 8601 times
                       or epoch milliseconds, kept as ``2026-01-02T03:04:05.678Z``
``businessId``         the business the contact belongs to (``GET /contacts/business/…``)
``opportunities``      ``[{id?, pipelineId, pipelineStageId, status, monetaryValue?}]``
                       (the ``opportunities`` nested search filter)
``tasks``              ``[{id?, title, body?, assignedTo?, dueDate?, completed?}]``
``notes``              ``[{id?, body, userId?, title?, color?, pinned?, dateAdded?}]``
``appointments``       ``[{id?, calendarId, startTime, endTime, title?, status?,
                       appointmentStatus?, assignedUserId?, notes?, address?, users?}]``
=====================  =====================================================================

Items without an ``id`` get one; times must parse as ISO 8601.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from hlsync.emulator.itemstore import new_id
from hlsync.emulator.search_query import to_millis

Record = dict[str, Any]

OPPORTUNITY_STATUSES = ("open", "won", "lost", "abandoned")
_STRINGS = "must be an array of strings"


def iso_from_millis(millis: float) -> str:
    when = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _strings(value: Any, where: str, problems: list[str]) -> Any:
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return list(dict.fromkeys(value))
    problems.append(f"{where} {_STRINGS}")
    return None


def _boolean(value: Any, where: str, problems: list[str]) -> Any:
    if isinstance(value, bool):
        return value
    problems.append(f"{where} must be a boolean value")
    return None


def _instant(value: Any, where: str, problems: list[str]) -> Any:
    millis = to_millis(value) if not isinstance(value, bool) else None
    if millis is None:
        problems.append(f"{where} must be an ISO 8601 time or epoch milliseconds")
        return None
    return iso_from_millis(millis)


def _text(value: Any, where: str, problems: list[str]) -> Any:
    if isinstance(value, str) and value:
        return value
    problems.append(f"{where} must be a non-empty string")
    return None


def _time_text(value: Any, where: str, problems: list[str]) -> Any:
    """A time kept as written (the spec's examples mix ``T`` and space separators)."""
    if isinstance(value, str) and to_millis(value) is not None:
        return value
    problems.append(f"{where} must be an ISO 8601 time")
    return None


def _number(value: Any, where: str, problems: list[str]) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    problems.append(f"{where} must be a number")
    return None


def _status(value: Any, where: str, problems: list[str]) -> Any:
    if value in OPPORTUNITY_STATUSES:
        return value
    problems.append(f"{where} must be one of {', '.join(OPPORTUNITY_STATUSES)}")
    return None


Check = Callable[[Any, str, list[str]], Any]
# Per item kind: each property's check, and the required ones.
_ITEMS: dict[str, tuple[dict[str, Check], frozenset[str]]] = {
    "opportunities": (
        {
            "pipelineId": _text,
            "pipelineStageId": _text,
            "status": _status,
            "monetaryValue": _number,
        },
        frozenset({"pipelineId", "pipelineStageId", "status"}),
    ),
    "tasks": (
        {
            "title": _text,
            "body": _text,
            "assignedTo": _text,
            "dueDate": _time_text,
            "completed": _boolean,
        },
        frozenset({"title"}),
    ),
    "notes": (
        {
            "body": _text,
            "userId": _text,
            "title": _text,
            "color": _text,
            "pinned": _boolean,
            "dateAdded": _instant,
        },
        frozenset({"body"}),
    ),
    "appointments": (
        {
            "calendarId": _text,
            "startTime": _time_text,
            "endTime": _time_text,
            "title": _text,
            "status": _text,
            "appointmentStatus": _text,
            "assignedUserId": _text,
            "notes": _text,
            "address": _text,
            "users": _strings,
        },
        frozenset({"calendarId", "startTime", "endTime"}),
    ),
}


def _items(kind: str) -> Check:
    props, required = _ITEMS[kind]

    def check(value: Any, where: str, problems: list[str]) -> Any:
        if not isinstance(value, list):
            problems.append(f"{where} must be an array of objects")
            return None
        out: list[Record] = []
        for number, item in enumerate(value):
            here = f"{where}.{number}"
            if not isinstance(item, dict):
                problems.append(f"{here} must be an object")
                continue
            found = len(problems)
            problems.extend(
                f"property {here}.{k} should not exist"
                for k in item
                if k not in props and k != "id"
            )
            problems.extend(
                f"{here}.{k} should not be empty" for k in sorted(required - set(item))
            )
            shaped: Record = {
                "id": _text(item.get("id", new_id()), f"{here}.id", problems)
            }
            for key, prop in props.items():
                if key in item:
                    shaped[key] = prop(item[key], f"{here}.{key}", problems)
            if len(problems) == found:
                out.append(shaped)
        return out

    return check


FIELDS: dict[str, Check] = {
    "followers": _strings,
    "validEmail": _boolean,
    "isValidWhatsapp": _boolean,
    "activeWorkflows": _strings,
    "finishedWorkflows": _strings,
    "lastEmailClickedDate": _instant,
    "lastEmailOpenedDate": _instant,
    "lastAppointment": _instant,
    "businessId": _text,
    **{kind: _items(kind) for kind in _ITEMS},
}


def activity_fields(
    body: Mapping[str, Any], problems: list[str], prefix: str = ""
) -> Record:
    """The store form of the activity keys of ``body`` (``None`` clears a field);
    problems (``<prefix><key> must be …``) are appended, keys not in :data:`FIELDS`
    ignored (the caller decides what else a body may hold)."""
    out: Record = {}
    for key, check in FIELDS.items():
        if key not in body:
            continue
        value = body[key]
        out[key] = None if value is None else check(value, prefix + key, problems)
    return out
