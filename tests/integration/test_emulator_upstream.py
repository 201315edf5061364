"""Upstream routes over real HTTP: duplicates, upsert, search, tags, scopes, faults,
v3 differences and persistence, as reference §2–§6 and the emulator issue ask."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hlsync.emulator.app import create_app
from hlsync.emulator.state import EmulatorState
from tests.emulator_fixtures import COMPANY_ID, LOCATION_A, LOCATION_B, LiveEmulator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def http(emulator_server: tuple[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_server[0], timeout=30) as client:
        yield client


@dataclass(slots=True)
class Api:
    """Calls as location A's bootstrap token unless told otherwise."""

    emulator: LiveEmulator
    http: httpx.Client

    def __call__(
        self,
        method: str,
        url: str,
        json: Any = None,
        *,
        token: str | None = None,
        version: str = "2021-07-28",
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        headers = self.emulator.headers(token or self.emulator.token(), version)
        return self.http.request(method, url, json=json, params=params, headers=headers)

    def create(self, location: str = LOCATION_A, **fields: Any) -> dict[str, Any]:
        response = self("POST", "/contacts/", {"locationId": location, **fields})
        assert response.status_code == 201, response.text
        contact: dict[str, Any] = response.json()["contact"]
        return contact

    def search(self, **body: Any) -> dict[str, Any]:
        response = self("POST", "/contacts/search", {"locationId": LOCATION_A, **body})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def token_with(self, *scopes: str) -> str:
        state = self.emulator.state
        with state.lock:
            _, token = state.auth.create_integration(
                name="narrow",
                description="",
                scopes=list(scopes),
                level="sub-account",
                company_id=COMPANY_ID,
                location_id=LOCATION_A,
            )
        return token


@pytest.fixture
def api(emulator: LiveEmulator, http: httpx.Client) -> Api:
    return Api(emulator, http)


def test_create_normalises_and_shapes(api: Api) -> None:
    created = api.create(
        email="Ann@Example.COM", phone="+1 888-888-8888", name="Ann Lee", timezone="UTC"
    )
    assert created["email"] == "Ann@Example.COM"
    assert created["emailLowerCase"] == "ann@example.com"
    assert created["phone"] == "+18888888888"
    assert (created["firstName"], created["lastName"]) == ("Ann", "Lee")
    assert "name" not in created and "timezone" not in created
    assert created["dateAdded"].endswith("Z") and len(created["dateAdded"]) == 24
    got = api("GET", f"/contacts/{created['id']}/").json()["contact"]
    assert got["name"] == "Ann Lee" and got["timezone"] == "UTC"
    assert api("POST", "/contacts", {"locationId": LOCATION_A}).status_code == 201


def test_timestamps_follow_the_emulator_clock(api: Api) -> None:
    api.http.post("/_emulator/clock", json={"set": "2030-05-06T07:08:09.123Z"})
    created = api.create(email="clock@x.io")
    assert created["dateAdded"] == created["dateUpdated"] == "2030-05-06T07:08:09.123Z"
    api.http.post("/_emulator/clock", json={"advance": 60})
    updated = api("PUT", f"/contacts/{created['id']}", {"city": "Oslo"}).json()
    assert updated["contact"]["dateUpdated"] == "2030-05-06T07:09:09.123Z"
    assert updated["contact"]["dateAdded"] == "2030-05-06T07:08:09.123Z"


def test_bad_values_answer_422(api: Api) -> None:
    response = api(
        "POST",
        "/contacts/",
        {"locationId": LOCATION_A, "email": "nope", "phone": "12", "dateOfBirth": "x"},
    )
    assert response.status_code == 422
    assert response.json()["message"] == [
        "email must be an email",
        "phone must be a valid phone number",
        "dateOfBirth must be a valid date",
    ]


def test_duplicates_forbidden_then_allowed(api: Api) -> None:
    first = api.create(email="dup@x.io", firstName="Dee")
    response = api(
        "POST", "/contacts/", {"locationId": LOCATION_A, "email": "DUP@x.io"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "message": "This location does not allow duplicated contacts.",
        "meta": {
            "contactId": first["id"],
            "matchingField": "email",
            "contactName": "Dee",
        },
    }
    phone = api.create(phone="+15550000001")
    response = api(
        "POST", "/contacts/", {"locationId": LOCATION_A, "phone": "5550000001"}
    )
    assert response.json()["meta"]["contactId"] == phone["id"]
    assert response.json()["meta"]["matchingField"] == "phone"
    other = api.create(email="other@x.io")
    clash = api("PUT", f"/contacts/{other['id']}", {"email": "dup@x.io"})
    assert clash.status_code == 400
    settings = {"allowDuplicateContact": True}
    api.http.patch(f"/_emulator/locations/{LOCATION_A}/settings", json=settings)
    assert api.create(email="dup@x.io")["id"] != first["id"]


def test_upsert_rules(api: Api) -> None:
    a = api.create(email="a@x.io")
    b = api.create(phone="+15550000002")
    body = {"locationId": LOCATION_A, "email": "A@x.io", "phone": "+15550000002"}
    answer = api("POST", "/contacts/upsert", {**body, "lastName": "Updated"}).json()
    assert answer["new"] is False and answer["contact"]["id"] == a["id"]
    assert "phone" not in answer["contact"]  # phone belongs to b: silently not written
    assert answer["traceId"]
    by_phone = api(
        "POST", "/contacts/upsert", {"locationId": LOCATION_A, "phone": "+15550000002"}
    ).json()
    assert (by_phone["new"], by_phone["contact"]["id"]) == (False, b["id"])
    fresh = api(
        "POST", "/contacts/upsert", {"locationId": LOCATION_A, "email": "n@x.io"}
    )
    assert fresh.status_code == 200 and fresh.json()["new"] is True
    forced = {
        "locationId": LOCATION_A,
        "email": "a@x.io",
        "createNewIfDuplicateAllowed": True,
    }
    assert api("POST", "/contacts/upsert", forced).json()["new"] is False
    api.http.patch(
        f"/_emulator/locations/{LOCATION_A}/settings",
        json={"allowDuplicateContact": True},
    )
    assert api("POST", "/contacts/upsert", forced).json()["new"] is True
    dup = api(
        "GET",
        "/contacts/search/duplicate",
        params={"locationId": LOCATION_A, "email": "a@X.io"},
    )
    assert dup.json()["contact"]["id"] == a["id"]


def test_update_replaces_tags_and_merges_custom_fields(api: Api) -> None:
    num = api(
        "POST",
        f"/locations/{LOCATION_A}/customFields",
        {"name": "Size", "dataType": "NUMERICAL"},
    ).json()["customField"]
    box = api(
        "POST",
        f"/locations/{LOCATION_A}/customFields",
        {"name": "Pets", "dataType": "CHECKBOX"},
    ).json()["customField"]
    c = api.create(
        tags=["a", "b"], customFields=[{"id": num["id"], "field_value": "42"}]
    )
    assert c["customFields"] == [{"id": num["id"], "value": 42}]
    body = {"tags": ["c"], "customFields": [{"key": "pets", "value": "cat"}]}
    updated = api("PUT", f"/contacts/{c['id']}", body).json()
    assert updated["succeded"] is True and "succeeded" not in updated
    assert updated["contact"]["tags"] == ["c"]
    assert {f["id"]: f["value"] for f in updated["contact"]["customFields"]} == {
        num["id"]: 42,
        box["id"]: ["cat"],
    }
    bad = api(
        "PUT",
        f"/contacts/{c['id']}",
        {"customFields": [{"id": num["id"], "field_value": "x"}]},
    )
    assert bad.status_code == 422
    assert bad.json()["message"] == ["customFields.0.field_value must be a number"]


def test_contact_tags_and_bulk(api: Api) -> None:
    c = api.create(tags=["one"])
    added = api("POST", f"/contacts/{c['id']}/tags", {"tags": ["two", "ONE"]})
    assert (added.status_code, added.json()) == (201, {"tags": ["one", "two"]})
    removed = api("DELETE", f"/contacts/{c['id']}/tags", {"tags": ["one"]})
    assert (removed.status_code, removed.json()) == (200, {"tags": ["two"]})
    names = [
        t["name"] for t in api("GET", f"/locations/{LOCATION_A}/tags").json()["tags"]
    ]
    assert names == ["one", "two"]
    gone = api.create()
    api("DELETE", f"/contacts/{gone['id']}")
    body = {
        "locationId": LOCATION_A,
        "contacts": [c["id"], gone["id"], "bad"],
        "tags": ["x"],
    }
    result = api("POST", "/contacts/bulk/tags/update/add", body).json()
    assert result["errorCount"] == 2
    assert [r["message"] for r in result["responses"]] == [
        "Tags updated",
        "contact is deleted",
        "contact id is not a valid firebase id",
    ]
    assert result["responses"][0]["tagsAdded"] == ["x"]
    wipe = {
        "locationId": LOCATION_A,
        "contacts": [c["id"]],
        "tags": [],
        "removeAllTags": True,
    }
    assert api("POST", "/contacts/bulk/tags/update/remove", wipe).status_code == 201
    assert api("GET", f"/contacts/{c['id']}").json()["contact"]["tags"] == []
    assert api("POST", "/contacts/bulk/tags/update/add", wipe).status_code == 422
    assert api("POST", "/contacts/bulk/tags/update/swap", body).status_code == 422


def test_scopes_and_locations(api: Api) -> None:
    readonly = api.token_with("contacts.readonly")
    upsert = api("POST", "/contacts/upsert", {"locationId": LOCATION_A}, token=readonly)
    assert (upsert.status_code, upsert.json()) == (
        401,
        {"statusCode": 401, "message": "The token is not authorized for this scope."},
    )
    b_token = api.emulator.token(LOCATION_B)
    b_contact = api(
        "POST", "/contacts/", {"locationId": LOCATION_B}, token=b_token
    ).json()
    forbidden = api("GET", f"/contacts/{b_contact['contact']['id']}")
    assert (forbidden.status_code, forbidden.json()["statusCode"]) == (403, 403)
    search = api("POST", "/contacts/search", {"locationId": LOCATION_B, "pageLimit": 1})
    assert search.status_code == 403
    agency = api(
        "GET",
        "/contacts/",
        params={"locationId": LOCATION_A},
        token=api.emulator.agency_token,
    )
    assert agency.json() == {
        "statusCode": 401,
        "message": "The token is not authorized for this scope.",
    }
    located = api("GET", f"/locations/{LOCATION_A}", token=api.emulator.agency_token)
    assert located.json()["location"]["companyId"] == COMPANY_ID
    found = api("GET", "/locations/search", token=api.emulator.agency_token).json()
    assert [loc["id"] for loc in found["locations"]] == [LOCATION_A, LOCATION_B]
    mine = api("GET", "/locations/search").json()
    assert [loc["id"] for loc in mine["locations"]] == [LOCATION_A]


# Ids are random and upstream stamps dateAdded in milliseconds, so contacts created in
# one millisecond tie; the order must come from the clock or the id tie-break, never
# from creation order. Twenty rounds (fresh ids each) keep that honest in every run.
@pytest.mark.parametrize("round_", range(20))
def test_search_filters_sort_and_cursor(api: Api, round_: int) -> None:
    api.http.post("/_emulator/clock", json={"set": "2030-01-01T00:00:00Z"})
    people = []
    for name, tags in (
        ("amy", ["vip"]),
        ("bob", []),
        ("cat", ["vip", "new"]),
        ("dan", ["new"]),
    ):
        api.http.post("/_emulator/clock", json={"advance": 1})
        people.append(api.create(firstName=name, email=f"{name}@x.io", tags=tags))
    by_id = {p["firstName"]: p["id"] for p in people}

    def names(**body: Any) -> list[str]:
        found = api.search(pageLimit=10, **body)["contacts"]
        return [c["firstName"] for c in found]

    assert names() == ["dan", "cat", "bob", "amy"]  # default: newest first
    api.http.post("/_emulator/clock", json={"advance": 1})
    twins = [api.create(firstName=f"eve{n}", email=f"eve{n}@x.io") for n in (1, 2)]
    assert twins[0]["dateAdded"] == twins[1]["dateAdded"]  # a tie: id ascending
    tied = sorted(twins, key=lambda c: str(c["id"]))
    assert names()[:2] == [c["firstName"] for c in tied]
    for twin in twins:
        assert api("DELETE", f"/contacts/{twin['id']}").status_code == 200
    vip_or_dan = {
        "group": "OR",
        "filters": [
            {"field": "tags", "operator": "eq", "value": "VIP"},
            {"field": "firstNameLowerCase", "operator": "eq", "value": "dan"},
        ],
    }
    not_cat = {"field": "id", "operator": "not_eq", "value": by_id["cat"]}
    sort = [{"field": "firstNameLowerCase", "direction": "asc"}]
    assert names(filters=[vip_or_dan, not_cat], sort=sort) == ["amy", "dan"]
    assert names(filters=[{"field": "tags", "operator": "not_exists"}]) == ["bob"]
    assert names(
        filters=[{"field": "email", "operator": "eq", "value": "BOB@x.io"}]
    ) == ["bob"]
    assert names(query="CA") == ["cat"]
    ranged = {"field": "dateAdded", "operator": "range", "value": {"gte": "2000-01-01"}}
    assert len(names(filters=[ranged])) == 4
    first = api.search(pageLimit=3, sort=sort)
    assert first["total"] == 4 and len(first["contacts"]) == 3
    rest = api.search(
        pageLimit=3, sort=sort, searchAfter=first["contacts"][-1]["searchAfter"]
    )
    assert [c["firstName"] for c in rest["contacts"]] == ["dan"]
    assert api.search(pageLimit=3, page=2, sort=sort)["contacts"] == rest["contacts"]


def test_search_rejects_bad_bodies(api: Api) -> None:
    cases = [
        ({"pageLimit": 10}, "locationId should not be empty"),
        (
            {"locationId": LOCATION_A},
            "pageLimit must be a number conforming to the specified constraints",
        ),
        (
            {"locationId": LOCATION_A, "pageLimit": 501},
            "pageLimit must not be greater than 500",
        ),
        (
            {"locationId": LOCATION_A, "pageLimit": 500, "page": 21},
            "page * pageLimit must not exceed 10000; use searchAfter",
        ),
        (
            {
                "locationId": LOCATION_A,
                "pageLimit": 5,
                "sort": [{"field": "email"}] * 3,
            },
            "sort must contain no more than 2 elements",
        ),
        (
            {
                "locationId": LOCATION_A,
                "pageLimit": 5,
                "filters": [{"field": "email", "operator": "contains", "value": "a"}],
            },
            "filters.0.operator contains is not supported for email; use one of eq, exists, not_eq, not_exists",
        ),
        (
            {
                "locationId": LOCATION_A,
                "pageLimit": 5,
                "filters": [{"field": "tags", "operator": "eq", "value": "x" * 76}],
            },
            "filters.0.value must be at most 75 characters",
        ),
    ]
    for body, message in cases:
        response = api("POST", "/contacts/search", body)
        assert response.status_code == 422, body
        assert message in response.json()["message"], response.json()
    assert api.search(pageLimit=500, page=20)["total"] == 0


def test_search_lag_and_fail_after_commit(api: Api) -> None:
    rules = {"rules": [{"route": "POST /contacts/search", "searchLagMs": 2000}]}
    assert api.http.put("/_emulator/faults", json=rules).status_code == 200
    api.http.post("/_emulator/clock", json={"set": "2030-01-01T00:00:00Z"})
    c = api.create(email="late@x.io")
    assert api("GET", f"/contacts/{c['id']}").status_code == 200
    filters = [{"field": "email", "operator": "eq", "value": "late@x.io"}]
    assert api.search(pageLimit=5, filters=filters)["total"] == 0
    api.http.post("/_emulator/clock", json={"advance": 2})
    assert api.search(pageLimit=5, filters=filters)["total"] == 1
    rules = {"rules": [{"route": "POST /contacts/", "failAfterCommit": 1.0}]}
    api.http.put("/_emulator/faults", json=rules)
    failed = api("POST", "/contacts/", {"locationId": LOCATION_A, "email": "kept@x.io"})
    assert failed.status_code == 502
    api.http.delete("/_emulator/faults")
    dup = api(
        "GET",
        "/contacts/search/duplicate",
        params={"locationId": LOCATION_A, "email": "kept@x.io"},
    )
    assert dup.json()["contact"]["email"] == "kept@x.io"


def test_search_or_group_and_paging_over_thousands(api: Api) -> None:
    # 20,000 contacts and ms per search: `python -m tests.perf` (bench_search)
    store = api.emulator.state.store
    with api.emulator.state.lock:
        for n in range(3_000):
            store.create_contact(LOCATION_A, {"email": f"user{n}@example.com"})
    wanted = [
        {"field": "email", "operator": "eq", "value": f"USER{n * 29}@example.com"}
        for n in range(100)
    ]
    found = api.search(pageLimit=500, filters=[{"group": "OR", "filters": wanted}])
    assert found["total"] == 100
    cursor, seen = None, 0
    while True:
        page = api.search(pageLimit=500, **({"searchAfter": cursor} if cursor else {}))
        if not page["contacts"]:
            break
        seen += len(page["contacts"])
        cursor = page["contacts"][-1]["searchAfter"]
    assert seen == 3_000


def test_list_contacts_deprecated(api: Api) -> None:
    made = [api.create(email=f"l{n}@x.io") for n in range(3)]
    first = api(
        "GET", "/contacts/", params={"locationId": LOCATION_A, "limit": 2}
    ).json()
    assert [c["id"] for c in first["contacts"]] == [m["id"] for m in made[:2]]
    assert first["count"] == 3
    meta = first["meta"]
    rest = api(
        "GET",
        "/contacts/",
        params={
            "locationId": LOCATION_A,
            "startAfter": meta["startAfter"],
            "startAfterId": meta["startAfterId"],
        },
    ).json()
    assert [c["id"] for c in rest["contacts"]] == [made[2]["id"]]
    too_many = api("GET", "/contacts/", params={"locationId": LOCATION_A, "limit": 101})
    assert too_many.status_code == 422
    gone = api("GET", "/contacts/", params={"locationId": LOCATION_A}, version="v3")
    assert gone.status_code == 404


def test_v3_differences(api: Api) -> None:
    field = api(
        "POST",
        f"/locations/{LOCATION_A}/customFields",
        {"name": "Nick", "dataType": "TEXT"},
    ).json()["customField"]
    body = {
        "locationId": LOCATION_A,
        "firstName": "Vee",
        "dndSettings": {"sms": {"status": "active"}},
        "customFields": [{"id": field["id"], "fieldValue": "vv"}],
    }
    created = api("POST", "/contacts/", body, version="v3")
    assert created.status_code == 201
    contact = created.json()["contact"]
    assert contact["name"] == "Vee" and contact["dndSettings"] == {
        "sms": {"status": "active"}
    }
    assert contact["customFields"] == [{"id": field["id"], "value": "vv"}]
    v2 = api("GET", f"/contacts/{contact['id']}").json()["contact"]
    assert v2["dndSettings"] == {"SMS": {"status": "active"}}
    deleted = api("DELETE", f"/contacts/{contact['id']}", version="v3").json()
    assert deleted == {"succeded": True, "succeeded": True}
    v2_body = {
        "locationId": LOCATION_A,
        "customFields": [{"id": field["id"], "fieldValue": "x"}],
    }
    rejected = api("POST", "/contacts/", v2_body)
    assert rejected.json()["message"] == [
        "property customFields.0.fieldValue should not exist",
        "customFields.0.field_value should not be empty",
    ]


def test_location_items_crud(api: Api) -> None:
    base = f"/locations/{LOCATION_A}"
    tag = api("POST", f"{base}/tags", {"name": "hot"}).json()["tag"]
    assert (
        api("PUT", f"{base}/tags/{tag['id']}", {"name": "cold"}).json()["tag"]["name"]
        == "cold"
    )
    assert api("DELETE", f"{base}/tags/{tag['id']}").json() == {"succeded": True}
    assert api("GET", f"{base}/tags/{tag['id']}").status_code == 400
    opp = {"name": "Stage", "dataType": "TEXT", "model": "opportunity"}
    api("POST", f"{base}/customFields", opp)
    api("POST", f"{base}/customFields", {"name": "Nick", "dataType": "TEXT"})

    def keys(model: str) -> list[str]:
        listed = api("GET", f"{base}/customFields", params={"model": model}).json()
        return [f["fieldKey"] for f in listed["customFields"]]

    assert keys("contact") == ["contact.nick"] and len(keys("all")) == 2
    value = api(
        "POST", f"{base}/customValues", {"name": "Brand", "value": "Acme"}
    ).json()
    vid = value["customValue"]["id"]
    assert value["customValue"]["fieldKey"] == "{{ custom_values.brand }}"
    put = api("PUT", f"{base}/customValues/{vid}", {"name": "Brand", "value": "Beta"})
    assert put.json()["customValue"]["value"] == "Beta"
    assert (
        api("GET", f"{base}/customValues").json()["customValues"][0]["value"] == "Beta"
    )
    assert api("DELETE", f"{base}/customValues/{vid}").json() == {"succeded": True}
    other = api("GET", f"/locations/{LOCATION_B}/customValues")
    assert other.status_code == 403


def test_writes_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "emulator.sqlite3"

    async def create(state: EmulatorState, token: str) -> str:
        transport = httpx.ASGITransport(app=create_app(state))
        headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://e", headers=headers
        ) as c:
            made = await c.post(
                "/contacts/",
                json={"locationId": LOCATION_A, "email": "p@x.io", "tags": ["t"]},
            )
            assert made.status_code == 201
            contact_id: str = made.json()["contact"]["id"]
            return contact_id

    state = EmulatorState.open_sqlite(db)
    state.provision_agency(COMPANY_ID, "agency")
    _, token = state.provision_location(COMPANY_ID, "Alpha", LOCATION_A)
    state.commit()
    contact_id = asyncio.run(create(state, token))
    state.close()
    reopened = EmulatorState.open_sqlite(db)
    try:
        record = reopened.store.get_contact(contact_id)
        assert record is not None and record["email"] == "p@x.io"
        assert [t["name"] for t in reopened.store.tags(LOCATION_A)] == ["t"]
        assert reopened.store.find_duplicate(LOCATION_A, "P@x.io", None) is not None
    finally:
        reopened.close()
