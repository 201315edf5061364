"""The admin bulk load and contact activity over real HTTP, and search on what they set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.emulator_fixtures import LOCATION_A, LOCATION_B, LiveEmulator

pytestmark = pytest.mark.integration

LOAD = f"/_emulator/locations/{LOCATION_A}/contacts"


def lines(*contacts: dict[str, Any] | str) -> bytes:
    return b"".join(
        (c if isinstance(c, str) else json.dumps(c)).encode() + b"\n" for c in contacts
    )


def load(admin: httpx.Client, body: bytes | Iterator[bytes]) -> httpx.Response:
    return admin.post(
        LOAD, content=body, headers={"content-type": "application/x-ndjson"}
    )


def search(emulator: LiveEmulator, *filters: dict[str, Any]) -> list[str]:
    with emulator.client(emulator.token()) as client:
        response = client.post(
            "/contacts/search",
            json={
                "locationId": LOCATION_A,
                "pageLimit": 100,
                "filters": list(filters),
                "sort": [{"field": "email", "direction": "asc"}],
            },
        )
    assert response.status_code == 200, response.text
    return [c["email"] for c in response.json()["contacts"]]


def test_bulk_load_streams_lines_into_the_store(emulator: LiveEmulator) -> None:
    def chunks() -> Iterator[bytes]:
        # a BOM, a line split across two chunks, a blank line, no newline at the end
        yield b'\xef\xbb\xbf{"email": "one@x.io", "firstName": "One", "tags": ["vip"]}\n'
        yield b'{"email": '
        yield b'"two@x.io", "phone": "(202) 555-0142", "id": "myOwnId0000000000001"}\n\n'
        yield b'{"email": "three@x.io", "dateAdded": "2025-01-02T03:04:05Z"}'

    with emulator.client() as admin:
        response = load(admin, chunks())
        # an admin route: no request log, no rate limit
        assert admin.get("/_emulator/requests").json()["requests"] == []
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["loaded"] == 3 and body["ids"][1] == "myOwnId0000000000001"
    with emulator.client(emulator.token()) as client:
        two = client.get("/contacts/myOwnId0000000000001").json()["contact"]
        three = client.get(f"/contacts/{body['ids'][2]}").json()["contact"]
        tags = client.get(f"/locations/{LOCATION_A}/tags").json()["tags"]
    assert two["phone"] == "+12025550142"
    assert three["dateAdded"] == three["dateUpdated"] == "2025-01-02T03:04:05.000Z"
    assert "vip" in {t["name"] for t in tags}
    assert search(emulator) == ["one@x.io", "three@x.io", "two@x.io"]


def test_bulk_load_is_all_or_nothing(emulator: LiveEmulator) -> None:
    body = lines(
        {"email": "fine@x.io"},
        "not json",
        "[1, 2]",
        {"email": "bad"},
        {"email": "fine@x.io"},
        {"phone": 42, "shoeSize": 9},
        {"email": "elsewhere@x.io", "locationId": LOCATION_B},
        {"email": "late@x.io", "followers": "u1", "dateAdded": "yesterday"},
    )
    with emulator.client() as admin:
        response = load(admin, body)
    assert response.status_code == 422
    assert response.json()["message"] == [
        "line 2: not valid JSON",
        "line 3: not a JSON object",
        "line 4: email must be an email",
        "line 6: phone must be a string",
        "line 6: property shoeSize should not exist",
        "line 7: locationId must be the location loaded into",
        "line 8: dateAdded must be an ISO 8601 time or epoch milliseconds",
        "line 8: followers must be an array of strings",
    ]
    assert search(emulator) == []
    with emulator.client() as admin:
        clash = load(admin, lines({"email": "fine@x.io"}, {"email": "FINE@x.io"}))
    assert clash.json()["message"] == [
        "line 2: This location does not allow duplicated contacts. (email as on line 1)"
    ]
    assert search(emulator) == []


def test_bulk_load_respects_ids_and_existing_duplicates(emulator: LiveEmulator) -> None:
    with emulator.client() as admin:
        first = load(admin, lines({"email": "a@x.io", "id": "fixedId0000000000001"}))
        assert first.status_code == 201
        again = load(
            admin,
            lines(
                {"email": "b@x.io", "id": "fixedId0000000000001"}, {"email": "A@x.io"}
            ),
        )
        missing = admin.post(
            "/_emulator/locations/nowhere/contacts", content=lines({"email": "c@x.io"})
        )
    assert again.json()["message"] == [
        "line 1: id fixedId0000000000001 is taken",
        "line 2: This location does not allow duplicated contacts. "
        "(email of contact fixedId0000000000001)",
    ]
    assert missing.status_code == 404


def test_activity_is_set_searched_and_read(emulator: LiveEmulator) -> None:
    with emulator.client() as admin:
        loaded = load(
            admin,
            lines(
                {
                    "email": "busy@x.io",
                    "followers": ["user1"],
                    "validEmail": True,
                    "lastAppointment": "2026-02-01T09:00:00Z",
                },
                {"email": "idle@x.io", "validEmail": False},
            ),
        ).json()["ids"]
        patched = admin.patch(
            f"/_emulator/contacts/{loaded[1]}/activity",
            json={
                "activeWorkflows": ["wf1"],
                "opportunities": [
                    {"pipelineId": "p1", "pipelineStageId": "s1", "status": "open"}
                ],
                "lastEmailOpenedDate": 1767225600000,
                "validEmail": None,
            },
        )
        refused = admin.patch(
            f"/_emulator/contacts/{loaded[1]}/activity",
            json={"validEmail": "yes", "mood": 1},
        )
        unknown = admin.patch("/_emulator/contacts/nobody/activity", json={})
    assert patched.status_code == 200, patched.text
    activity = patched.json()["activity"]
    assert activity["lastEmailOpenedDate"] == "2026-01-01T00:00:00.000Z"
    assert (
        "validEmail" not in activity and len(activity["opportunities"][0]["id"]) == 20
    )
    assert refused.json()["message"] == [
        "property mood should not exist",
        "validEmail must be a boolean value",
    ]
    assert unknown.status_code == 404
    assert search(
        emulator, {"field": "followers", "operator": "eq", "value": "user1"}
    ) == ["busy@x.io"]
    assert search(emulator, {"field": "validEmail", "operator": "not_exists"}) == [
        "idle@x.io"
    ]
    with emulator.client(emulator.token()) as client:
        shown = client.post(
            "/contacts/search",
            json={"locationId": LOCATION_A, "pageLimit": 1, "query": "busy"},
        ).json()["contacts"][0]
    assert (shown["followers"], shown["validEmail"]) == (["user1"], True)
    assert search(emulator, {"field": "activeWorkflows", "operator": "exists"}) == [
        "idle@x.io"
    ]
    assert search(
        emulator,
        {
            "field": "lastAppointment",
            "operator": "range",
            "value": {"gte": "2026-02-01"},
        },
    ) == ["busy@x.io"]
    assert search(
        emulator,
        {
            "field": "opportunities",
            "operator": "nested",
            "value": [{"field": "status", "operator": "eq", "value": "open"}],
        },
    ) == ["idle@x.io"]


def test_a_date_custom_field_range_over_http(emulator: LiveEmulator) -> None:
    with emulator.client(emulator.token()) as client:
        field = client.post(
            f"/locations/{LOCATION_A}/customFields",
            json={"name": "Renewal", "dataType": "DATE"},
        ).json()["customField"]
    with emulator.client() as admin:
        load(
            admin,
            lines(
                *(
                    {
                        "email": f"{day}@x.io",
                        "customFields": [{"id": field["id"], "field_value": day}],
                    }
                    for day in ("2026-02-27", "2026-03-03", "2026-03-30")
                )
            ),
        )
    name = f"customFields.{field['id']}"
    forms = [
        {"gte": "2026-03-01", "lte": "2026-03-31"},
        {"gte": "2026-03-01T00:00:00Z", "lte": "2026-03-31T00:00:00Z"},
        {"gte": 1772323200000, "lte": 1774915200000},
    ]
    assert [
        search(emulator, {"field": name, "operator": "range", "value": v})
        for v in forms
    ] == [["2026-03-03@x.io", "2026-03-30@x.io"]] * 3
    with emulator.client(emulator.token()) as client:
        zero = client.post(
            "/contacts/search", json={"locationId": LOCATION_A, "pageLimit": 0}
        )
    assert zero.status_code == 422
    assert zero.json()["message"] == ["pageLimit must not be less than 1"]
