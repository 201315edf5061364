"""verify's probes against the emulator: every probe's route is served, the emulator
checks token → scope → location → body in that order (the assumption verify rests
on, ``hlsync.live.probes``), and no probe writes anything.

Per probe, one request that is wrong in every way the later checks look at: with no
valid token it is refused for the token (401 Invalid JWT); with a token lacking only
the probe's scope, aimed at another location, for the scope (401 not authorized); with
a token holding the scope but of another location, for the location (403); with the
location's own token holding the scope, a write probe is refused for its body (422) and
a read probe answers 200. Before and after, the locations hold the same objects.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hlsync.emulator.app import route_template, upstream_routes
from hlsync.live.probes import AGENCY_PROBES, PROBES, Probe
from tests.emulator_fixtures import COMPANY_ID, LOCATION_A, LOCATION_B, LiveEmulator

pytestmark = pytest.mark.integration

SCOPES = sorted(PROBES)


def _mint(emulator: LiveEmulator, scopes: list[str], location_id: str | None) -> str:
    state = emulator.state
    with state.lock:
        _, token = state.auth.create_integration(
            name=f"probe-{len(state.auth.integrations)}",
            description="",
            scopes=scopes,
            level="sub-account" if location_id else "agency",
            company_id=COMPANY_ID,
            location_id=location_id,
        )
        state.commit()
    return token


def _send(
    emulator: LiveEmulator, token: str, probe: Probe, location_id: str
) -> httpx.Response:
    with emulator.client(token) as http:
        return http.request(
            probe.method,
            probe.path_for(location_id),
            json=probe.body_for(location_id),
        )


def _contents(emulator: LiveEmulator) -> dict[str, Any]:
    """What each location holds, read through the API."""
    found: dict[str, Any] = {}
    for location_id in (LOCATION_A, LOCATION_B):
        with emulator.client(emulator.token(location_id)) as http:
            for segment in ("tags", "customFields", "customValues"):
                answer = http.get(f"/locations/{location_id}/{segment}")
                found[f"{location_id}/{segment}"] = answer.json()
            search = http.post(
                "/contacts/search", json={"locationId": location_id, "pageLimit": 100}
            )
            found[f"{location_id}/contacts"] = search.json()["total"]
    return found


def test_every_probe_route_is_served() -> None:
    routes = upstream_routes()
    for probe in PROBES.values():
        scope = {
            "type": "http",
            "method": probe.method,
            "path": probe.path_for("LOC"),
            "root_path": "",
        }
        template = route_template(routes, scope)
        assert template is not None, probe.shown
        assert template.rstrip("/") == probe.shown.rstrip("/")


@pytest.mark.parametrize("scope", SCOPES)
def test_the_emulator_checks_token_then_scope_then_location_then_body(
    emulator: LiveEmulator, scope: str
) -> None:
    probe = PROBES[scope]
    others = [s for s in SCOPES if s != scope]
    lacking = _mint(emulator, others, LOCATION_A)
    elsewhere = _mint(emulator, SCOPES, LOCATION_B)
    holder = _mint(emulator, SCOPES, LOCATION_A)
    before = _contents(emulator)

    bad = _send(emulator, "pit-00000000-0000-0000-0000-000000000000", probe, LOCATION_B)
    assert (bad.status_code, bad.json()["message"]) == (401, "Invalid JWT")

    no_scope = _send(emulator, lacking, probe, LOCATION_B)
    assert no_scope.status_code == 401
    assert probe.verdict(401, no_scope.json()["message"]) == "missing"

    wrong_location = _send(emulator, elsewhere, probe, LOCATION_A)
    assert wrong_location.status_code == 403
    assert probe.verdict(403, wrong_location.json()["message"]) == "refused"

    held = _send(emulator, holder, probe, LOCATION_A)
    assert held.status_code == (422 if probe.writes else 200), held.text
    assert probe.verdict(held.status_code, held.json().get("message")) == "held"
    if probe.writes:
        messages = held.json()["message"]
        assert "property hlsyncScopeProbe should not exist" in messages

    assert _contents(emulator) == before


def test_the_agency_probe_needs_the_scope_at_the_agency_level(
    emulator: LiveEmulator,
) -> None:
    for scope in sorted(AGENCY_PROBES):
        probe = PROBES[scope]
        holder = _mint(emulator, [scope], None)
        lacking = _mint(emulator, ["users.readonly"], None)
        assert _send(emulator, holder, probe, LOCATION_A).status_code == 200
        refused = _send(emulator, lacking, probe, LOCATION_A)
        assert probe.verdict(401, refused.json()["message"]) == "missing"
