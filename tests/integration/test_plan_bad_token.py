"""A token upstream does not accept fails the plan, even when the config declares
nothing that needs reading (the lists read only to name unmanaged objects): only a
refusal for a missing scope is noted instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from hlsync.cli import main
from tests.emulator_fixtures import LOCATION_A, LOCATION_B, LiveEmulator

pytestmark = pytest.mark.integration


def _config(folder: Path, url: str) -> Path:
    (folder / "hlsync.yaml").write_text(
        "version: 1\n"
        f'target: {{url: "{url}"}}\n'
        "locations:\n"
        "  alpha:\n"
        f"    id: {LOCATION_A}\n"
        "    token: {env: ALPHA_TOKEN}\n",
        encoding="utf-8",
    )
    return folder


def test_an_unknown_token_fails_the_plan(
    emulator: LiveEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _config(tmp_path, emulator.base_url)
    monkeypatch.setenv("ALPHA_TOKEN", "pit-not-a-token-upstream-knows")
    assert main(["plan", str(config), "--detailed-exitcode"]) == 1
    out, err = capsys.readouterr()
    assert "No changes" not in out
    assert "401" in err and "Invalid JWT" in err, err
    assert "pit-not-a-token-upstream-knows" not in out + err

    # another location's token: refused outright too (403), not "not listed"
    monkeypatch.setenv("ALPHA_TOKEN", emulator.token(LOCATION_B))
    assert main(["plan", str(config), "--detailed-exitcode"]) == 1
    out, err = capsys.readouterr()
    assert "No changes" not in out and "403" in err, out + err

    monkeypatch.setenv("ALPHA_TOKEN", emulator.token(LOCATION_A))
    assert main(["plan", str(config), "--detailed-exitcode"]) == 0
