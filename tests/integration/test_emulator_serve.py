"""``hlsync emulator serve`` as a real process: URL, tokens file, curl, SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
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


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--port", "99999", "must be a port number from 0 to 65535, not '99999'"),
        ("--port", "-1", "must be a port number from 0 to 65535, not '-1'"),
        ("--port", "abc", "must be a port number from 0 to 65535, not 'abc'"),
        ("--host", "", "must be an IP address or a host name, not ''"),
        ("--host", "local host", "must be an IP address or a host name, not"),
        ("--host", "a" * 64 + ".example", "must be an IP address or a host name"),
        ("--host", "-bad.example", "must be an IP address or a host name"),
    ],
)
def test_bad_port_and_host_are_usage_errors(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulator", "serve", "--allow-remote", f"{flag}={value}"]) == 1
    err = capsys.readouterr().err
    assert f"error: hlsync emulator serve: argument {flag}: {message}" in err
    assert "usage: hlsync emulator serve" in err
    assert "internal error" not in err


def _half_a_request(url: str, request_head: str) -> None:
    """Send the head of a request and half its body, then close the connection."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = f"{request_head}\r\nHost: x\r\nContent-Type: application/json\r\n"
        body = b'{"firstName": "Half'
        sock.sendall(f"{head}Content-Length: 100\r\n\r\n".encode() + body)


def test_dropped_connections_are_one_log_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    tokens_file = tmp_path / "tokens.json"
    with _serve("--tokens-file", str(tokens_file)) as (url, proc):
        location = json.loads(tokens_file.read_text())["locations"][0]
        token = location["token"]
        upstream = f"Authorization: Bearer {token}\r\nVersion: 2021-07-28"
        _half_a_request(url, f"POST /contacts/ HTTP/1.1\r\n{upstream}")
        _half_a_request(url, "POST /_emulator/agencies HTTP/1.1")
        rule = {"route": "POST /contacts/", "failAfterCommit": 1.0, "failMode": "drop"}
        headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.put("/_emulator/faults", json={"rules": [rule]}).is_success
            with pytest.raises(httpx.RemoteProtocolError):
                body = {"firstName": "Ann", "locationId": location["id"]}
                http.post("/contacts/", json=body, headers=headers)
            # the server is still fine afterwards
            assert http.get("/_emulator/").status_code == 200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
    assert "Traceback" not in err and "ClientDisconnect" not in err
    assert token not in out + err
    lines = err.splitlines()
    assert (
        lines.count("WARNING:  POST /contacts/: the client disconnected mid-request")
        == 1
    ), err
    assert (
        lines.count(
            "WARNING:  POST /_emulator/agencies: the client disconnected mid-request"
        )
        == 1
    ), err
    assert (
        lines.count(
            "WARNING:  POST /contacts/: fault injection: connection dropped after commit"
        )
        == 1
    ), err


def test_print_tokens_only_when_asked() -> None:
    with _serve("--print-tokens", "--locations", "1") as (url, proc):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert proc.stdout is not None
        out = proc.stdout.read()  # readline() may have buffered it already
    credentials = json.loads(out)
    assert credentials["baseUrl"] == url
    assert credentials["locations"][0]["token"].startswith("pit-")
