"""Emulator fixtures shared by every test that talks to the emulator.

* ``emulator_server`` (session): one uvicorn server on 127.0.0.1:<free port> in a thread.
* ``emulator`` (function): a fresh in-memory :class:`EmulatorState` with one agency and two
  locations, swapped into that server; gives their bootstrap tokens and a ``client()``.
* ``provisioned_state()``: the same state without a server (for ``ASGITransport`` use).

Registered from ``tests/conftest.py`` with ``pytest_plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from hlsync.emulator.app import create_app
from hlsync.emulator.server import ServerThread
from hlsync.emulator.state import EmulatorState
from hlsync.upstream.tls import tls_context

COMPANY_ID = "compHlsyncAgency0001"
LOCATION_A = "lochlsyncAlpha000001"
LOCATION_B = "lochlsyncBravo000002"
VERSION = "2021-07-28"


@dataclass(slots=True)
class Provisioned:
    """A provisioned state and the bootstrap token values (kept only in memory)."""

    state: EmulatorState
    company_id: str
    agency_token: str
    location_ids: tuple[str, ...]
    location_tokens: dict[str, str] = field(default_factory=dict)


def provisioned_state(**options: Any) -> Provisioned:
    """One agency ``COMPANY_ID`` with locations ``LOCATION_A`` ("Alpha") and
    ``LOCATION_B`` ("Bravo"); ``options`` go to ``EmulatorState.in_memory``."""
    state = EmulatorState.in_memory(**options)
    _, agency_token = state.provision_agency(COMPANY_ID, "hlsync test agency")
    tokens = {}
    for location_id, name in ((LOCATION_A, "Alpha"), (LOCATION_B, "Bravo")):
        _, tokens[location_id] = state.provision_location(COMPANY_ID, name, location_id)
    state.commit()
    return Provisioned(
        state, COMPANY_ID, agency_token, (LOCATION_A, LOCATION_B), tokens
    )


@dataclass(slots=True)
class LiveEmulator:
    """The running server with fresh provisioned state."""

    base_url: str
    app: Starlette
    provisioned: Provisioned

    @property
    def state(self) -> EmulatorState:
        return self.provisioned.state

    @property
    def company_id(self) -> str:
        return self.provisioned.company_id

    @property
    def agency_token(self) -> str:
        return self.provisioned.agency_token

    @property
    def location_ids(self) -> tuple[str, ...]:
        return self.provisioned.location_ids

    @property
    def location_tokens(self) -> dict[str, str]:
        return self.provisioned.location_tokens

    def token(self, location_id: str = LOCATION_A) -> str:
        return self.provisioned.location_tokens[location_id]

    @staticmethod
    def headers(token: str | None, version: str | None = VERSION) -> dict[str, str]:
        """Upstream request headers: bearer token and Version (each omitted if None)."""
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if version is not None:
            headers["Version"] = version
        return headers

    def client(
        self, token: str | None = None, version: str | None = VERSION
    ) -> httpx.Client:
        """A sync client on the server (admin calls need no token)."""
        return httpx.Client(
            base_url=self.base_url,
            headers=self.headers(token, version),
            timeout=10,
            verify=tls_context(),
        )


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[tuple[str, Starlette]]:
    """``(base_url, app)`` of one emulator server for the whole session."""
    app = create_app(EmulatorState.in_memory())
    server = ServerThread(app)
    server.start()
    try:
        yield server.base_url, app
    finally:
        server.stop()


@pytest.fixture
def emulator(emulator_server: tuple[str, Starlette]) -> Iterator[LiveEmulator]:
    """Fresh provisioned state in the session server, for one test."""
    base_url, app = emulator_server
    provisioned = provisioned_state()
    app.state.emulator = provisioned.state
    try:
        yield LiveEmulator(base_url, app, provisioned)
    finally:
        app.state.emulator = EmulatorState.in_memory()
        provisioned.state.close()
