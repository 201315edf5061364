"""Tokens, Private Integrations and the per-request authorisation check.

Upstream facts (reference §2, §3, §7): a Private Integration (PI) belongs to an agency
(company) or to one sub-account (location), holds a set of scopes from the catalog, and
issues a token ``pit-<uuid4>``. Editing name, description or scopes keeps the token.
Rotation: "later" issues a new token and lets the old one live for an overlap (default 7
days); "now" kills the old one at once. During an overlap an operator may cancel the
rotation or expire the old token now. Deleting a PI kills its tokens.

Decisions of ours (documented in the README):

* Token values are never stored: only their sha256. A presented bearer token is hashed and
  looked up, so the database holds no secret and no response but the minting one shows a
  token.
* "Cancel rotation" reverts the rotation: the old token is kept without expiry and the
  token minted by the rotation is revoked (the rotation never happened).
* Times come from the emulator :class:`Clock`, so tests cross a 7-day window by advancing it.

The middleware in ``app`` resolves the bearer token into ``request.state.principal``
(401 "Invalid JWT" when missing, unknown or expired); route handlers then call
:func:`require` with the scope the endpoint needs.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any, Literal, cast

from starlette.requests import Request

from hlsync.core.catalog import Catalog, load_catalog
from hlsync.emulator.clock import Clock, isoformat, parse_iso
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.persist import Persistence

Level = Literal["agency", "sub-account"]
BOOTSTRAP_NAME = "emulator-bootstrap"
DEFAULT_OVERLAP = timedelta(days=7)

INVALID_JWT = {"statusCode": 401, "message": "Invalid JWT"}
NOT_AUTHORIZED = {
    "statusCode": 401,
    "message": "The token is not authorized for this scope.",
}
NO_LOCATION_ACCESS = {
    "statusCode": 403,
    "message": "The token does not have access to this location",
}
# not documented upstream; worded after the location's (reference §3)
NO_COMPANY_ACCESS = {
    "statusCode": 403,
    "message": "The token does not have access to this company",
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: resolved from the bearer token by the middleware."""

    token_id: str
    integration_id: str
    level: Level
    company_id: str
    location_id: str | None
    scopes: frozenset[str]

    @property
    def resource_id(self) -> str:
        """The location (sub-account) or company (agency) the token belongs to."""
        return self.location_id if self.location_id is not None else self.company_id


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "createdAt": self.created_at}


@dataclass(frozen=True, slots=True)
class Integration:
    """A Private Integration; ``to_json`` is what the admin API shows (no token)."""

    id: str
    name: str
    description: str
    scopes: tuple[str, ...]
    level: Level
    company_id: str
    location_id: str | None
    created_at: str
    rotated_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "scopes": list(self.scopes),
            "level": self.level,
            "companyId": self.company_id,
            "locationId": self.location_id,
            "createdAt": self.created_at,
            "rotatedAt": self.rotated_at,
        }


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One token of an integration; ``sha256`` is the hash of its value."""

    id: str
    integration_id: str
    sha256: str
    created_at: str
    expires_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Admin view: id and times only, never the hash."""
        return {
            "id": self.id,
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
        }


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh token value shaped like upstream's: ``pit-`` + a UUID4."""
    return f"pit-{uuid.uuid4()}"


