"""The probes ``hlsync verify`` sends: one request per scope, none that can change data.

A token's scopes cannot be read back from HighLevel (reference §7.2): the only signal is
``401 The token is not authorized for this scope.`` So each scope has one probe, a
request whose route needs exactly that scope (the scope catalog's endpoints, reference
§2.3), and the answer says whether the token holds it:

* a **read** scope (``.readonly``) is probed with a read: 2xx means held;
* a **write** scope is probed with a request the upstream must refuse *for its body*:
  a create that leaves out a field the create requires (or, for a contact, whose only
  required field is the location, gives an object field as a string), and carries a
  property no DTO has (upstream refuses unknown properties, 422 ``"property X should
  not exist"``, reference §3): two reasons to refuse it, either one enough. 400 or 422
  means held: the body was looked at, so the scope was granted first. No such body
  can be accepted, so nothing is written.

The assumption (written down because everything rests on it): **upstream checks a
request's guards before it validates the body** — the token, then the scope, then the
location, then the body — as NestJS runs guards before pipes. A missing scope
therefore answers 401 whatever the body, and a held one never gets past the body. The
emulator checks in that order too (``emulator/auth.require`` before
``validation.check_body``), so ``verify`` means the same against it as upstream;
``tests/integration/test_probe_order.py`` proves the order, that every probe's route is
served and that no probe writes. Should a write probe ever be accepted (2xx),
``verify`` stops with an error naming it instead of calling the scope held.

Every probe names its location (in the path or the body), so a token of another
location is refused (403), never mistaken for a held scope. An agency token probes
only ``locations.readonly`` (on the first declared location). Scopes without a probe
here are reported as not verifiable.

Pure data and decisions: the requests are sent by :mod:`hlsync.live.verify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

LOCATION = "{locationId}"  # stands for the probed location's id, in paths and bodies
# a property no HighLevel DTO has: upstream refuses a body that carries it (422)
FOREIGN = "hlsyncScopeProbe"
NOT_AUTHORIZED = "not authorized for this scope"
HELD_STATUSES = frozenset({400, 422})

Verdict = Literal["held", "missing", "refused", "accepted"]


@dataclass(frozen=True, slots=True)
class Probe:
    """One request: ``path`` and ``body`` may hold :data:`LOCATION`."""

    scope: str
    method: str
    path: str
    body: Mapping[str, Any] | None = None

    @property
    def writes(self) -> bool:
        """A write probe: must be refused for its body (module docstring)."""
        return not self.scope.endswith(".readonly")

    @property
    def shown(self) -> str:
        """``POST /locations/{locationId}/tags``: how a report names the probe."""
        return f"{self.method} {self.path}"

    def path_for(self, location_id: str) -> str:
        return self.path.replace(LOCATION, location_id)

    def body_for(self, location_id: str) -> dict[str, Any] | None:
        if self.body is None:
            return None
        return {k: location_id if v == LOCATION else v for k, v in self.body.items()}

    def verdict(self, status: int, message: str | None) -> Verdict | None:
        """What an answer means: ``held``, ``missing`` (401 not authorized for this
        scope), ``refused`` (another 401 or a 403: the token itself is refused),
        ``accepted`` (a write probe answered 2xx: the assumption broke), or None when
        the answer says nothing about the scope (a 404, a 5xx: an error to report)."""
        if status == 401 and NOT_AUTHORIZED in (message or "").lower():
            return "missing"
        if status in (401, 403):
            return "refused"
        if 200 <= status < 300:
            return "accepted" if self.writes else "held"
        if self.writes and status in HELD_STATUSES:
            return "held"
        return None


def _read(scope: str, method: str, path: str, **body: Any) -> Probe:
    return Probe(scope, method, path, body or None)


def _create(scope: str, path: str, **fields: Any) -> Probe:
    """A create the upstream must refuse for its body: ``fields`` (never the ones it
    requires) plus :data:`FOREIGN`."""
    return Probe(scope, "POST", path, {**fields, FOREIGN: True})


_ITEMS = "/locations/{locationId}/"
PROBES: Mapping[str, Probe] = {
    p.scope: p
    for p in (
        _read(
            "contacts.readonly",
            "POST",
            "/contacts/search",
            locationId=LOCATION,
            pageLimit=1,
        ),
        # only locationId is required, so the body also gives dndSettings, an object
        # in the DTO, as a string: refused for two reasons, either one enough
        _create("contacts.write", "/contacts/", locationId=LOCATION, dndSettings="-"),
        _read("locations.readonly", "GET", "/locations/{locationId}"),
        _read("locations/customFields.readonly", "GET", _ITEMS + "customFields"),
        _create("locations/customFields.write", _ITEMS + "customFields"),  # no name
        _read("locations/customValues.readonly", "GET", _ITEMS + "customValues"),
        _create("locations/customValues.write", _ITEMS + "customValues"),  # no name
        _read("locations/tags.readonly", "GET", _ITEMS + "tags"),
        _create("locations/tags.write", _ITEMS + "tags"),  # no name
    )
}
AGENCY_PROBES = frozenset({"locations.readonly"})


def probe_for(scope: str, *, agency: bool) -> Probe | None:
    """The probe of ``scope`` for a token of that level, or None when there is none."""
    if agency and scope not in AGENCY_PROBES:
        return None
    return PROBES.get(scope)
