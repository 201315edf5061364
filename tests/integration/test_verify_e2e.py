"""``hlsync verify`` through the installed command against ``hlsync emulator serve``
(issue 13, must show): a token missing one declared write scope fails naming it; a
token holding one undeclared scope fails ``--excess`` naming it, with the runbook's
edit that unticks it, after probing every other catalog scope of its level (none left
unverifiable); with exactly the declared scopes both pass; and the request log shows
that no probe of verify's wrote anything.

The operator's side is the emulator's admin API (what the UI does: create the
integration, tick boxes, copy the token); the token goes into the integration's default
token file, where ``hlsync token deliver`` would have put it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hlsync.core.catalog import load_catalog
from hlsync.live.manual import URL_ENV
from hlsync.live.probes import PROBES
from tests.integration.e2e_support import Served, run_hlsync, serve

pytestmark = pytest.mark.integration

MAIN = ("main", "e2eVerifyLocation0001", "MAIN_TOKEN")
DECLARED = [
    "contacts.readonly",
    "contacts.write",
    "locations/tags.readonly",
    "locations/tags.write",
]
CONFIG = f"""\
version: 1
target: leadconnector
locations:
  main:
    id: {MAIN[1]}
    token: {{env: MAIN_TOKEN}}
    integrations:
      seed-bot:
        description: Loads the seed contacts from CI
        scopes: [{", ".join(DECLARED)}]
"""
KEY = "main/seed-bot"


def _scope_lines(out: str) -> dict[str, str]:
    """The report's line of each scope (the lines above ``Result:``)."""
    checks = out.split("\nResult:", 1)[0]
    return {line.split()[0]: line for line in checks.splitlines() if line[:2] == "  "}


def _patch_scopes(served: Served, integration_id: str, scopes: list[str]) -> None:
    """The operator edits the integration in the UI; its token stays the same."""
    with served.client() as admin:
        edited = admin.patch(
            f"/_emulator/integrations/{integration_id}", json={"scopes": scopes}
        )
    assert edited.status_code == 200, edited.text


def test_verify_finds_a_missing_write_scope_and_an_extra_one_and_writes_nothing(
    tmp_path: Path,
) -> None:
    # --excess probes all 87 sub-account scopes: beyond upstream's 100 per 10 s
    with serve(tmp_path, (MAIN,), "--burst-max", "5000") as served:
        config = tmp_path / "live"
        config.mkdir()
        (config / "hlsync.yaml").write_text(CONFIG, encoding="utf-8")
        env = {URL_ENV: served.url, "MAIN_TOKEN": served.token(MAIN[1])}
        with served.client() as admin:
            created = admin.post(
                "/_emulator/integrations",
                json={
                    "name": "seed-bot",
                    "scopes": [s for s in DECLARED if s != "contacts.write"],
                    "locationId": MAIN[1],
                },
            ).json()
            admin.delete("/_emulator/requests")
        integration_id, token = created["integration"]["id"], created["token"]
        sink = config / ".hlsync" / "tokens" / "main.seed-bot.token"
        sink.parent.mkdir(parents=True)
        sink.write_text(token + "\n", encoding="utf-8")
        sink.chmod(0o600)

        missing = run_hlsync("verify", KEY, cwd=config, env=env)
        assert missing.returncode == 1, missing.stdout + missing.stderr
        lines = _scope_lines(missing.stdout)
        assert "MISSING" in lines["contacts.write"]
        assert "POST /contacts/ -> 401 The token is not authorized" in missing.stdout
        assert " ok " in lines["locations/tags.write"]
        assert "Result: 1 scope missing, 3 ok, 0 not verifiable." in missing.stdout
        assert "[x] contacts.write" in missing.stdout  # the runbook's edit ticks it

        _patch_scopes(
            served, integration_id, [*DECLARED, "locations/customValues.write"]
        )
        extra = run_hlsync("verify", KEY, "--excess", cwd=config, env=env)
        assert extra.returncode == 1, extra.stdout + extra.stderr
        lines = _scope_lines(extra.stdout)
        assert "EXTRA" in lines["locations/customValues.write"]
        assert "absent" in lines["locations/customFields.write"]
        sub_account = {s.name for s in load_catalog().select(level="sub-account")}
        assert set(lines) == sub_account  # every catalog scope of its level
        absent = len(sub_account) - len(DECLARED) - 1
        assert "Result: 0 scopes missing, 4 ok, 0 not verifiable." in extra.stdout
        assert (
            "Excess: 1 scope held beyond the declared ones "
            f"(locations/customValues.write), {absent} absent, as they should be; "
            "0 not verifiable." in extra.stdout
        )
        untick = extra.stdout.split("untick the extra scope:\n", 1)[1]
        assert '"Edit"' in untick and '"Next"' in untick and '"Update"' in untick
        assert "[ ] locations/customValues.write" in untick
        assert "$ hlsync verify main/seed-bot --excess" in untick

        _patch_scopes(served, integration_id, DECLARED)
        clean = run_hlsync("verify", KEY, "--excess", cwd=config, env=env)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert "Excess: 0 scopes held beyond the declared ones" in clean.stdout

        with served.client() as admin:
            log: list[dict[str, Any]] = admin.get("/_emulator/requests").json()[
                "requests"
            ]
        probes = [e for e in log if e["integrationId"] == integration_id]
        company = created["integration"]["companyId"]
        write_probes = {
            (p.method, p.path_for(MAIN[1], company))
            for p in PROBES.values()
            if p.writes
        }
        writes = [e for e in probes if (e["method"], e["path"]) in write_probes]
        assert {(e["method"], e["path"]) for e in writes} == write_probes
        statuses = {e["status"] for e in writes}
        assert 422 in statuses and statuses <= {401, 404, 422}
        sent = {(p.method, p.path_for(MAIN[1], company)) for p in PROBES.values()}
        assert {(e["method"], e["path"]) for e in probes} <= sent  # nothing else
        for run in (missing, extra, clean):
            assert token not in run.stdout + run.stderr
