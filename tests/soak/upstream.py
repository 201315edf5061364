"""The soak's emulator: ``hlsync emulator serve`` in a subprocess, and its admin API.

The server runs on 127.0.0.1 with a fresh in-memory account per trial, the soak's
locations provisioned and the burst limit raised (``--burst-max``) so that faults and
kills, not the rate limit, set the pace. Its stderr goes to a file that the soak reads
for tracebacks. Location tokens live in the tokens file and in memory, never printed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.integration.e2e_support import HLSYNC, VERSION
from tests.soak.account import SoakLocation
from tests.soak.settings import Settings

ADMIN = "/_emulator"
START_TIMEOUT = 30.0
BOOTSTRAP = "emulator-bootstrap"


class SoakError(RuntimeError):
    """The soak itself could not run (the emulator did not start, …)."""


@dataclass(frozen=True, slots=True)
class Upstream:
    """A running emulator: its URL and each location's bootstrap token."""

    url: str
    tokens: dict[str, str] = field(repr=False)
    stderr: Path

    def admin(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        http: httpx.Client | None = None,
    ) -> Any:
        """One admin request; pass ``http`` (:meth:`admin_client`) when polling, since
        building a client costs tens of milliseconds of CPU."""
        if http is None:
            with self.admin_client() as fresh:
                return self.admin(method, path, body, http=fresh)
        answer = http.request(method, ADMIN + path, json=body)
        answer.raise_for_status()
        return answer.json()

    def admin_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.auth(token), timeout=30)

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        """The headers of an upstream request made with ``token``."""
        return {"Authorization": f"Bearer {token}", "Version": VERSION}

    def set_faults(self, settings: Settings, seed: int, *, lag_only: bool) -> None:
        """The fault rules on every upstream route; with ``lag_only`` just the lag."""
        lag = {"searchLagMs": settings.search_lag_ms}
        if lag_only:
            rules: list[dict[str, Any]] = [lag] if settings.search_lag_ms else []
        else:
            # fail-after-commit is rolled only when no 5xx was: scale it to its share
            left = 1.0 - settings.error_rate
            after = min(1.0, settings.fail_after_commit / left) if left else 0.0
            drop = after * settings.drop_share
            rules = [
                {
                    **lag,
                    "latencyMs": settings.latency_ms,
                    "errorRate": settings.error_rate,
                },
                {"failAfterCommit": after - drop, "failMode": "502"},
                # conditional on the 502 rule not firing: drop / (1 - (after - drop))
                {"failAfterCommit": min(1.0, drop / (1 - after + drop))}
                | {"failMode": "drop"},
            ]
        self.admin("PUT", "/faults", {"seed": seed, "rules": rules})

    def clear_faults(self) -> None:
        self.admin("DELETE", "/faults")

    def integrations(self, location_id: str) -> list[dict[str, Any]]:
        """The location's Private Integrations (not the bootstrap one), no tokens."""
        found = self.admin("GET", f"/integrations?locationId={location_id}")
        return [i for i in found["integrations"] if i["name"] != BOOTSTRAP]

    def token_ids(self, http: httpx.Client | None = None) -> frozenset[str]:
        """Ids of every live token of every soak integration: a new one is a mint."""
        found = self.admin("GET", "/integrations", http=http)["integrations"]
        return frozenset(
            token["id"]
            for integration in found
            if integration["name"] != BOOTSTRAP
            for token in integration["tokens"]
        )


@contextmanager
def serve(
    folder: Path, locations: tuple[SoakLocation, ...], settings: Settings
) -> Iterator[Upstream]:
    """``hlsync emulator serve`` for the ``with`` block; SIGTERM (then SIGKILL) after."""
    tokens_file = folder / "emulator-tokens.json"
    stderr_path = folder / "emulator.stderr"
    command = [str(HLSYNC), "emulator", "serve", "--host", "127.0.0.1", "--port", "0"]
    command += ["--tokens-file", str(tokens_file)]
    command += ["--burst-max", str(settings.burst_max)]
    for loc in locations:
        command += ["--location", f"{loc.id}:{loc.name}"]
    with (
        stderr_path.open("w", encoding="utf-8") as stderr,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True
        ) as process,
    ):
        try:
            url = _listening(process)
            credentials = json.loads(tokens_file.read_text(encoding="utf-8"))
            tokens = {loc["id"]: loc["token"] for loc in credentials["locations"]}
            upstream = Upstream(url, tokens, stderr_path)
            for loc in locations:  # only hlsync's own matching keeps contacts unique
                upstream.admin(
                    "PATCH",
                    f"/locations/{loc.id}/settings",
                    {"allowDuplicateContact": True},
                )
            yield upstream
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _listening(process: subprocess.Popen[str]) -> str:
    """The URL from the server's first line, read within :data:`START_TIMEOUT`."""
    found: list[str] = []
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: found.append(stdout.readline()))
    reader.daemon = True
    reader.start()
    reader.join(START_TIMEOUT)
    prefix = "hlsync emulator listening on "
    if not found or not found[0].startswith(prefix):
        raise SoakError(f"hlsync emulator serve did not start: {found[:1]!r}")
    return found[0][len(prefix) :].strip()


class MintWatch:
    """Polls the admin API in a thread; counts tokens minted since it started."""

    def __init__(self, upstream: Upstream, every: float = 0.02) -> None:
        self._upstream = upstream
        self._every = every
        self._seen = upstream.token_ids()
        self._mints = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> MintWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def mints(self) -> int:
        with self._lock:
            return self._mints

    def _poll(self) -> None:
        with self._upstream.admin_client() as http:
            while not self._stop.wait(self._every):
                try:
                    now = self._upstream.token_ids(http)
                except httpx.HTTPError:
                    time.sleep(self._every)
                    continue
                with self._lock:
                    self._mints += len(now - self._seen)
                    self._seen = self._seen | now
