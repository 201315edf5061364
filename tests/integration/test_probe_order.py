"""verify's probes against the emulator app (in process): every probe's route is
served and guarded by the probe's scope, the emulator checks token → scope → location
→ body in that order (the assumption verify rests on, ``hlsync.live.probes``), at both
token levels, and no probe writes anything.

Per probe, one request that is wrong in every way the later checks look at: with no
valid token it is refused for the token (401 Invalid JWT); with a token of the right
level holding every scope but the probe's, aimed at another company's location, for
the scope (401 not authorized); with a token holding the scope but of another company,
for the location or company it names (403); with the location's own token holding
the scope it is held: a write refused for its body (or for an object that cannot
exist), a read answered. Nothing reaches the persistence meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from hlsync.core.catalog import Level, load_catalog
from hlsync.emulator.app import create_app
from hlsync.emulator.persist import MemoryPersistence
from hlsync.emulator.ratelimit import Limits
from hlsync.emulator.state import EmulatorState
from hlsync.live.probes import AGENCY_PROBES, FOREIGN, PROBES, Probe
from tests.emulator_fixtures import COMPANY_ID, LOCATION_A

pytestmark = pytest.mark.integration

OTHER_COMPANY = "compHlsyncOther00002"
OTHER_LOCATION = "lochlsyncOther000003"
CASES = [("sub-account", s) for s in sorted(PROBES)] + [
    ("agency", s) for s in sorted(AGENCY_PROBES)
]
INVALID = "pit-00000000-0000-0000-0000-000000000000"


class WatchedPersistence(MemoryPersistence):
    """Memory persistence that keeps a list of every write once ``watching``."""

    def __init__(self) -> None:
        super().__init__()
        self.watching = False
        self.writes: list[tuple[str, str]] = []

    def put(self, kind: str, id: str, data: dict[str, Any]) -> None:
        if self.watching:
            self.writes.append((kind, id))
        super().put(kind, id, data)

    def delete(self, kind: str, id: str) -> None:
        if self.watching:
            self.writes.append((kind, id))
        super().delete(kind, id)


@dataclass(slots=True)
class World:
    state: EmulatorState
    persistence: WatchedPersistence
    app: Starlette

    def mint(self, scopes: list[str], level: Level, company: str, loc: str) -> str:
        with self.state.lock:
            _, token = self.state.auth.create_integration(
                name=f"probe-{len(self.state.auth.integrations)}",
                description="",
                scopes=scopes,
                level=level,
                company_id=company,
                location_id=None if level == "agency" else loc,
            )
            self.state.commit()
        return token


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    persistence = WatchedPersistence()
    limits = Limits(burst_max=1_000_000)
    state = EmulatorState(persistence, limits=limits)
    for company, location, name in (
        (COMPANY_ID, LOCATION_A, "Alpha"),
        (OTHER_COMPANY, OTHER_LOCATION, "Other"),
    ):
        state.provision_agency(company, f"agency {name}")
        state.provision_location(company, name, location)
    state.commit()
    yield World(state, persistence, create_app(state))


def _send(
    world: World, token: str, probe: Probe, location: str, company: str
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=world.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as c:
            return await c.request(
                probe.method,
                probe.path_for(location, company),
                params=probe.query_for(location, company),
                json=probe.body_for(location, company),
                headers={"Authorization": f"Bearer {token}", "Version": probe.version},
            )

    return asyncio.run(go())


def _message(response: httpx.Response) -> str:
    body = response.json() if response.content else None
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, list):
        return "; ".join(message)
    return str(message or "")


@pytest.mark.parametrize(("level", "scope"), CASES)
def test_every_probe_is_served_guarded_by_its_scope_and_checked_in_order(
    world: World, level: Level, scope: str
) -> None:
    probe = (AGENCY_PROBES if level == "agency" else PROBES)[scope]
    others = [s.name for s in load_catalog().select(level=level) if s.name != scope]
    lacking = world.mint(others, level, COMPANY_ID, LOCATION_A)
    elsewhere = world.mint([scope], level, OTHER_COMPANY, OTHER_LOCATION)
    holder = world.mint([scope], level, COMPANY_ID, LOCATION_A)
    world.persistence.watching = True
    try:
        bad = _send(world, INVALID, probe, OTHER_LOCATION, OTHER_COMPANY)
        assert (bad.status_code, _message(bad)) == (401, "Invalid JWT")

        no_scope = _send(world, lacking, probe, OTHER_LOCATION, OTHER_COMPANY)
        assert no_scope.status_code == 401, no_scope.text
        assert probe.verdict(401, _message(no_scope)) == "missing"

        if probe.names_location or probe.needs_company:
            foreign = _send(world, elsewhere, probe, LOCATION_A, COMPANY_ID)
            assert foreign.status_code == 403, foreign.text
            assert probe.verdict(403, _message(foreign)) == "refused"

        held = _send(world, holder, probe, LOCATION_A, COMPANY_ID)
        assert probe.verdict(held.status_code, _message(held)) == "held", held.text
        if probe.writes and held.status_code == 422:
            assert f"property {FOREIGN} should not exist" in _message(held)
        elif probe.writes:  # a schema that declares no property: no such object
            assert (held.status_code, probe.no_such_object) == (404, True), held.text
        assert world.persistence.writes == []
    finally:
        world.persistence.watching = False
        world.persistence.writes.clear()
