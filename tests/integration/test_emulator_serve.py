"""``hlsync emulator serve`` as a real process: URL, tokens file, curl, SIGTERM."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hlsync.cli import main

pytestmark = pytest.mark.integration

HLSYNC = Path(sys.executable).parent / "hlsync"


@contextmanager
def _serve(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start the console script, yield (base URL, process); SIGTERM on exit."""
    command = [str(HLSYNC), "emulator", "serve", "--port", "0", *args]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            prefix = "hlsync emulator listening on "
            assert line.startswith(prefix), line
            yield line[len(prefix) :].strip(), process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=15)
            except (subprocess.TimeoutExpired, ValueError):
                process.kill()


def _curl(url: str, token: str) -> tuple[int, Any]:
    result = subprocess.run(
        [
            "curl",
            "-s",
            "-w",
            "\n%{http_code}",
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            "Version: 2021-07-28",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    body, _, code = result.stdout.rpartition("\n")
    return int(code), json.loads(body)


def test_serve_answers_curl_and_stops_on_sigterm(tmp_path: Path) -> None:
    tokens_file = tmp_path / "tokens.json"
    with _serve("--tokens-file", str(tokens_file), "--locations", "3") as (url, proc):
        assert url.startswith("http://127.0.0.1:")
        assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
        credentials = json.loads(tokens_file.read_text())
        assert credentials["baseUrl"] == url
        assert len(credentials["locations"]) == 3
        location = credentials["locations"][0]
        code, body = _curl(f"{url}/locations/{location['id']}", location["token"])
        assert code == 200
        assert body["location"]["id"] == location["id"]
        code, body = _curl(f"{url}/locations/{location['id']}", "pit-wrong")
        assert (code, body) == (401, {"statusCode": 401, "message": "Invalid JWT"})
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
    every_token = [credentials["agency"]["token"]] + [
        loc["token"] for loc in credentials["locations"]
    ]
    assert not any(token in out + err for token in every_token)


def test_serve_keeps_db_and_remints_tokens(tmp_path: Path) -> None:
    db = tmp_path / "emu.sqlite3"
    tokens_file = tmp_path / "tokens.json"
    flags = ("--db", str(db), "--tokens-file", str(tokens_file))
    with _serve(*flags, "--location", "locServeFixed0000001:Main Street") as (url, _):
        first = json.loads(tokens_file.read_text())
        assert first["locations"][0]["id"] == "locServeFixed0000001"
        assert first["locations"][0]["name"] == "Main Street"
    with _serve(*flags, "--location", "locServeFixed0000001:Main Street") as (url, _):
        second = json.loads(tokens_file.read_text())
        assert [loc["id"] for loc in second["locations"]] == ["locServeFixed0000001"]
        path = f"{url}/locations/locServeFixed0000001"
        assert _curl(path, second["locations"][0]["token"])[0] == 200
        assert _curl(path, first["locations"][0]["token"])[0] == 401
    assert first["agency"]["token"].encode() not in db.read_bytes()


def test_serve_refuses_remote_host_and_bad_limits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["emulator", "serve", "--host", "0.0.0.0"]) == 1
    assert "refusing to listen on 0.0.0.0" in capsys.readouterr().err
    assert main(["emulator", "serve", "--burst-max", "0"]) == 1
    assert "positive" in capsys.readouterr().err
    assert main(["emulator", "serve", "--error-rate", "2"]) == 1
    assert "errorRate" in capsys.readouterr().err


def test_print_tokens_only_when_asked() -> None:
    with _serve("--print-tokens", "--locations", "1") as (url, proc):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert proc.stdout is not None
        out = proc.stdout.read()  # readline() may have buffered it already
    credentials = json.loads(out)
    assert credentials["baseUrl"] == url
    assert credentials["locations"][0]["token"].startswith("pit-")
