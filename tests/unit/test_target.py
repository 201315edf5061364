"""Targets: token references, the live API's manual integration driver, targeting.

No sockets: every case here fails (or succeeds) before a request would be sent.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hlsync.commands._common import select
from hlsync.config.loader import load_config
from hlsync.core.model import DesiredState
from hlsync.errors import HlsyncError
from hlsync.live.manual import MANUAL_COMPANY_ID, ManualIntegrationDriver
from hlsync.targets.drivers import IntegrationScope
from hlsync.targets.location_tokens import resolve_tokens
from hlsync.targets.target import open_target
from tests.examples_copy import copy_example

SECRET = "pit-0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"


def _agency(tmp_path: Path, target: str = "leadconnector") -> DesiredState:
    folder = copy_example("agency", tmp_path)
    main = folder / "hlsync.yaml"
    main.write_text(
        main.read_text().replace("target: sandbox\n", f"target: {target}\n")
    )
    return load_config(folder)


def test_tokens_come_from_variables_and_files(tmp_path: Path) -> None:
    desired = _agency(tmp_path)
    secret = tmp_path / "agency" / "secrets" / "lakeside.token"
    secret.parent.mkdir()
    secret.write_text(f"  {SECRET}-lake\n")
    env = {"HL_DOWNTOWN_TOKEN": f"{SECRET}-down", "HL_UPTOWN_TOKEN": f"{SECRET}-up"}
    assert resolve_tokens(desired, env) == {
        "downtown": f"{SECRET}-down",
        "lakeside": f"{SECRET}-lake",
        "uptown": f"{SECRET}-up",
    }


def test_every_missing_token_is_named_with_what_to_do(tmp_path: Path) -> None:
    desired = _agency(tmp_path)
    secret = tmp_path / "agency" / "secrets" / "lakeside.token"
    with pytest.raises(HlsyncError) as caught:
        resolve_tokens(desired, {"HL_DOWNTOWN_TOKEN": "  "})
    text = str(caught.value)
    assert len(caught.value.problems) == 3
    assert "location 'downtown' (agDowntown00000000001): the environment " in text
    assert "variable HL_DOWNTOWN_TOKEN is not set" in text
    assert "export HL_UPTOWN_TOKEN=" in text
    assert f"the token file {secret} does not exist" in text
    assert "locations.yaml:" in text  # where the location is declared

    secret.parent.mkdir()
    secret.write_text("\n")
    with pytest.raises(HlsyncError, match="is empty"):
        resolve_tokens(
            desired, {"HL_DOWNTOWN_TOKEN": SECRET, "HL_UPTOWN_TOKEN": SECRET}
        )


def test_a_token_value_never_appears_in_a_token_error(tmp_path: Path) -> None:
    desired = _agency(tmp_path)
    with pytest.raises(HlsyncError) as caught:
        resolve_tokens(desired, {"HL_DOWNTOWN_TOKEN": SECRET})
    assert SECRET not in str(caught.value)


def test_the_live_api_reads_integrations_from_the_ledger_before_any_request(
    tmp_path: Path,
) -> None:
    desired = _agency(tmp_path)
    secret = tmp_path / "agency" / "secrets" / "lakeside.token"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    env = {"HL_DOWNTOWN_TOKEN": SECRET, "HL_UPTOWN_TOKEN": SECRET}

    async def opened() -> None:
        async with open_target(desired, environ=env) as access:
            assert isinstance(access.integrations, ManualIntegrationDriver)
            assert access.company_id == MANUAL_COMPANY_ID
            agency = IntegrationScope.agency(MANUAL_COMPANY_ID)
            assert await access.integrations.list(agency) == {}

    asyncio.run(opened())
    (tmp_path / "agency" / "hlsync.ledger.json").write_text("{")
    with pytest.raises(HlsyncError, match=r"hlsync.ledger.json:1:2: "):
        asyncio.run(opened())


def test_select_narrows_locations_and_the_agency(tmp_path: Path) -> None:
    desired = _agency(tmp_path, "sandbox")
    only = select(desired, ["uptown"], [])
    assert [s.name for s in only.locations] == ["uptown"]
    assert only.agency.integrations == ()
    assert only.config_digest == desired.config_digest

    with_agency = select(desired, ["uptown", "agency"], [])
    assert [i.name for i in with_agency.agency.integrations] == ["franchise-reporting"]

    rest = select(desired, [], ["downtown"])
    assert [s.name for s in rest.locations] == ["lakeside", "uptown"]
    assert rest.agency == desired.agency
    assert select(desired, [], []) is desired


def test_select_names_what_it_knows(tmp_path: Path) -> None:
    desired = _agency(tmp_path, "sandbox")
    with pytest.raises(HlsyncError) as caught:
        select(desired, ["midtown"], ["nowhere"])
    assert "'midtown', 'nowhere' are not in the config" in str(caught.value)
    assert "known names: downtown, lakeside, uptown, agency" in str(caught.value)
    with pytest.raises(HlsyncError, match="leave nothing to plan"):
        select(desired, ["uptown"], ["uptown"])
