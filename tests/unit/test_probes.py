"""The probe tables and what an answer means (no HTTP: tests/integration/
test_probe_order.py sends every probe to the emulator).

The endpoints and request schemas are the scope gate's data (``data/scope_routes.json``,
from the official OpenAPI files): each probe must use an endpoint of its own scope, at
its level, send the Version it declares, and, for a write, carry a body that schema
refuses for two reasons (or name an object that cannot exist)."""

from __future__ import annotations

import re

import pytest

from hlsync.core.catalog import LEVELS, Level, load_catalog
from hlsync.emulator.scope_gate import GateRoute, gate_routes
from hlsync.emulator.validation import Prop, check_value
from hlsync.live.probes import (
    AGENCY_PROBES,
    COMPANY,
    FOREIGN,
    LOCATION,
    NO_SUCH,
    PROBES,
    Probe,
    probe_for,
)

# the scope catalog (reference [SC]) lacks POST /contacts/search; reference §2.3's
# resolved table gives it contacts.readonly
NOT_IN_CATALOG = {"contacts.readonly": "POST /contacts/search"}
# probes whose request names neither the location nor the company (module docstring)
ANONYMOUS = {
    *(
        ("sub-account", scope)
        for scope in (
            "conversations/message.write",
            "medias.write",
            "objects/record.readonly",
        )
    ),
    *(
        (level, scope)
        for level in LEVELS
        for scope in ("saas/location.read", "users.write")
    ),
    *(
        ("agency", scope)
        for scope in ("oauth.readonly", "snapshots.readonly", "users.readonly")
    ),
}
TABLES = {"sub-account": PROBES, "agency": AGENCY_PROBES}
CASES = [(level, scope) for level in LEVELS for scope in sorted(TABLES[level])]
ANY = Prop("any")


def _gate(probe: Probe, level: Level) -> GateRoute | None:
    """The catalog endpoint of the probe's scope and level its request reaches."""
    path = probe.path_for("LOC", "COMP")
    for gate in gate_routes():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", gate.path.rstrip("/")) + "/?"
        if (
            gate.scope == probe.scope
            and gate.method == probe.method
            and level in gate.levels
            and re.fullmatch(pattern, path)
        ):
            return gate
    return None


@pytest.mark.parametrize("level", LEVELS)
def test_every_catalog_scope_has_exactly_one_probe_at_each_of_its_levels(
    level: Level,
) -> None:
    """Fails when the catalog gains a scope (or a level) without a probe."""
    table = TABLES[level]
    assert sorted(table) == sorted(s.name for s in load_catalog().select(level=level))
    assert all(probe.scope == scope for scope, probe in table.items())
    for scope in table:
        assert probe_for(scope, agency=level == "agency") is table[scope]


@pytest.mark.parametrize(("level", "scope"), CASES)
def test_each_probe_uses_an_endpoint_of_its_own_scope(level: Level, scope: str) -> None:
    probe = TABLES[level][scope]
    gate = _gate(probe, level)
    if gate is None:
        assert NOT_IN_CATALOG[scope] == probe.shown
        return
    assert probe.version in gate.versions
    for name in gate.query if not probe.writes else ():
        assert name in probe.query or scope in QUERY_LEFT_SHORT, name
    if scope in QUERY_LEFT_SHORT:
        assert set(gate.query) - set(probe.query), "nothing left out"
    named = probe.names_location or probe.needs_company
    assert named != ((level, scope) in ANONYMOUS)


# reads whose list answer would need a value nothing can stand for: a required
# query parameter is left out instead (refused for its query, after the scope check)
QUERY_LEFT_SHORT = {
    "blogs/check-slug.readonly",
    "funnels/page.readonly",
    "oauth.readonly",
    "payments/integration.readonly",
    "saas/location.read",
    "snapshots.readonly",
}


@pytest.mark.parametrize(("level", "scope"), CASES)
def test_a_write_probe_is_refused_for_two_reasons(level: Level, scope: str) -> None:
    """The foreign property, plus a required field missing or of the wrong kind, or
    an object that cannot exist; the one DELETE (of what cannot exist) excepted."""
    probe = TABLES[level][scope]
    if not probe.writes:
        assert probe.method in ("GET", "POST")
        return
    if probe.method == "DELETE":
        assert probe.no_such_object and probe.body is None
        assert scope == "socialplanner/account.write"
        return
    gate = _gate(probe, level)
    assert gate is not None and gate.body is not None
    body = probe.body_for("LOC", "COMP") or {}
    assert body[FOREIGN] is True and FOREIGN not in gate.body
    required = {name for name, prop in gate.body.items() if prop.required}
    wrong = [k for k, v in body.items() if check_value(k, v, gate.body.get(k, ANY))]
    assert required - set(body) or wrong or probe.no_such_object, scope
    assert not [v for v in body.values() if v in (LOCATION, COMPANY)]


def test_verdicts() -> None:
    read, write = PROBES["locations/tags.readonly"], PROBES["locations/tags.write"]
    scope = "The token is not authorized for this scope."
    for probe in (read, write):
        assert probe.verdict(401, scope) == "missing"
        assert probe.verdict(401, "Invalid JWT") == "refused"
        assert probe.verdict(401, None) == "refused"
        assert probe.verdict(403, "no access to this location") == "refused"
        assert probe.verdict(404, "Cannot GET /locations/x/tags") is None
        assert probe.verdict(400, "Version header value 'x' is not supported") is None
        assert probe.verdict(500, "boom") is None
    assert read.verdict(200, None) == "held"
    assert read.verdict(422, "limit should not be empty") == "held"
    assert read.verdict(404, "tagId x not found") == "held"
    assert write.verdict(200, None) == write.verdict(201, None) == "accepted"
    assert write.verdict(422, "name should not be empty") == "held"
    assert write.verdict(400, "Bad Request") == "held"
    assert write.verdict(404, "Not found") is None  # names no object: unexplained
    gone = PROBES["products/prices.write"]
    assert gone.no_such_object and gone.verdict(404, "productId x not found") == "held"
    assert gone.verdict(201, None) == "accepted"
    delete = PROBES["socialplanner/account.write"]
    assert delete.verdict(200, None) == "held"  # nothing could be deleted


def test_placeholders_are_filled_everywhere() -> None:
    probe = PROBES["saas/company.write"]
    assert probe.needs_company and not probe.names_location
    assert probe.path_for("LOC", "COMP").endswith("/bulk-disable-saas/COMP")
    assert probe.body_for("LOC", "COMP") == {"locationIds": "", FOREIGN: True}
    invoices = PROBES["invoices.readonly"]
    assert invoices.query_for("LOC") == {
        "altId": "LOC",
        "altType": "location",
        "limit": "1",
        "offset": "0",
    }
    assert NO_SUCH in PROBES["socialplanner/post.readonly"].path


def test_the_levels_differ_only_where_an_endpoint_does() -> None:
    differ = {
        scope
        for scope, probe in AGENCY_PROBES.items()
        if scope in PROBES and PROBES[scope] != probe
    }
    assert differ == {"users.readonly", "saas/location.write"}
    assert probe_for("contacts.write", agency=True) is None
    assert probe_for("snapshots.readonly", agency=False) is None
