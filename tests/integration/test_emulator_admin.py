"""The admin API, auth, rate limits, faults and the request log over real HTTP."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.emulator_fixtures import LOCATION_A, LOCATION_B, LiveEmulator

pytestmark = pytest.mark.integration

T0 = "2026-05-01T09:00:00Z"
RATE_HEADERS = (
    "x-ratelimit-limit-daily",
    "x-ratelimit-daily-remaining",
    "x-ratelimit-interval-milliseconds",
    "x-ratelimit-max",
    "x-ratelimit-remaining",
)


def _create_contact(
    emulator: LiveEmulator, email: str, location_id: str = LOCATION_A
) -> str:
    with emulator.client(emulator.token(location_id)) as client:
        response = client.post(
            "/contacts/", json={"locationId": location_id, "email": email}
        )
    assert response.status_code == 201, response.text
    contact_id: str = response.json()["contact"]["id"]
    return contact_id


def _integration(
    admin: httpx.Client, scopes: list[str], location_id: str = LOCATION_A
) -> tuple[str, str]:
    response = admin.post(
        "/_emulator/integrations",
        json={"name": "crm sync", "locationId": location_id, "scopes": scopes},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["integration"]["id"], body["token"]


def _get(emulator: LiveEmulator, token: str, path: str) -> httpx.Response:
    with emulator.client(token) as client:
        return client.get(path)


def test_provisioning_and_settings(emulator: LiveEmulator) -> None:
    with emulator.client() as admin:
        made = admin.post(
            "/_emulator/locations",
            json={"companyId": emulator.company_id, "name": "Charlie"},
        )
        assert made.status_code == 201
        location = made.json()["location"]
        token = made.json()["token"]
        assert location["companyId"] == emulator.company_id
        patched = admin.patch(
            f"/_emulator/locations/{location['id']}/settings",
            json={"allowDuplicateContact": True},
        )
        assert patched.json()["location"]["settings"]["allowDuplicateContact"] is True
        listed = admin.get("/_emulator/locations").json()["locations"]
        assert [loc["id"] for loc in listed][-1] == location["id"]
        missing = admin.post(
            "/_emulator/locations", json={"companyId": "nope", "name": "X"}
        )
        assert missing.status_code == 404
        agency = admin.post("/_emulator/agencies", json={"id": "agencyTwo"})
        assert agency.status_code == 201 and agency.json()["token"].startswith("pit-")
        again = admin.post("/_emulator/agencies", json={"id": "agencyTwo"})
        assert again.status_code == 409
        bad = admin.post("/_emulator/agencies", json={"id": "x", "colour": "red"})
        assert bad.status_code == 422
        assert bad.json()["message"] == ["property colour should not exist"]
    contact_id = _create_contact_with(emulator, token, location["id"])
    assert _get(emulator, token, f"/contacts/{contact_id}").status_code == 200


def _create_contact_with(emulator: LiveEmulator, token: str, location_id: str) -> str:
    with emulator.client(token) as client:
        response = client.post(
            "/contacts/", json={"locationId": location_id, "email": "c@example.com"}
        )
    assert response.status_code == 201, response.text
    contact_id: str = response.json()["contact"]["id"]
    return contact_id


def test_integration_lifecycle_with_clock(emulator: LiveEmulator) -> None:
    contact_id = _create_contact(emulator, "life@example.com")
    path = f"/contacts/{contact_id}"
    with emulator.client() as admin:
        admin.post("/_emulator/clock", json={"set": T0})
        integration_id, first = _integration(admin, ["contacts.readonly"])
        assert _get(emulator, first, path).status_code == 200

        listed = admin.get("/_emulator/integrations").text
        shown = admin.get(f"/_emulator/integrations/{integration_id}").text
        assert first not in listed and first not in shown

        edited = admin.patch(
            f"/_emulator/integrations/{integration_id}",
            json={"description": "nightly", "scopes": ["contacts.write"]},
        )
        assert edited.json()["integration"]["scopes"] == ["contacts.write"]
        assert _get(emulator, first, path).status_code == 401  # readonly removed
        admin.patch(
            f"/_emulator/integrations/{integration_id}",
            json={"scopes": ["contacts.readonly"]},
        )
        assert _get(emulator, first, path).status_code == 200  # same token kept

        rotated = admin.post(
            f"/_emulator/integrations/{integration_id}/rotate", json={}
        )
        assert rotated.status_code == 201
        second = rotated.json()["token"]
        assert rotated.json()["integration"]["rotationPending"] is True
        assert _get(emulator, first, path).status_code == 200
        assert _get(emulator, second, path).status_code == 200
        admin.post("/_emulator/clock", json={"advance": 7 * 86400 - 1})
        assert _get(emulator, first, path).status_code == 200
        admin.post("/_emulator/clock", json={"advance": 1})
        dead = _get(emulator, first, path)
        assert dead.status_code == 401
        assert dead.json() == {"statusCode": 401, "message": "Invalid JWT"}
        assert _get(emulator, second, path).status_code == 200

        third = admin.post(
            f"/_emulator/integrations/{integration_id}/rotate",
            json={"mode": "later", "overlapDays": 1},
        ).json()["token"]
        cancel = admin.post(f"/_emulator/integrations/{integration_id}/cancel-rotation")
        assert cancel.status_code == 200
        assert _get(emulator, second, path).status_code == 200
        assert _get(emulator, third, path).status_code == 401
        again = admin.post(f"/_emulator/integrations/{integration_id}/cancel-rotation")
        assert again.status_code == 409

        fourth = admin.post(
            f"/_emulator/integrations/{integration_id}/rotate", json={"mode": "later"}
        ).json()["token"]
        expire = admin.post(f"/_emulator/integrations/{integration_id}/expire-old")
        assert expire.status_code == 200
        assert _get(emulator, second, path).status_code == 401
        assert _get(emulator, fourth, path).status_code == 200

        fifth = admin.post(
            f"/_emulator/integrations/{integration_id}/rotate", json={"mode": "now"}
        ).json()["token"]
        assert _get(emulator, fourth, path).status_code == 401
        assert _get(emulator, fifth, path).status_code == 200

        assert admin.delete(f"/_emulator/integrations/{integration_id}").is_success
        assert _get(emulator, fifth, path).status_code == 401
        gone = admin.get(f"/_emulator/integrations/{integration_id}")
        assert gone.status_code == 404


def test_token_check_says_whether_a_token_is_the_integrations_current_one(
    emulator: LiveEmulator,
) -> None:
    def check(admin: httpx.Client, integration_id: str, token: str) -> Any:
        digest = hashlib.sha256(token.encode()).hexdigest()
        path = f"/_emulator/integrations/{integration_id}/token-check"
        answer = admin.post(path, json={"sha256": digest})
        assert answer.status_code == 200, answer.text
        return answer.json()

    with emulator.client() as admin:
        integration_id, first = _integration(admin, ["contacts.readonly"])
        _, other = _integration(admin, ["contacts.readonly"], LOCATION_B)
        assert check(admin, integration_id, first) == {"live": True, "current": True}
        assert check(admin, integration_id, other) == {"live": False, "current": False}
        second = admin.post(
            f"/_emulator/integrations/{integration_id}/rotate", json={}
        ).json()["token"]
        assert check(admin, integration_id, first) == {"live": True, "current": False}
        assert check(admin, integration_id, second) == {"live": True, "current": True}
        admin.post(f"/_emulator/integrations/{integration_id}/expire-old")
        assert check(admin, integration_id, first) == {"live": False, "current": False}
        bad = admin.post(
            f"/_emulator/integrations/{integration_id}/token-check",
            json={"sha256": first},
        )
        assert bad.status_code == 422
        assert bad.json()["message"] == ["sha256 must be 64 hexadecimal digits"]
        missing = admin.post(
            "/_emulator/integrations/nope/token-check", json={"sha256": "0" * 64}
        )
        assert missing.status_code == 404
        assert first not in bad.text + missing.text


def test_admin_refuses_bad_scopes_and_bodies(emulator: LiveEmulator) -> None:
    with emulator.client() as admin:
        bad = admin.post(
            "/_emulator/integrations",
            json={
                "name": "x",
                "locationId": LOCATION_A,
                "scopes": ["contacts.writ", "oauth.write"],
            },
        )
        assert bad.status_code == 422
        assert bad.json()["error"] == "Unprocessable Entity"
        assert len(bad.json()["message"]) == 2
        agency_level = admin.post(
            "/_emulator/integrations",
            json={
                "name": "agency",
                "companyId": emulator.company_id,
                "scopes": ["locations.readonly"],
            },
        )
        assert agency_level.json()["integration"]["level"] == "agency"
        clock = admin.post("/_emulator/clock", json={"set": "yesterday"})
        assert clock.status_code == 422
        both = admin.post("/_emulator/clock", json={"set": T0, "advance": 1})
        assert both.status_code == 422
        rotate = admin.post(
            "/_emulator/integrations/nope/rotate", json={"mode": "sideways"}
        )
        assert rotate.status_code == 422
        assert admin.post("/_emulator/integrations/nope/rotate").status_code == 404
        assert admin.put("/_emulator/faults", content=b"{").status_code == 400


def test_scopes_and_locations_on_upstream_routes(emulator: LiveEmulator) -> None:
    contact_b = _create_contact(emulator, "b@example.com", LOCATION_B)
    with emulator.client() as admin:
        _, read_only = _integration(admin, ["contacts.readonly"])
    with emulator.client(read_only) as client:
        upsert = client.post(
            "/contacts/upsert", json={"locationId": LOCATION_A, "email": "u@x.com"}
        )
    assert upsert.status_code == 401
    assert upsert.json() == {
        "statusCode": 401,
        "message": "The token is not authorized for this scope.",
    }
    assert all(name in upsert.headers for name in RATE_HEADERS)

    other = _get(emulator, emulator.token(LOCATION_A), f"/contacts/{contact_b}")
    assert other.status_code == 403
    assert other.json() == {
        "statusCode": 403,
        "message": "The token does not have access to this location",
    }
    with emulator.client(emulator.token(LOCATION_A)) as client:
        search = client.post(
            "/contacts/search", json={"locationId": LOCATION_B, "pageLimit": 10}
        )
    assert search.status_code == 403

    agency = _get(
        emulator, emulator.agency_token, f"/contacts/?locationId={LOCATION_A}"
    )
    assert agency.status_code == 401
    assert agency.json()["message"] == "The token is not authorized for this scope."


def test_burst_limit_per_integration_daily_shared(emulator: LiveEmulator) -> None:
    contact_id = _create_contact(emulator, "rate@example.com")
    with emulator.client() as admin:
        admin.post("/_emulator/clock", json={"set": T0})
        admin.delete("/_emulator/limits/counters")
        _, second = _integration(admin, ["contacts.readonly"])
    path = f"/contacts/{contact_id}"
    with emulator.client(emulator.token()) as client:
        answers = [client.get(path) for _ in range(101)]
    assert [r.status_code for r in answers[:100]] == [200] * 100
    refused = answers[100]
    assert refused.status_code == 429
    assert refused.json() == {"statusCode": 429, "message": "Too Many Requests"}
    assert {h: refused.headers[h] for h in RATE_HEADERS} == {
        "x-ratelimit-limit-daily": "200000",
        "x-ratelimit-daily-remaining": "199900",
        "x-ratelimit-interval-milliseconds": "10000",
        "x-ratelimit-max": "100",
        "x-ratelimit-remaining": "0",
    }
    other = _get(emulator, second, path)
    assert other.status_code == 200
    assert other.headers["x-ratelimit-remaining"] == "99"
    assert other.headers["x-ratelimit-daily-remaining"] == "199899"
    with emulator.client() as admin:
        admin.post("/_emulator/clock", json={"advance": 10})
    assert _get(emulator, emulator.token(), path).status_code == 200


def test_limits_are_configurable(emulator: LiveEmulator) -> None:
    with emulator.client() as admin:
        admin.post("/_emulator/clock", json={"set": T0})
        assert admin.put("/_emulator/limits", json={"burstMax": 2}).json() == {
            "burstMax": 2,
            "intervalMs": 10000,
            "dailyMax": 200000,
        }
        assert admin.put("/_emulator/limits", json={"dailyMax": 0}).status_code == 422
    statuses = [
        _get(emulator, emulator.token(), f"/contacts/?locationId={LOCATION_A}")
        for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]


def _faults(emulator: LiveEmulator, rules: list[dict[str, Any]]) -> None:
    with emulator.client() as admin:
        response = admin.put("/_emulator/faults", json={"seed": 7, "rules": rules})
    assert response.status_code == 200, response.text


def _find_by_email(emulator: LiveEmulator, email: str) -> list[dict[str, Any]]:
    with emulator.client(emulator.token()) as client:
        response = client.post(
            "/contacts/search",
            json={
                "locationId": LOCATION_A,
                "pageLimit": 10,
                "filters": [{"field": "email", "operator": "eq", "value": email}],
            },
        )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["contacts"]
    return found


def test_fail_after_commit_502_and_drop(emulator: LiveEmulator) -> None:
    _faults(emulator, [{"route": "POST /contacts/", "failAfterCommit": 1.0}])
    with emulator.client(emulator.token()) as client:
        response = client.post(
            "/contacts/", json={"locationId": LOCATION_A, "email": "late@example.com"}
        )
        assert response.status_code == 502
        assert all(name in response.headers for name in RATE_HEADERS)
        assert len(_find_by_email(emulator, "late@example.com")) == 1
        _faults(
            emulator,
            [{"route": "POST /contacts", "failAfterCommit": 1, "failMode": "drop"}],
        )
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(
                "/contacts/",
                json={"locationId": LOCATION_A, "email": "dropped@example.com"},
            )
    assert len(_find_by_email(emulator, "dropped@example.com")) == 1
    with emulator.client() as admin:
        log = admin.get("/_emulator/requests", params={"route": "POST /contacts/"})
    assert [e["status"] for e in log.json()["requests"]] == [502, 0]


def test_error_rate_latency_and_times(emulator: LiveEmulator) -> None:
    _faults(
        emulator,
        [
            {"route": "GET /contacts/", "errorRate": 1.0, "times": 2},
            {"latencyMs": 150, "times": 1},
        ],
    )
    path = f"/contacts/?locationId={LOCATION_A}"
    started = time.monotonic()
    first = _get(emulator, emulator.token(), path)
    assert time.monotonic() - started >= 0.15
    assert first.status_code == 503
    assert first.json() == {"statusCode": 503, "message": "Injected fault"}
    assert _get(emulator, emulator.token(), path).status_code == 503
    assert _get(emulator, emulator.token(), path).status_code == 200
    with emulator.client() as admin:
        assert admin.get("/_emulator/faults").json()["rules"] == []
        assert admin.get("/_emulator/").status_code == 200  # admin is never faulted


def test_search_lag(emulator: LiveEmulator) -> None:
    _faults(emulator, [{"route": "POST /contacts/search", "searchLagMs": 2000}])
    with emulator.client() as admin:
        admin.post("/_emulator/clock", json={"set": "2030-01-01T00:00:00Z"})
        contact_id = _create_contact(emulator, "lag@example.com")
        assert _get(emulator, emulator.token(), f"/contacts/{contact_id}").is_success
        assert _find_by_email(emulator, "lag@example.com") == []
        admin.post("/_emulator/clock", json={"advance": 1.9})  # lag follows the clock
        assert _find_by_email(emulator, "lag@example.com") == []
        admin.post("/_emulator/clock", json={"advance": 0.1})
    found = _find_by_email(emulator, "lag@example.com")
    assert [c["id"] for c in found] == [contact_id]


def test_request_log_and_stats(emulator: LiveEmulator) -> None:
    with emulator.client() as admin:
        admin.delete("/_emulator/requests")
    contact_id = _create_contact(emulator, "log@example.com")
    _get(emulator, emulator.token(), f"/contacts/{contact_id}")
    _get(emulator, "pit-not-a-token", f"/contacts/{contact_id}")
    with emulator.client() as admin:
        log = admin.get("/_emulator/requests").json()["requests"]
        assert [(e["route"], e["status"]) for e in log] == [
            ("POST /contacts/", 201),
            ("GET /contacts/{contactId}", 200),
            ("GET /contacts/{contactId}", 401),
        ]
        assert log[0]["integrationId"] and log[0]["tokenId"]
        assert log[0]["locationId"] == LOCATION_A
        assert log[2]["tokenId"] is None
        only = admin.get(
            "/_emulator/requests", params={"status": 401, "route": log[2]["route"]}
        ).json()["requests"]
        assert len(only) == 1
        since = admin.get(
            "/_emulator/requests",
            params={"since": datetime(2999, 1, 1, tzinfo=UTC).isoformat()},
        )
        assert since.json()["requests"] == []
        stats = admin.get("/_emulator/stats").json()
        assert stats["total"] == 3
        assert stats["byStatus"] == {"200": 1, "201": 1, "401": 1}
        assert stats["byRoute"]["GET /contacts/{contactId}"] == 2
        everything = admin.get("/_emulator/requests").text + str(stats)
        assert emulator.token() not in everything
        admin.delete("/_emulator/requests")
        assert admin.get("/_emulator/stats").json()["total"] == 0
