"""The client against hlsync's HighLevel emulator: the ``hlsync_emulator`` fixture comes
from the pytest plugin that ``pip install hlsync`` registers; nothing to configure."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from crm_client import CrmClient, RateLimited

from hlsync.testing import Emulator


@pytest.fixture
def crm(hlsync_emulator: Emulator) -> Iterator[CrmClient]:
    location = hlsync_emulator.location
    client = CrmClient(hlsync_emulator.base_url, location.token, location.id)
    yield client
    client.close()


def test_a_created_contact_is_found_by_email(crm: CrmClient) -> None:
    contact_id = crm.create_contact("ada@example.com", "Ada")
    found = crm.find_by_email("ADA@example.com")  # emails match in any case
    assert found is not None and found["id"] == contact_id
    assert crm.find_by_email("nobody@example.com") is None


def test_the_burst_limit_answers_429(crm: CrmClient, hlsync_emulator: Emulator) -> None:
    # upstream's budget: 100 requests per 10 s per integration and location
    for _ in range(100):
        crm.find_by_email("ada@example.com")
    with pytest.raises(RateLimited) as refused:
        crm.find_by_email("ada@example.com")
    assert refused.value.window_ms == 10_000
    # the request log shows what the client sent and what it got
    log = hlsync_emulator.requests(route="POST /contacts/search")
    assert [entry.status for entry in log] == [200] * 100 + [429]
    # the window follows the emulator's clock: move it on instead of sleeping
    hlsync_emulator.advance_clock(10)
    assert crm.find_by_email("ada@example.com") is None


def test_a_token_without_the_write_scope_cannot_create(
    hlsync_emulator: Emulator,
) -> None:
    reader = hlsync_emulator.create_integration(["contacts.readonly"], name="reader")
    crm = CrmClient(hlsync_emulator.base_url, reader.token, hlsync_emulator.location.id)
    try:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            crm.create_contact("bob@example.com")
        assert refused.value.response.status_code == 401
        assert crm.find_by_email("bob@example.com") is None
    finally:
        crm.close()


def test_search_over_a_large_account(crm: CrmClient, hlsync_emulator: Emulator) -> None:
    # the bulk load puts contacts straight into the store: no rate limit, no log
    hlsync_emulator.load_contacts(
        {"email": f"member{n}@example.com", "firstName": f"Member{n}"}
        for n in range(5000)
    )
    found = crm.find_by_email("member4321@example.com")
    assert found is not None and found["firstNameLowerCase"] == "member4321"
    assert len(hlsync_emulator.requests()) == 1
