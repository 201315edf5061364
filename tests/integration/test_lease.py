"""The apply lock's lease (``hlsync.locks.lease``) against the real emulator on
127.0.0.1: racing takers, renewal on the upstream's clock, a lost lease, the scopes
it needs, and the lock file's own wait."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from hlsync.errors import HlsyncError
from hlsync.kinds.custom_value import LEASE_NAME
from hlsync.locks import lease as lease_module
from hlsync.locks.guard import leases
from hlsync.locks.lease import Lease, LeaseHeld
from hlsync.locks.lockfile import Holder, LocalLock
from hlsync.targets.access import TargetAccess
from hlsync.upstream.client import ApiClient, RetryPolicy
from tests.emulator_fixtures import COMPANY_ID, LOCATION_A, LOCATION_B, LiveEmulator

pytestmark = pytest.mark.integration

T = TypeVar("T")


def me(run: str) -> Holder:
    return Holder(owner=f"ci@{run} pid 1", run=run, since="")


def run_with(
    emulator: LiveEmulator, token: str, body: Callable[[ApiClient], Awaitable[T]]
) -> T:
    async def main() -> T:
        async with httpx.AsyncClient(base_url=emulator.base_url) as http:
            return await body(ApiClient(http, retry=RetryPolicy(attempts=1)))

    return asyncio.run(main())


def lease_values(emulator: LiveEmulator) -> list[dict[str, str]]:
    with emulator.state.lock:
        found = emulator.state.store.items.custom_values(LOCATION_A)
    return [json.loads(v["value"]) for v in found if v["name"] == LEASE_NAME]


@pytest.fixture(autouse=True)
def quick_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lease_module, "SETTLE_SECONDS", 0.05)


def race_two_takers(emulator: LiveEmulator, *, unique_names: bool = False) -> None:
    """Two runs take the lease of alpha at once: one wins, the other names it."""

    async def race(api: ApiClient) -> list[BaseException | str | None]:
        loc = api.location(LOCATION_A, emulator.token())
        takers = [
            Lease("alpha", loc, api.clock, me(r), unique_names=unique_names)
            for r in ("racer1", "racer2")
        ]
        return await asyncio.gather(*(t.take() for t in takers), return_exceptions=True)

    results = run_with(emulator, emulator.token(), race)
    winners = [r for r in results if r is None]
    losers = [r for r in results if isinstance(r, LeaseHeld)]
    assert len(winners) == 1 and len(losers) == 1, results
    (stored,) = lease_values(emulator)
    assert f"is locked in the account by {stored['owner']}" in losers[0].message
    assert f"since {stored['started']}" in losers[0].message


def test_of_two_racing_takers_one_wins_and_the_other_names_it(
    emulator: LiveEmulator,
) -> None:
    race_two_takers(emulator)


def test_renewal_uses_the_upstream_clock_and_a_lost_lease_is_reported(
    emulator: LiveEmulator,
) -> None:
    async def scenario(api: ApiClient) -> tuple[str, str | None, str | None]:
        loc = api.location(LOCATION_A, emulator.token())
        first = Lease("alpha", loc, api.clock, me("r1"))
        assert await first.take() is None
        emulator.state.clock.advance(timedelta(seconds=60))
        assert await first.renew() is None
        renewed = lease_values(emulator)[0]["expires"]
        emulator.state.clock.advance(timedelta(seconds=600))  # r1 stalled past expiry
        second = Lease("alpha", loc, api.clock, me("r2"))
        took_over = await second.take()
        lost = await first.renew()
        await first.release()  # not ours any more: left alone
        return renewed, took_over, lost

    renewed, took_over, lost = run_with(emulator, emulator.token(), scenario)
    started = emulator.state.clock.now() - timedelta(seconds=660)
    assert renewed == lease_module.iso(
        started + timedelta(seconds=60) + lease_module.TTL
    )
    assert took_over is not None and "took over an expired lock of ci@r1" in took_over
    assert lost is not None and "the lock was lost while applying" in lost
    assert [v["run"] for v in lease_values(emulator)] == ["r2"]


def test_a_token_without_custom_values_scopes_is_told_which_it_needs(
    emulator: LiveEmulator,
) -> None:
    with emulator.state.lock:
        _, narrow = emulator.state.auth.create_integration(
            name="narrow",
            description="",
            scopes=["contacts.readonly"],
            level="sub-account",
            company_id=COMPANY_ID,
            location_id=LOCATION_A,
        )

    async def take(api: ApiClient) -> None:
        await Lease(
            "alpha", api.location(LOCATION_A, narrow), api.clock, me("r")
        ).take()

    with pytest.raises(HlsyncError) as caught:
        run_with(emulator, narrow, take)
    assert "cannot keep the apply lock in the account" in caught.value.message
    assert "locations/customValues.write" in " ".join(caught.value.hints)
    assert narrow not in str(caught.value)


def test_a_lock_file_waits_then_times_out_naming_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "main.lock"
    first = LocalLock(path, "location 'main'")
    assert first.acquire(me("r1"), 0)
    ticks = iter(range(100))
    waits: list[str] = []
    with pytest.raises(HlsyncError, match=r"locked on this machine by ci@r1 pid 1"):
        LocalLock(path, "location 'main'").acquire(
            me("r2"),
            3,
            clock=lambda: float(next(ticks)),
            sleep=lambda _: None,
            on_wait=lambda e: waits.append(e.message),
        )
    assert len(waits) == 1
    first.release()
    assert LocalLock(path, "location 'main'").acquire(me("r2"), 0)


def test_a_release_whose_delete_answer_was_lost_is_done_without_a_warning(
    emulator: LiveEmulator,
) -> None:
    """The delete commits, its answer is a 502, the retry is told "not found" (upstream
    answers 400 for a missing custom value): the lease is gone, so release succeeds."""
    lost_answer = {
        "route": "DELETE /locations/{locationId}/customValues/{id}",
        "failAfterCommit": 1,
        "times": 1,
    }
    with emulator.client() as admin:
        admin.put("/_emulator/faults", json={"rules": [lost_answer]}).raise_for_status()

    async def scenario(api: ApiClient) -> None:
        loc = api.location(LOCATION_A, emulator.token())
        lease = Lease("alpha", loc, api.clock, me("r1"))
        assert await lease.take() is None
        await lease.release()

    async def main() -> None:
        retry = RetryPolicy(attempts=2, sleep=lambda _: asyncio.sleep(0))
        async with httpx.AsyncClient(base_url=emulator.base_url) as http:
            await scenario(ApiClient(http, retry=retry))

    asyncio.run(main())
    assert lease_values(emulator) == []
    with emulator.client() as admin:
        log = admin.get("/_emulator/requests").json()["requests"]
    deletes = [e["status"] for e in log if e["method"] == "DELETE"]
    assert deletes == [502, 400]


def _lease_runs(emulator: LiveEmulator, location_id: str) -> list[str]:
    with emulator.state.lock:
        found = emulator.state.store.items.custom_values(location_id)
    return [json.loads(v["value"])["run"] for v in found if v["name"] == LEASE_NAME]


def test_many_leases_are_taken_at_once_and_given_back_when_one_is_held(
    emulator: LiveEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    settling = [0, 0]  # settle pauses running now, the most at once
    real_sleep = asyncio.sleep

    async def counted(seconds: float) -> None:
        if seconds != lease_module.SETTLE_SECONDS:
            return await real_sleep(seconds)
        settling[0] += 1
        settling[1] = max(settling)
        try:
            await real_sleep(seconds)
        finally:
            settling[0] -= 1

    async def body(api: ApiClient) -> tuple[list[list[str]], str]:
        apis = {
            "alpha": api.location(LOCATION_A, emulator.token(LOCATION_A)),
            "bravo": api.location(LOCATION_B, emulator.token(LOCATION_B)),
        }
        access = TargetAccess(locations=apis, clock=api.clock)
        out = io.StringIO()
        monkeypatch.setattr(asyncio, "sleep", counted)
        async with leases(access, ["bravo", "alpha"], me("r1"), 0, stream=out):
            inside = [_lease_runs(emulator, loc) for loc in (LOCATION_A, LOCATION_B)]
        # another run holds bravo: alpha, taken at once, is given back, and the
        # ordered path (which keeps two waiting runs from deadlocking) names bravo's
        # holder
        assert await Lease("bravo", apis["bravo"], api.clock, me("r2")).take() is None
        with pytest.raises(LeaseHeld) as held:
            async with leases(access, ["alpha", "bravo"], me("r3"), 0, stream=out):
                pass
        return inside, held.value.message

    inside, message = run_with(emulator, emulator.token(), body)
    assert inside == [["r1"], ["r1"]]
    assert settling[1] == 2  # the two takes settled side by side, not one by one
    assert "location 'bravo'" in message and "ci@r2 pid 1" in message
    assert _lease_runs(emulator, LOCATION_A) == []
    assert _lease_runs(emulator, LOCATION_B) == ["r2"]


def test_where_names_are_unique_a_clean_create_is_the_lease_at_once(
    emulator: LiveEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a target that refuses a second name atomically (the emulator), the create
    that answered 201 holds the lease without the settle pause and its re-read; of two
    racers there, one still wins and the other names it."""
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def counted(seconds: float) -> None:
        if seconds != lease_module.SETTLE_SECONDS:  # the in-thread server's own ticks
            return await real_sleep(seconds)
        pauses.append(seconds)
        await real_sleep(0)

    async def alone(api: ApiClient) -> str | None:
        loc = api.location(LOCATION_A, emulator.token())
        monkeypatch.setattr(asyncio, "sleep", counted)
        lease = Lease("alpha", loc, api.clock, me("r1"), unique_names=True)
        taken = await lease.take()
        monkeypatch.setattr(asyncio, "sleep", real_sleep)
        await lease.release()
        return taken

    assert run_with(emulator, emulator.token(), alone) is None
    assert pauses == []
    with emulator.client() as admin:
        log = admin.get("/_emulator/requests").json()["requests"]
        admin.delete("/_emulator/requests").raise_for_status()
    calls = [e["method"] for e in log if "customValues" in e["path"]]
    assert calls == ["GET", "POST", "GET", "DELETE"]  # read, create; release
    race_two_takers(emulator, unique_names=True)