class AuthRegistry:
    """Agencies, Private Integrations and their tokens, persisted through ``persistence``.

    Not thread-safe: callers hold ``EmulatorState.lock``. Every admin failure raises an
    :class:`EmulatorError` (404 unknown id, 409 wrong rotation state, 422 bad scopes).
    """

    def __init__(
        self, persistence: Persistence, clock: Clock, catalog: Catalog | None = None
    ) -> None:
        self._persistence = persistence
        self._clock = clock
        self._catalog = catalog if catalog is not None else load_catalog()
        self.agencies: dict[str, Agency] = {
            id: Agency(**data) for id, data in persistence.load("agency")
        }
        self.integrations: dict[str, Integration] = {}
        for id, data in persistence.load("integration"):
            data["scopes"] = tuple(data["scopes"])
            self.integrations[id] = Integration(**data)
        self.tokens: dict[str, TokenRecord] = {
            id: TokenRecord(**data) for id, data in persistence.load("token")
        }
        self._by_hash = {t.sha256: t.id for t in self.tokens.values()}

    def _now(self) -> str:
        return isoformat(self._clock.now())

    def add_agency(self, company_id: str, name: str) -> Agency:
        if company_id in self.agencies:
            raise EmulatorError(
                409, {"statusCode": 409, "message": f"agency {company_id} exists"}
            )
        agency = Agency(company_id, name, self._now())
        self.agencies[company_id] = agency
        self._persistence.put("agency", company_id, asdict(agency))
        return agency

    def scope_names(self, level: Level) -> tuple[str, ...]:
        """Every catalog scope a token of ``level`` may hold."""
        return tuple(s.name for s in self._catalog.select(level=level))

    def check_scopes(self, scopes: object, level: Level) -> tuple[str, ...]:
        """Validate against the catalog and the level; 422 with every problem found."""
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise EmulatorError.unprocessable(["scopes must be an array of strings"])
        problems = []
        for name in scopes:
            scope = self._catalog.get(name)
            if scope is None:
                hint = self._catalog.suggest(name)
                extra = f" (did you mean {' or '.join(hint)}?)" if hint else ""
                problems.append(f"scope {name} is unknown{extra}")
            elif not scope.allows(level):
                problems.append(
                    f"scope {name} is not available to {level} integrations"
                )
        if problems:
            raise EmulatorError.unprocessable(problems)
        return tuple(sorted(set(scopes)))

    def create_integration(
        self,
        *,
        name: str,
        description: str,
        scopes: Iterable[str],
        level: Level,
        company_id: str,
        location_id: str | None,
    ) -> tuple[Integration, str]:
        """Create a PI; returns it with its token value (the only time it is shown)."""
        checked = self.check_scopes(list(scopes), level)
        integration = Integration(
            id=secrets.token_hex(12),
            name=name,
            description=description,
            scopes=checked,
            level=level,
            company_id=company_id,
            location_id=location_id,
            created_at=self._now(),
        )
        self._save(integration)
        return integration, self._mint(integration.id)

    def get(self, integration_id: str) -> Integration:
        found = self.integrations.get(integration_id)
        if found is None:
            raise EmulatorError.not_found(f"integration {integration_id} not found")
        return found

    def find(
        self, *, name: str, company_id: str, location_id: str | None
    ) -> Integration | None:
        """The integration of that name owned by that company / location, if any."""
        for integration in self.integrations.values():
            if (
                integration.name == name
                and integration.company_id == company_id
                and integration.location_id == location_id
            ):
                return integration
        return None

    def update(
        self,
        integration_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        scopes: list[str] | None = None,
    ) -> Integration:
        """Edit in place; the tokens stay the same (upstream behaviour)."""
        current = self.get(integration_id)
        changed = replace(
            current,
            name=current.name if name is None else name,
            description=current.description if description is None else description,
            scopes=(
                current.scopes
                if scopes is None
                else self.check_scopes(scopes, current.level)
            ),
        )
        self._save(changed)
        return changed

    def live_tokens(self, integration_id: str) -> list[TokenRecord]:
        """Tokens that still work, oldest first."""
        now = self._clock.now()
        found = [
            t
            for t in self.tokens.values()
            if t.integration_id == integration_id
            and (t.expires_at is None or parse_iso(t.expires_at) > now)
        ]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    def rotate(
        self, integration_id: str, *, later: bool, overlap: timedelta = DEFAULT_OVERLAP
    ) -> str:
        """Mint a new token. ``later``: old tokens expire after ``overlap``; else now."""
        integration = self.get(integration_id)
        if later and overlap <= timedelta(0):
            raise EmulatorError.unprocessable(["overlapDays must be positive"])
        old = self.live_tokens(integration_id)
        if later and any(t.expires_at is not None for t in old):
            raise EmulatorError(
                409,
                {
                    "statusCode": 409,
                    "message": "a rotation is already in progress; "
                    "cancel it or expire the old token first",
                },
            )
        expires = isoformat(self._clock.now() + overlap)
        for token in old:
            if later:
                self._save_token(replace(token, expires_at=expires))
            else:
                self._drop_token(token)
        self._save(replace(integration, rotated_at=self._now()))
        return self._mint(integration_id)

    def cancel_rotation(self, integration_id: str) -> Integration:
        """Revert a rotate-later: keep the old token for good, revoke the new one."""
        self.get(integration_id)
        tokens = self.live_tokens(integration_id)
        old = [t for t in tokens if t.expires_at is not None]
        if not old:
            raise _no_rotation()
        for token in tokens:
            if token.expires_at is None:
                self._drop_token(token)
        for token in old:
            self._save_token(replace(token, expires_at=None))
        return self.get(integration_id)

    def expire_old(self, integration_id: str) -> Integration:
        """End a rotate-later overlap now: only the newest token keeps working."""
        self.get(integration_id)
        old = [t for t in self.live_tokens(integration_id) if t.expires_at is not None]
        if not old:
            raise _no_rotation()
        for token in old:
            self._drop_token(token)
        return self.get(integration_id)

    def delete(self, integration_id: str) -> None:
        self.get(integration_id)
        for token in list(self.tokens.values()):
            if token.integration_id == integration_id:
                self._drop_token(token)
        del self.integrations[integration_id]
        self._persistence.delete("integration", integration_id)

    def token_check(self, integration_id: str, sha256: str) -> dict[str, bool]:
        """Whether the token whose sha256 is ``sha256`` belongs to the integration:
        ``live`` (it works now) and ``current`` (it is the newest live token, not the
        old one of a rotation's overlap). 404 for an unknown integration. The caller
        sends a hash, so no token value crosses the admin API for this."""
        self.get(integration_id)
        live = self.live_tokens(integration_id)
        found = [t for t in live if t.sha256 == sha256.lower()]
        return {
            "live": bool(found),
            "current": bool(found) and live[-1].sha256 == sha256.lower(),
        }

    def resolve(self, value: str) -> Principal | None:
        """The principal of a presented token, or None if unknown or expired."""
        token_id = self._by_hash.get(hash_token(value))
        if token_id is None:
            return None
        token = self.tokens[token_id]
        if token.expires_at is not None and parse_iso(token.expires_at) <= (
            self._clock.now()
        ):
            return None
        integration = self.integrations.get(token.integration_id)
        if integration is None:
            return None
        return Principal(
            token_id=token.id,
            integration_id=integration.id,
            level=integration.level,
            company_id=integration.company_id,
            location_id=integration.location_id,
            scopes=frozenset(integration.scopes),
        )

    def to_json(self, integration: Integration) -> dict[str, Any]:
        """The admin view of an integration with its live tokens (ids and times)."""
        body = integration.to_json()
        tokens = self.live_tokens(integration.id)
        body["tokens"] = [t.to_json() for t in tokens]
        body["rotationPending"] = any(t.expires_at is not None for t in tokens)
        return body

    def _mint(self, integration_id: str) -> str:
        value = new_token()
        token = TokenRecord(
            id=uuid.uuid4().hex,
            integration_id=integration_id,
            sha256=hash_token(value),
            created_at=self._now(),
        )
        self._save_token(token)
        return value

    def _save(self, integration: Integration) -> None:
        self.integrations[integration.id] = integration
        data = asdict(integration)
        data["scopes"] = list(integration.scopes)
        self._persistence.put("integration", integration.id, data)

    def _save_token(self, token: TokenRecord) -> None:
        self.tokens[token.id] = token
        self._by_hash[token.sha256] = token.id
        self._persistence.put("token", token.id, asdict(token))

    def _drop_token(self, token: TokenRecord) -> None:
        self.tokens.pop(token.id, None)
        self._by_hash.pop(token.sha256, None)
        self._persistence.delete("token", token.id)


