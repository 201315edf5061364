"""The embedded sandbox keeps state between processes; ``hlsync sandbox reset``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hlsync.cli import main
from hlsync.emulator.faults import FaultRule
from hlsync.emulator.sandbox import (
    BURST_MAX_VARIABLE,
    default_sandbox_db,
    open_sandbox,
)
from hlsync.errors import HlsyncError

LOCATION = "locSandboxAlpha00001"

WRITE = """
import asyncio, json, sys
from pathlib import Path
from hlsync.emulator.faults import FaultRule
from hlsync.emulator.sandbox import open_sandbox

async def write(sandbox):
    async with sandbox.client(sandbox.location_tokens[sys.argv[2]]) as client:
        response = await client.post(
            "/contacts/upsert",
            json={"locationId": sys.argv[2], "email": "kept@example.com",
                  "firstName": "Kept"},
        )
        response.raise_for_status()
        return response.json()["contact"]["id"]

with open_sandbox(Path(sys.argv[1]), [(sys.argv[2], "Alpha")]) as sandbox:
    print(json.dumps({"id": asyncio.run(write(sandbox))}))
"""

READ = """
import asyncio, json, sys
from pathlib import Path
from hlsync.emulator.faults import FaultRule
from hlsync.emulator.sandbox import open_sandbox

async def read(sandbox):
    async with sandbox.client(sandbox.location_tokens[sys.argv[2]]) as client:
        response = await client.get(f"/contacts/{sys.argv[3]}")
        return response.status_code, response.json()

with open_sandbox(Path(sys.argv[1]), [(sys.argv[2], "Alpha")]) as sandbox:
    status, body = asyncio.run(read(sandbox))
    print(json.dumps({"status": status, "body": body}))
"""


def _python(script: str, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_contact_survives_between_processes(tmp_path: Path) -> None:
    db = default_sandbox_db(tmp_path)
    written = _python(WRITE, str(db), LOCATION)
    assert db.exists()
    read = _python(READ, str(db), LOCATION, str(written["id"]))
    assert read["status"] == 200
    body = read["body"]
    assert isinstance(body, dict)
    assert body["contact"]["email"] == "kept@example.com"
    assert body["contact"]["locationId"] == LOCATION


def test_sandbox_in_process_tokens_and_lock(tmp_path: Path) -> None:
    db = tmp_path / ".hlsync" / "sandbox.sqlite3"
    with open_sandbox(db, [(LOCATION, "Alpha")]) as sandbox:
        first = sandbox.location_tokens[LOCATION]
        with pytest.raises(HlsyncError, match="in use by another process"):
            open_sandbox(db, [(LOCATION, "Alpha")])

        async def probe(token: str) -> int:
            async with sandbox.client(token) as client:
                response = await client.get(f"/locations/{LOCATION}")
                return response.status_code

        assert asyncio.run(probe(first)) == 200
        assert asyncio.run(probe(sandbox.agency_token)) == 200
    assert first.encode() not in db.read_bytes()
    with open_sandbox(
        db, [(LOCATION, "Alpha"), ("locSandboxBravo00002", "B")]
    ) as again:
        assert again.location_tokens[LOCATION] != first
        assert again.state.auth.resolve(first) is None
        assert sorted(again.location_tokens) == [LOCATION, "locSandboxBravo00002"]


def test_sandbox_refuses_foreign_file(tmp_path: Path) -> None:
    db = tmp_path / "not-a-sandbox.sqlite3"
    db.write_text("hello")
    with pytest.raises(HlsyncError, match="not an hlsync emulator database"):
        open_sandbox(db, [(LOCATION, "Alpha")])


def test_sandbox_reset_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hlsync.yaml"
    config.write_text("version: 1\n")
    db = default_sandbox_db(tmp_path)
    open_sandbox(db, [(LOCATION, "Alpha")]).close()
    assert main(["sandbox", "reset", str(config)]) == 0
    assert "sandbox reset" in capsys.readouterr().out
    assert not db.exists()
    assert not db.with_name(db.name + "-wal").exists()
    assert main(["sandbox", "reset", str(tmp_path)]) == 0
    assert "nothing to reset" in capsys.readouterr().out
    assert main(["sandbox", "reset", str(tmp_path / "missing")]) == 1
    assert not db.parent.exists()  # .hlsync/ went too, being empty
    db.parent.mkdir()
    db.write_text("precious data")
    assert main(["sandbox", "reset", str(tmp_path)]) == 1
    assert "not an hlsync emulator database" in capsys.readouterr().err
    assert db.read_text() == "precious data"


def test_sandbox_reset_follows_the_configured_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hlsync.yaml"
    config.write_text("version: 1\ntarget:\n  sandbox:\n    db: state/sb.sqlite3\n")
    db = tmp_path / "state" / "sb.sqlite3"
    open_sandbox(db, [(LOCATION, "Alpha")]).close()
    assert main(["sandbox", "reset", str(tmp_path)]) == 0
    assert str(db) in capsys.readouterr().out
    assert not db.exists()


def test_sandbox_drop_fault_is_a_protocol_error(tmp_path: Path) -> None:
    db = default_sandbox_db(tmp_path)
    with open_sandbox(db, [(LOCATION, "Alpha")]) as sandbox:
        sandbox.state.faults.set(
            [
                FaultRule(
                    route="POST /contacts/upsert",
                    fail_after_commit=1.0,
                    fail_mode="drop",
                )
            ]
        )

        async def upsert() -> None:
            async with sandbox.client(sandbox.location_tokens[LOCATION]) as client:
                await client.post(
                    "/contacts/upsert",
                    json={"locationId": LOCATION, "email": "gone@example.com"},
                )

        with pytest.raises(httpx.RemoteProtocolError):
            asyncio.run(upsert())
        assert sandbox.state.store.contact_count(LOCATION) == 1


def _burst_max(db: Path) -> str:
    """The ``X-RateLimit-Max`` a request to a freshly opened sandbox reports."""
    with open_sandbox(db, [(LOCATION, "Alpha")]) as sandbox:

        async def probe() -> str:
            async with sandbox.client(sandbox.location_tokens[LOCATION]) as client:
                response = await client.get(f"/locations/{LOCATION}")
                assert response.status_code == 200
                return response.headers["x-ratelimit-max"]

        return asyncio.run(probe())


def test_sandbox_paces_like_upstream_unless_a_test_raises_its_burst(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "sandbox.sqlite3"
    assert _burst_max(db) == "100"
    monkeypatch.setenv(BURST_MAX_VARIABLE, "5000")
    assert _burst_max(db) == "5000"
    for bad in ("0", "many"):
        monkeypatch.setenv(BURST_MAX_VARIABLE, bad)
        with pytest.raises(HlsyncError, match=f"{BURST_MAX_VARIABLE}='{bad}' is not"):
            open_sandbox(db, [(LOCATION, "Alpha")])
    monkeypatch.delenv(BURST_MAX_VARIABLE)
    assert _burst_max(db) == "100"  # the raised budget was never stored
