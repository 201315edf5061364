"""Fingerprints: what a saved plan remembers of each object it will touch.

``fingerprint(obj, compared)`` is the sha256 of the canonical JSON of the data the
planner compares, or ``"absent"``. The applier re-reads each object and recomputes it;
a different value means someone changed the object after the plan was made, and the plan
is refused rather than applied over their change. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from hlsync.core.model import (
    JSONValue,
    ObservedContact,
    ObservedCustomField,
    ObservedIntegration,
    ObservedState,
    ObservedTag,
)

ABSENT = "absent"  # the fingerprint of an object that does not exist

Observed = ObservedIntegration | ObservedCustomField | ObservedTag | ObservedContact


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the same data always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def observed_view(obj: Observed, compared: tuple[str, ...] = ()) -> dict[str, Any]:
    """The data of an observed object that the planner compares.

    For contacts only the ``compared`` paths count (declared fields only, DESIGN.md §3),
    so a UI user editing an undeclared field does not make a saved plan stale: a field
    name (``firstName``), ``customFields.<key>``, ``tags`` (the whole set, for exclusive
    tag lists) or ``tags.<name>`` (presence of one tag, case-insensitive).
    """
    if isinstance(obj, ObservedIntegration):
        return {
            "id": obj.id,
            "name": obj.name,
            "description": obj.description,
            "scopes": sorted(obj.scopes),
            "created_at": obj.created_at,
            "rotated_at": obj.rotated_at,
            "old_token_expires_at": obj.old_token_expires_at,
        }
    if isinstance(obj, ObservedCustomField):
        return {
            "id": obj.id,
            "key": obj.key,
            "name": obj.name,
            "data_type": obj.data_type,
            "options": list(obj.options),
            "placeholder": obj.placeholder,
        }
    if isinstance(obj, ObservedTag):
        return {"id": obj.id, "name": obj.name}
    view: dict[str, Any] = {"id": obj.id, "key": obj.key}
    present = {t.casefold() for t in obj.tags}
    for path in compared:
        if path == "tags":
            view[path] = sorted(obj.tags)
        elif path.startswith("tags."):
            view[path] = path[5:].casefold() in present
        elif path.startswith("customFields."):
            view[path] = obj.custom_fields.get(path[13:])
        else:
            view[path] = obj.fields.get(path)
    return view


def fingerprint(obj: Observed | None, compared: tuple[str, ...] = ()) -> str:
    """sha256 of the canonical JSON of :func:`observed_view`, or ``"absent"``.

    A pure function of the observed object (and, for contacts, the change's
    ``compared`` paths): the applier recomputes it after re-reading to refuse a stale plan.
    """
    if obj is None:
        return ABSENT
    return "sha256:" + sha256_hex(observed_view(obj, compared))


def observed_value(obj: Observed, path: str) -> JSONValue:
    """The current value at a :class:`FieldChange` path of an observed object."""
    if isinstance(obj, ObservedContact):
        if path == "tags":
            return sorted(obj.tags)
        head, _, rest = path.partition(".")
        if head == "customFields":
            return obj.custom_fields.get(rest)
        value: JSONValue = obj.fields.get(head)
        for part in rest.split(".") if rest else ():
            if isinstance(value, Mapping):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return None
        return value
    return observed_view(obj).get(path)


def find_observed(
    observed: ObservedState, kind: str, location: str | None, key: str
) -> Observed | None:
    """The object (kind, location, key) in ``observed``, or None when it is absent."""
    if location is None:
        if kind == "integration":
            return observed.agency_integrations.get(key)
        return None
    loc = observed.locations.get(location)
    if loc is None:
        return None
    if kind == "integration":
        return loc.integrations.get(key)
    if kind == "custom_field":
        return loc.custom_fields.get(key)
    if kind == "contact":
        return loc.contacts.get(key)
    wanted = key.casefold()
    return next((t for n, t in loc.tags.items() if n.casefold() == wanted), None)
