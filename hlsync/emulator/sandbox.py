"""The embedded sandbox: the emulator in-process over ``httpx.ASGITransport``.

State lives in a SQLite file (by default ``.hlsync/sandbox.sqlite3`` beside the config),
so a contact written in one run is there in the next. Opening provisions the agency and
any location of the config that is missing, and re-mints the bootstrap tokens (rotate now):
only token hashes are stored, so each process gets fresh tokens that live in memory only.

The file is locked while open; a second process gets a clear :class:`HlsyncError`, as
does a file that is not an emulator database.

The sandbox paces requests like upstream (100 per 10 s per integration and location).
For tests only, ``HLSYNC_SANDBOX_BURST_MAX`` raises that burst budget (the test suite's
end-to-end runs, which are not about rate limits, set it as ``hlsync emulator serve
--burst-max`` does for the served twin); it is not a user setting and no config names it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from hlsync.emulator.app import ConnectionDropped, create_app
from hlsync.emulator.ratelimit import Limits
from hlsync.emulator.state import EmulatorState
from hlsync.errors import HlsyncError

SANDBOX_COMPANY_ID = "sandboxAgency0000001"
SANDBOX_BASE_URL = "http://sandbox.hlsync.invalid"
SANDBOX_RELATIVE_PATH = Path(".hlsync") / "sandbox.sqlite3"
# Test-only: a larger burst budget for the sandbox (see the module docstring).
BURST_MAX_VARIABLE = "HLSYNC_SANDBOX_BURST_MAX"


def default_sandbox_db(config_dir: Path) -> Path:
    """``<config dir>/.hlsync/sandbox.sqlite3``."""
    return config_dir / SANDBOX_RELATIVE_PATH


def sandbox_limits(environ: Mapping[str, str]) -> Limits:
    """Upstream's limits, with the burst budget of ``HLSYNC_SANDBOX_BURST_MAX`` if set.

    Raises :class:`HlsyncError` when the variable is not a positive integer.
    """
    raw = environ.get(BURST_MAX_VARIABLE)
    if raw is None:
        return Limits()
    try:
        return Limits(burst_max=int(raw))
    except ValueError as exc:
        raise HlsyncError(
            f"{BURST_MAX_VARIABLE}={raw!r} is not a positive integer (test-only setting)"
        ) from exc


class SandboxTransport(httpx.ASGITransport):
    """ASGITransport that reports the "drop" fault as a real client would see it."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc


@dataclass(slots=True)
class Sandbox:
    """An open sandbox; use ``transport`` with an ``httpx.AsyncClient``."""

    state: EmulatorState
    transport: httpx.ASGITransport
    agency_token: str
    company_id: str
    location_tokens: dict[str, str] = field(default_factory=dict)
    base_url: str = SANDBOX_BASE_URL

    def client(self, token: str) -> httpx.AsyncClient:
        """An async client on the sandbox with ``token`` and ``Version: 2021-07-28``."""
        headers = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
        return httpx.AsyncClient(
            transport=self.transport, base_url=self.base_url, headers=headers
        )

    def close(self) -> None:
        """Commit and close the database (releases its lock)."""
        self.state.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_sandbox(
    db_path: Path,
    locations: Sequence[tuple[str, str]],
    company_id: str = SANDBOX_COMPANY_ID,
) -> Sandbox:
    """Open (creating if needed) the sandbox at ``db_path`` with ``(id, name)`` locations.

    Raises :class:`HlsyncError` if the file is not a sandbox database, is locked by
    another process, or cannot be created (or ``HLSYNC_SANDBOX_BURST_MAX`` is invalid).
    """
    limits = sandbox_limits(os.environ)
    try:
        state = EmulatorState.open_sqlite(db_path, limits=limits)
    except OSError as exc:
        raise HlsyncError(f"{db_path}: cannot open the sandbox ({exc})") from exc
    try:
        with state.lock:
            if company_id in state.auth.agencies:
                agency_token = state.remint_bootstrap(company_id)
            else:
                _, agency_token = state.provision_agency(company_id, "hlsync sandbox")
            tokens: dict[str, str] = {}
            for location_id, name in locations:
                existing = state.store.get_location(location_id)
                if existing is None:
                    _, tokens[location_id] = state.provision_location(
                        company_id, name, location_id
                    )
                elif existing["companyId"] != company_id:
                    raise HlsyncError(
                        f"{db_path}: location {location_id} belongs to another agency "
                        f"({existing['companyId']}) in this sandbox"
                    )
                else:
                    tokens[location_id] = state.remint_bootstrap(
                        company_id, location_id
                    )
            state.commit()
    except BaseException:
        state.close()
        raise
    return Sandbox(
        state=state,
        transport=SandboxTransport(app=create_app(state)),
        agency_token=agency_token,
        company_id=company_id,
        location_tokens=tokens,
    )


def reset_sandbox(db_path: Path) -> bool:
    """Delete the sandbox database (and its WAL files); False if there was none.

    Refuses (HlsyncError) a file that is not a sandbox database or is in use.
    """
    if not db_path.exists():
        return False
    EmulatorState.open_sqlite(db_path).close()
    for suffix in ("", "-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    return True
