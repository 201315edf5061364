"""hlsync.testing: the hlsync_emulator fixture and the Emulator handle it gives.

These tests use the fixture as another project would: the plugin is registered by the
installed package's entry point, not by this suite's conftest.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hlsync.errors import HlsyncError
from hlsync.testing import Emulator, EmulatorAdminError

pytestmark = pytest.mark.integration


def test_a_fresh_account_with_working_tokens(hlsync_emulator: Emulator) -> None:
    emulator = hlsync_emulator
    assert emulator.base_url.startswith("http://127.0.0.1:")
    location = emulator.location
    with emulator.client() as client:
        got = client.get(f"/locations/{location.id}")
        made = client.post(
            "/contacts/", json={"locationId": location.id, "email": "a@x.io"}
        )
    assert got.json()["location"]["id"] == location.id
    assert made.status_code == 201
    with emulator.client(emulator.agency_token) as agency:
        listed = agency.get("/locations/search").json()["locations"]
    assert [loc["id"] for loc in listed] == [location.id]
    shown = repr(emulator) + repr(location)
    assert location.token not in shown and emulator.agency_token not in shown


def test_each_test_gets_an_empty_account(hlsync_emulator: Emulator) -> None:
    with hlsync_emulator.client() as client:
        found = client.post(
            "/contacts/search",
            json={"locationId": hlsync_emulator.location.id, "pageLimit": 5},
        )
    assert found.json()["total"] == 0
    assert hlsync_emulator.requests()[0].route == "POST /contacts/search"


def test_integrations_hold_exactly_their_scopes(hlsync_emulator: Emulator) -> None:
    emulator = hlsync_emulator
    reader = emulator.create_integration(["contacts.readonly"], name="reader")
    assert reader.scopes == ("contacts.readonly",) and reader.token not in repr(reader)
    body = {"locationId": emulator.location.id, "email": "b@x.io"}
    with emulator.client(reader.token) as client:
        refused = client.post("/contacts/", json=body)
        allowed = client.post(
            "/contacts/search",
            json={"locationId": emulator.location.id, "pageLimit": 1},
        )
    assert refused.status_code == 401 and allowed.status_code == 200
    rotated = emulator.rotate_integration(reader, now=True)
    with emulator.client(reader.token) as old, emulator.client(rotated.token) as new:
        assert old.get(f"/contacts/{'x' * 20}").status_code == 401
        assert new.get(f"/contacts/{'x' * 20}").status_code == 400  # not found
    second = emulator.create_location(
        "Second", settings={"allowDuplicateContact": True}
    )
    agency = emulator.create_integration(["locations.readonly"], agency=True)
    with emulator.client(agency.token) as client:
        assert client.get(f"/locations/{second.id}").status_code == 200
    emulator.delete_integration(agency)
    with emulator.client(agency.token) as client:
        assert client.get(f"/locations/{second.id}").status_code == 401


def test_clock_faults_limits_and_the_log(hlsync_emulator: Emulator) -> None:
    emulator = hlsync_emulator
    assert (
        emulator.set_clock("2026-05-01T09:00:00Z")
        .isoformat()
        .startswith("2026-05-01T09:00:00")
    )
    emulator.set_limits(burst_max=3)
    with emulator.client() as client:
        statuses = [client.get(f"/locations/{emulator.location.id}") for _ in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        emulator.advance_clock(10)  # the burst window follows the emulator's clock
        assert client.get(f"/locations/{emulator.location.id}").status_code == 200
        emulator.set_faults({"route": "GET /locations/{locationId}", "errorRate": 1.0})
        assert client.get(f"/locations/{emulator.location.id}").status_code == 503
        emulator.clear_faults()
    log = emulator.requests()
    assert [entry.status for entry in log] == [200, 200, 200, 429, 200, 503]
    assert emulator.requests(status=429)[0].time == "2026-05-01T09:00:00.000Z"
    assert emulator.stats()["byStatus"] == {"200": 4, "429": 1, "503": 1}
    emulator.clear_requests()
    assert emulator.requests() == []
    emulator.real_clock()


def test_bulk_load_and_activity(hlsync_emulator: Emulator) -> None:
    emulator = hlsync_emulator
    ids = emulator.load_contacts(
        {"email": f"m{n}@x.io", "firstName": f"M{n}"} for n in range(2500)
    )
    assert len(ids) == 2500
    emulator.set_activity(ids[7], followers=["user1"], validEmail=True)
    with emulator.client() as client:
        found = client.post(
            "/contacts/search",
            json={
                "locationId": emulator.location.id,
                "pageLimit": 10,
                "filters": [{"field": "followers", "operator": "eq", "value": "user1"}],
            },
        ).json()
    assert [c["email"] for c in found["contacts"]] == ["m7@x.io"]
    with pytest.raises(EmulatorAdminError) as refused:
        emulator.load_contacts([{"email": "not an email"}])
    assert "line 1: email must be an email" in str(refused.value)


def test_attach_to_a_served_emulator_by_its_tokens_file(
    hlsync_emulator: Emulator, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(
        json.dumps(
            {
                "baseUrl": hlsync_emulator.base_url,
                "agency": {
                    "companyId": hlsync_emulator.company_id,
                    "token": hlsync_emulator.agency_token,
                },
                "locations": [
                    {
                        "id": hlsync_emulator.location.id,
                        "name": "Test location",
                        "token": hlsync_emulator.location.token,
                    }
                ],
            }
        )
    )
    attached = Emulator.from_tokens_file(tokens)
    try:
        with attached.client() as client:
            assert client.get(f"/locations/{attached.location.id}").status_code == 200
    finally:
        attached.close()
    tokens.write_text("{}")
    with pytest.raises(HlsyncError, match="not a tokens file"):
        Emulator.from_tokens_file(tokens)


def test_an_unreachable_emulator_is_one_clear_error() -> None:
    from hlsync.testing.emulator import Location

    gone = Emulator(
        "http://127.0.0.1:9",
        company_id="c",
        agency_token="pit-secret-agency",
        location=Location("l", "L", "c", "pit-secret-location"),
    )
    try:
        with pytest.raises(EmulatorAdminError) as caught:
            gone.now()
    finally:
        gone.close()
    assert "GET /_emulator/clock: the emulator did not answer" in str(caught.value)
    assert "secret" not in str(caught.value)
    assert caught.value.__cause__ is None  # no traceback chain of the connection