def _no_rotation() -> EmulatorError:
    return EmulatorError(409, {"statusCode": 409, "message": "no rotation in progress"})


def require(
    request: Request,
    scope: str,
    *,
    location_id: str | None,
    levels: tuple[str, ...] = ("sub-account",),
    company_id: str | None = None,
) -> Principal:
    """Authorise the current request for ``scope`` on ``location_id``.

    Raises :class:`EmulatorError` 401 "not authorized for this scope" when the token's
    level is not in ``levels`` or it lacks ``scope``; 403 "does not have access to this
    location" when ``location_id`` is another location (sub-account token) or a location
    of another company (agency token); 403 "does not have access to this company" when
    ``company_id`` (a request naming a company) is not the token's. Pass
    ``location_id=None`` when the request names no location. Call it outside
    ``state.lock`` or inside; it takes the lock itself.
    """
    principal = cast(Principal | None, getattr(request.state, "principal", None))
    if principal is None:
        raise EmulatorError(401, dict(INVALID_JWT))
    if principal.level not in levels or scope not in principal.scopes:
        raise EmulatorError(401, dict(NOT_AUTHORIZED))
    if company_id is not None and company_id != principal.company_id:
        raise EmulatorError(403, dict(NO_COMPANY_ACCESS))
    if location_id is None:
        return principal
    if principal.level == "sub-account":
        if principal.location_id != location_id:
            raise EmulatorError(403, dict(NO_LOCATION_ACCESS))
        return principal
    state = request.app.state.emulator
    with state.lock:
        location = state.store.get_location(location_id)
    if location is None or location.get("companyId") != principal.company_id:
        raise EmulatorError(403, dict(NO_LOCATION_ACCESS))
    return principal
