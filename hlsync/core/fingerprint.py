"""Fingerprints: what a saved plan remembers of each object it will touch.

``fingerprint(obj, compared)`` is the sha256 of the canonical JSON of the data the
planner compares, or ``"absent"``. The applier re-reads each object and recomputes it;
a different value means someone changed the object after the plan was made, and the plan
is refused rather than applied over their change. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hlsync.core.model import JSONValue, Kind, Observed, ObservedState

ABSENT = "absent"  # the fingerprint of an object that does not exist


# One encoder for every call: ``json.dumps`` with options builds a new one each time,
# which costs as much as encoding a contact's view (a plan fingerprints every object).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False
).encode


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the same data always gives the same text."""
    return _CANONICAL(value)


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def fingerprint(obj: Observed | None, compared: tuple[str, ...] = ()) -> str:
    """sha256 of the canonical JSON of the object's ``view(compared)``, or ``"absent"``.

    Each observed class says what its view holds (the data the planner compares; for
    contacts only the ``compared`` paths). A pure function of the observed object: the
    applier recomputes it after re-reading to refuse a stale plan.
    """
    if obj is None:
        return ABSENT
    return "sha256:" + sha256_hex(obj.view(compared))


class LazyFingerprint:
    """``fingerprint(obj, compared)``, worked out the first time it is read.

    A plan of 100,000 unchanged contacts records one per contact, but only a saved
    plan (or a JSON one) reads them: hashing them all up front was half of planning.
    It equals, and hashes as, its text, so a change holding one compares with a change
    holding the text (a plan loaded from its file). The observed object is immutable:
    the text is the one it had when planned."""

    __slots__ = ("_compared", "_obj", "_text")

    def __init__(self, obj: Observed, compared: tuple[str, ...]) -> None:
        self._obj: Observed | None = obj
        self._compared = compared
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = fingerprint(self._obj, self._compared)
            self._obj = None  # the text is all that is needed now
        return self._text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyFingerprint | str):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return repr(str(self))


def observed_value(obj: Observed, path: str) -> JSONValue:
    """The current value at a :class:`FieldChange` path of an observed object."""
    return obj.value_at(path)


def find_observed(
    observed: ObservedState, kind: Kind, location: str | None, key: str
) -> Observed | None:
    """The object (kind, location, key) in ``observed``, or None when it is absent."""
    if location is None:
        if kind == "integration":
            return observed.agency_integrations.get(key)
        return None
    loc = observed.locations.get(location)
    return None if loc is None else loc.find(kind, key)
