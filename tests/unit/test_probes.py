"""The probe table and what an answer means (no HTTP: tests/integration/
test_probe_order.py sends them to the emulator)."""

from __future__ import annotations

import pytest

from hlsync.core.catalog import load_catalog
from hlsync.emulator.resources import contacts, custom_fields, custom_values, tags
from hlsync.live.probes import FOREIGN, LOCATION, PROBES, probe_for

# the scope catalog (reference [SC]) lacks POST /contacts/search; reference §2.3's
# resolved table gives it contacts.readonly
NOT_IN_CATALOG = {"contacts.readonly": "POST /contacts/search"}
# what each write probe creates, as the emulator declares the create DTO
CREATE_DTOS = {
    "contacts.write": contacts.CREATE_CONTACT,
    "locations/customFields.write": custom_fields.RESOURCE.create_dto,
    "locations/customValues.write": custom_values.RESOURCE.create_dto,
    "locations/tags.write": tags.RESOURCE.create_dto,
}


@pytest.mark.parametrize("scope", sorted(PROBES))
def test_each_probe_uses_an_endpoint_of_its_own_scope(scope: str) -> None:
    probe = PROBES[scope]
    assert probe.scope == scope
    catalogued = load_catalog().get(scope)
    assert catalogued is not None
    endpoints = {
        str(e).replace(":locationId", LOCATION).rstrip("/")
        for e in catalogued.endpoints
    }
    assert probe.shown.rstrip("/") in endpoints or NOT_IN_CATALOG[scope] == probe.shown
    assert LOCATION in probe.path or LOCATION in (probe.body or {}).values()


@pytest.mark.parametrize("scope", sorted(CREATE_DTOS))
def test_write_probes_cannot_be_valid_bodies(scope: str) -> None:
    """A write probe is a create with a property no DTO has, and without a required
    field or with a wrong type: two reasons to refuse it, either one enough."""
    probe = PROBES[scope]
    dto = CREATE_DTOS[scope]
    assert probe.writes and probe.method == "POST"
    body = probe.body_for("LOC") or {}
    assert body[FOREIGN] is True and FOREIGN not in dto
    required = {name for name, prop in dto.items() if prop.required}
    missing = required - set(body)
    wrong = [k for k, v in body.items() if k in dto and dto[k].kind == "object"]
    assert missing or wrong, f"{scope}: only the foreign property stops it"
    assert {k for k in PROBES if PROBES[k].writes} == set(CREATE_DTOS)


def test_verdicts() -> None:
    read, write = PROBES["locations/tags.readonly"], PROBES["locations/tags.write"]
    scope = "The token is not authorized for this scope."
    for probe in (read, write):
        assert probe.verdict(401, scope) == "missing"
        assert probe.verdict(401, "Invalid JWT") == "refused"
        assert probe.verdict(401, None) == "refused"
        assert probe.verdict(403, "no access to this location") == "refused"
        assert probe.verdict(404, "Cannot GET") is None
        assert probe.verdict(500, "boom") is None
    assert read.verdict(200, None) == "held"
    assert read.verdict(422, "bad") is None  # a read refused for its body: no verdict
    assert write.verdict(200, None) == write.verdict(201, None) == "accepted"
    assert write.verdict(422, "name should not be empty") == "held"
    assert write.verdict(400, "Bad Request") == "held"


def test_an_agency_token_is_probed_only_where_it_can_be() -> None:
    assert probe_for("locations.readonly", agency=True) is PROBES["locations.readonly"]
    assert probe_for("contacts.write", agency=True) is None
    assert probe_for("contacts.write", agency=False) is PROBES["contacts.write"]
    assert probe_for("users.readonly", agency=False) is None
