"""Everything one emulator instance knows, behind one lock.

:class:`EmulatorState` bundles the clock, the persistence, upstream's :class:`Store`
(locations, contacts, tags, custom fields, custom values), the auth registry (agencies,
Private Integrations, tokens), the rate limiter, the fault rules and the request log.
Route handlers do their work under ``with state.lock:`` (an ``RLock``: Starlette runs
sync endpoints in a thread pool); the app commits the persistence once per request.

Provisioning lives here too, because it spans the store and the registry: an agency comes
with an integration ``emulator-bootstrap`` holding every agency scope, each location with
one holding every sub-account scope. Their tokens are returned once (and re-minted by
:meth:`EmulatorState.remint_bootstrap` when a process reopens a database, since only
hashes are kept).
"""

from __future__ import annotations

import secrets
import string
import threading
from pathlib import Path
from typing import Any

from hlsync.emulator.auth import BOOTSTRAP_NAME, Agency, AuthRegistry, Level
from hlsync.emulator.clock import Clock
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.faults import Faults
from hlsync.emulator.persist import MemoryPersistence, Persistence, SqlitePersistence
from hlsync.emulator.ratelimit import Limits, RateLimiter
from hlsync.emulator.requestlog import RequestLog
from hlsync.emulator.store import Store

_ID_ALPHABET = string.ascii_letters + string.digits


def new_location_id() -> str:
    """A 20-character alphanumeric id, shaped like upstream's location ids."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


class EmulatorState:
    """One emulator's data and machinery; see the module docstring."""

    def __init__(
        self,
        persistence: Persistence,
        *,
        clock: Clock | None = None,
        limits: Limits | None = None,
        fault_seed: int = 0,
        log_size: int = 100_000,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock if clock is not None else Clock()
        self.persistence = persistence
        self.store = Store(persistence, self.clock)
        self.auth = AuthRegistry(persistence, self.clock)
        self.limits = RateLimiter(
            self.clock, limits if limits is not None else Limits()
        )
        self.faults = Faults(fault_seed)
        self.requests = RequestLog(log_size)

    @classmethod
    def in_memory(cls, **options: Any) -> EmulatorState:
        """A fresh state that lives as long as the object (tests, throwaway servers)."""
        return cls(MemoryPersistence(), **options)

    @classmethod
    def open_sqlite(cls, path: Path, **options: Any) -> EmulatorState:
        """Load (or create) the SQLite database at ``path``; HlsyncError if unusable."""
        return cls(SqlitePersistence(path), **options)

    def commit(self) -> None:
        """Flush buffered writes (the app calls it once per request)."""
        with self.lock:
            self.persistence.commit()

    def close(self) -> None:
        with self.lock:
            self.persistence.close()

    def provision_agency(self, company_id: str, name: str) -> tuple[Agency, str]:
        """Create an agency and its bootstrap integration; returns the agency token."""
        with self.lock:
            agency = self.auth.add_agency(company_id, name)
            return agency, self._mint_bootstrap(company_id, None)

    def provision_location(
        self,
        company_id: str,
        name: str,
        location_id: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """Create a location of ``company_id`` and its bootstrap integration.

        Returns the location record and its sub-account token. 404 for an unknown
        company, 409 when the location id is taken.
        """
        with self.lock:
            if company_id not in self.auth.agencies:
                raise EmulatorError.not_found(f"agency {company_id} not found")
            location_id = location_id or new_location_id()
            if self.store.get_location(location_id) is not None:
                raise EmulatorError(
                    409,
                    {"statusCode": 409, "message": f"location {location_id} exists"},
                )
            location = self.store.add_location(location_id, company_id, name, settings)
            return location, self._mint_bootstrap(company_id, location_id)

    def remint_bootstrap(self, company_id: str, location_id: str | None = None) -> str:
        """Rotate-now the bootstrap integration of an agency or location; new token.

        Recreates the integration if someone deleted it.
        """
        with self.lock:
            found = self.auth.find(
                name=BOOTSTRAP_NAME, company_id=company_id, location_id=location_id
            )
            if found is not None:
                return self.auth.rotate(found.id, later=False)
            return self._mint_bootstrap(company_id, location_id)

    def _mint_bootstrap(self, company_id: str, location_id: str | None) -> str:
        """Create the bootstrap integration of an agency (``location_id`` None) or a
        location, holding every scope of its level; returns its token."""
        level: Level = "agency" if location_id is None else "sub-account"
        _, token = self.auth.create_integration(
            name=BOOTSTRAP_NAME,
            description=f"every {level} scope; minted by the emulator",
            scopes=self.auth.scope_names(level),
            level=level,
            company_id=company_id,
            location_id=location_id,
        )
        return token
