"""The client, the reader and the api driver against the real emulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from hlsync.core.model import (
    AgencySpec,
    Contact,
    CustomField,
    DesiredState,
    LocationSpec,
    Tag,
    Target,
)
from hlsync.emulator.app import create_app
from hlsync.engine.reader import read_observed
from hlsync.targets.access import TargetAccess, build_access
from hlsync.targets.drivers import ApiIntegrationDriver, IntegrationScope
from hlsync.upstream.client import (
    AmbiguousWriteError,
    ApiClient,
    ApiError,
    LocationApi,
    RetryPolicy,
)
from hlsync.upstream.pacing import DailyLimitError
from tests.emulator_fixtures import LOCATION_A, LiveEmulator, provisioned_state

pytestmark = pytest.mark.integration

T = TypeVar("T")


def run_api(emulator: LiveEmulator, body: Callable[[ApiClient], Awaitable[T]]) -> T:
    async def main() -> T:
        async with httpx.AsyncClient(base_url=emulator.base_url, timeout=30) as http:
            return await body(ApiClient(http, retry=RetryPolicy(base_delay=0.01)))

    return asyncio.run(main())


def location(api: ApiClient, emulator: LiveEmulator) -> LocationApi:
    return api.location(LOCATION_A, emulator.token(LOCATION_A))


def logged(emulator: LiveEmulator, **params: str) -> list[dict[str, Any]]:
    with emulator.client() as admin:
        answer = admin.get("/_emulator/requests", params=params)
        answer.raise_for_status()
        entries: list[dict[str, Any]] = answer.json()["requests"]
        return entries


def admin_put(emulator: LiveEmulator, path: str, body: dict[str, Any]) -> None:
    with emulator.client() as admin:
        admin.put(path, json=body).raise_for_status()


def seed_contacts(emulator: LiveEmulator, count: int) -> None:
    state = emulator.state
    with state.lock:
        for i in range(count):
            state.store.create_contact(
                LOCATION_A,
                {
                    "email": f"user{i}@example.com",
                    "firstName": f"User{i}",
                    "phone": f"+1555{i:07d}",
                },
            )
        state.commit()


def test_500_declared_of_5000_read_within_the_bound(emulator: LiveEmulator) -> None:
    # the batched path at a tenth of the scale (2,000 of 20,000: test_reader.py
    # against a fake, `python -m tests.perf` against the emulator): K = 5 < W = 10
    seed_contacts(emulator, 5_000)
    with emulator.client(emulator.token()) as http:
        http.post(
            f"/locations/{LOCATION_A}/customFields",
            json={"name": "Pincode", "dataType": "TEXT"},
        ).raise_for_status()
        http.post(f"/locations/{LOCATION_A}/tags", json={"name": "vip"})
    with emulator.client() as admin:
        admin.delete("/_emulator/requests").raise_for_status()
    declared = range(3, 5_000, 10)  # 500 keys spread over the whole location
    spec = LocationSpec(
        name="alpha",
        id=LOCATION_A,
        custom_fields=(CustomField("pincode", "Pincode", "TEXT"),),
        tags=(Tag("vip"),),
        contacts=tuple(
            Contact(key=f"email:user{i}@example.com", fields={"firstName": f"User{i}"})
            for i in declared
        ),
    )
    desired = DesiredState(Target(), AgencySpec(), (spec,), "d", "cfg.yaml")

    async def body(api: ApiClient) -> Any:
        access = TargetAccess(locations={"alpha": location(api, emulator)})
        return await read_observed(desired, access)

    observed = run_api(emulator, body)
    alpha = observed.locations["alpha"]
    assert len(alpha.contacts) == 500
    user13 = alpha.contacts["email:user13@example.com"]
    assert user13.fields["firstName"] == "User13"  # declared: kept
    assert "locationId" not in user13.fields  # not declared: let go with its page
    assert set(alpha.custom_fields) == {"pincode"} and set(alpha.tags) == {"vip"}
    reads = logged(emulator)
    batched, whole = 500 // 100, 5_000 // 500
    # plus the lists of fields, tags and custom values (what the config does not
    # declare of them is listed as unmanaged)
    assert len(reads) <= min(whole, batched) + 3
    # page 1 (the probe), 4 stretched OR-group lookups, the field, tag and value lists
    assert len(reads) == 8
    assert all(entry["status"] == 200 for entry in reads)


def test_iter_search_beyond_10000_uses_search_after(emulator: LiveEmulator) -> None:
    seed_contacts(emulator, 10_600)
    with emulator.client() as admin:
        admin.delete("/_emulator/requests").raise_for_status()

    async def body(api: ApiClient) -> list[str]:
        loc = location(api, emulator)
        sort = [{"field": "dateAdded", "direction": "asc"}]
        return [c["id"] async for c in loc.iter_search(sort=sort)]

    ids = run_api(emulator, body)
    assert len(ids) == len(set(ids)) == 10_600
    assert len(logged(emulator, route="POST /contacts/search")) == 22  # 20 + 2 cursors


def test_get_is_retried_through_injected_5xx(emulator: LiveEmulator) -> None:
    rule = {"route": "GET /locations/{locationId}/tags", "errorRate": 1, "times": 2}
    admin_put(emulator, "/_emulator/faults", {"seed": 1, "rules": [rule]})

    async def body(api: ApiClient) -> list[dict[str, Any]]:
        return await location(api, emulator).list_tags()

    assert run_api(emulator, body) == []
    statuses = [e["status"] for e in logged(emulator)]
    assert statuses == [503, 503, 200]


def test_create_after_fail_after_commit_is_ambiguous_and_committed(
    emulator: LiveEmulator,
) -> None:
    rule = {"route": "POST /locations/{locationId}/tags", "failAfterCommit": 1}
    admin_put(emulator, "/_emulator/faults", {"rules": [rule]})

    async def body(api: ApiClient) -> list[dict[str, Any]]:
        loc = location(api, emulator)
        with pytest.raises(AmbiguousWriteError, match="-> 502"):
            await loc.create_tag("landed")
        return await loc.list_tags()

    assert [t["name"] for t in run_api(emulator, body)] == ["landed"]
    assert len(logged(emulator, route="POST /locations/{locationId}/tags")) == 1


def test_dropped_connection_on_upsert_is_retried(emulator: LiveEmulator) -> None:
    rule = {
        "route": "POST /contacts/upsert",
        "failAfterCommit": 1,
        "failMode": "drop",
        "times": 1,
    }
    admin_put(emulator, "/_emulator/faults", {"rules": [rule]})

    async def body(api: ApiClient) -> dict[str, Any]:
        return await location(api, emulator).upsert_contact({"email": "z@example.com"})

    answer = run_api(emulator, body)
    assert answer["new"] is False  # the first attempt committed; the retry updated it
    with emulator.state.lock:
        assert emulator.state.store.contact_count(LOCATION_A) == 1


def test_pacing_keeps_within_a_small_limit(emulator: LiveEmulator) -> None:
    admin_put(emulator, "/_emulator/limits", {"burstMax": 4, "intervalMs": 300})

    async def body(api: ApiClient) -> float:
        loc = location(api, emulator)
        started = time.monotonic()
        await asyncio.gather(*(loc.list_tags() for _ in range(12)))
        return time.monotonic() - started

    elapsed = run_api(emulator, body)
    statuses = [e["status"] for e in logged(emulator)]
    assert statuses == [200] * 12  # never a 429: the pacer waited instead
    assert elapsed >= 0.6  # 12 requests at 4 per 300 ms need at least 3 windows


def test_upstream_error_message_from_the_emulator(emulator: LiveEmulator) -> None:
    async def body(api: ApiClient) -> None:
        agency = api.location(LOCATION_A, emulator.agency_token)
        await agency.upsert_contact({"email": "a@example.com"})

    with pytest.raises(ApiError) as caught:
        run_api(emulator, body)
    error = caught.value
    assert error.message == (
        "POST /contacts/upsert -> 401: The token is not authorized for this scope."
    )
    assert emulator.agency_token not in str(error)


def test_api_driver_private_integration_lifecycle(emulator: LiveEmulator) -> None:
    scope = IntegrationScope.location(LOCATION_A)

    async def body(api: ApiClient) -> None:
        driver = ApiIntegrationDriver(api)
        created, token = await driver.create(
            scope, "seed-bot", "seeds contacts", ["locations/tags.readonly"]
        )
        assert token.reveal().startswith("pit-") and token.reveal() not in repr(token)
        assert created.scopes == ("locations/tags.readonly",)
        listed = await driver.list(scope)
        assert set(listed) == {"emulator-bootstrap", "seed-bot"}
        # the minted token works upstream with exactly its scopes
        minted = api.location(LOCATION_A, token.reveal())
        assert await minted.list_tags() == []
        with pytest.raises(ApiError, match="401"):
            await minted.list_custom_fields()
        updated = await driver.update(
            scope,
            created.id,
            description="seeds",
            scopes=["locations/tags.readonly", "locations/customFields.readonly"],
        )
        assert updated.description == "seeds"
        assert await minted.list_custom_fields() == []  # same token, new scope
        rotated, new_token = await driver.rotate(scope, created.id, "later")
        assert rotated.old_token_expires_at is not None
        assert new_token != token
        assert await minted.list_tags() == []  # old token still works in the overlap
        cancelled = await driver.cancel_rotation(scope, created.id)
        assert cancelled.old_token_expires_at is None
        await driver.rotate(scope, created.id, "later")
        expired = await driver.expire_old(scope, created.id)
        assert expired.old_token_expires_at is None
        with pytest.raises(ApiError, match="401"):
            await minted.list_tags()
        _, newest = await driver.rotate(scope, created.id, "now")
        assert await api.location(LOCATION_A, newest.reveal()).list_tags() == []
        agency = await driver.list(IntegrationScope.agency(emulator.company_id))
        assert set(agency) == {"emulator-bootstrap"}
        await driver.delete(scope, created.id)
        assert set(await driver.list(scope)) == {"emulator-bootstrap"}
        with pytest.raises(ApiError, match="-> 404"):
            await driver.delete(scope, created.id)

    run_api(emulator, body)


def test_daily_budget_spent_stops_before_the_next_request(
    emulator: LiveEmulator,
) -> None:
    admin_put(emulator, "/_emulator/limits", {"dailyMax": 3})

    async def body(api: ApiClient) -> None:
        loc = location(api, emulator)
        for _ in range(3):
            await loc.list_tags()
        with pytest.raises(DailyLimitError, match=f"location {LOCATION_A}"):
            await loc.list_tags()

    run_api(emulator, body)
    assert [e["status"] for e in logged(emulator)] == [200, 200, 200]


def test_in_process_through_asgi_transport() -> None:
    provisioned = provisioned_state()
    provisioned.state.store.create_tag(LOCATION_A, "vip")
    spec = LocationSpec(name="alpha", id=LOCATION_A, tags=(Tag("vip"),))
    desired = DesiredState(Target(), AgencySpec(), (spec,), "d", "cfg.yaml")

    async def main() -> Any:
        transport = httpx.ASGITransport(app=create_app(provisioned.state))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox.hlsync.invalid"
        ) as http:
            api = ApiClient(http)
            tokens = {"alpha": provisioned.location_tokens[LOCATION_A]}
            driver = ApiIntegrationDriver(api)
            access = build_access(
                api,
                desired,
                tokens,
                integrations=driver,
                company_id=provisioned.company_id,
            )
            return await read_observed(desired, access)

    try:
        observed = asyncio.run(main())
    finally:
        provisioned.state.close()
    assert set(observed.locations["alpha"].tags) == {"vip"}
    assert set(observed.locations["alpha"].integrations) == {"emulator-bootstrap"}
    assert set(observed.agency_integrations) == {"emulator-bootstrap"}
