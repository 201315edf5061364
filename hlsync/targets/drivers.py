"""Private Integration drivers: one interface, the api driver for the emulator.

HighLevel publishes no API for Private Integrations (reference §7.2; DESIGN.md §4). The
engine still reads and changes them through :class:`IntegrationDriver`; the **api driver**
(:class:`ApiIntegrationDriver`) talks to the emulator's management endpoints under
``/_emulator/integrations`` (not a HighLevel API: unauthenticated, loopback only). A
manual driver for the live cloud (UI steps plus a ledger) implements the same protocol
elsewhere.

Duplicates: hlsync matches integrations by name, but upstream does not stop two with one
name (two applies that raced, a click in the UI). ``list`` keeps one under the name —
the newest (``createdAt``, then id) — and each other one under :func:`duplicate_key`
(``seed-bot#<id>``), so the reader carries them to the planner, which proposes deleting
them (``hlsync.kinds.integration``; the reader keeps instead the one whose token the
sink holds, :meth:`ApiIntegrationDriver.token_owner`).

Tokens: ``create`` and ``rotate`` return the new token as a :class:`Token`, whose
``repr``/``str`` hide the value; only ``reveal()`` gives it, for the caller's sink. The
driver never logs it, and an error never contains it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, Protocol

from hlsync.core.model import ObservedIntegration
from hlsync.upstream.client import ApiClient, ApiError, JSONDict

RotationMode = Literal["later", "now"]
ADMIN_PREFIX = "/_emulator/integrations"
TOKEN_OWNER = "/_emulator/token-owner"
DUPLICATE_MARK = "#"


def duplicate_key(name: str, integration_id: str) -> str:
    """The key of a second integration named ``name``: ``name#id``."""
    return f"{name}{DUPLICATE_MARK}{integration_id}"


def duplicates_of(
    found: Mapping[str, ObservedIntegration], name: str
) -> list[tuple[str, ObservedIntegration]]:
    """The (key, integration) of every other integration named ``name``, by id."""
    prefix = name + DUPLICATE_MARK
    return sorted(
        ((k, v) for k, v in found.items() if k.startswith(prefix) and v.name == name),
        key=lambda kv: kv[1].id,
    )


def keep(
    found: Mapping[str, ObservedIntegration], name: str, integration_id: str
) -> dict[str, ObservedIntegration]:
    """``found`` with the integration ``integration_id`` kept under ``name`` and the
    others of that name as duplicates (no change when it is not one of them)."""
    group = [(name, found[name]), *duplicates_of(found, name)] if name in found else []
    if not any(v.id == integration_id for _, v in group):
        return dict(found)
    out = dict(found)
    for key, _ in group:
        del out[key]
    for _, v in group:
        out[name if v.id == integration_id else duplicate_key(name, v.id)] = v
    return out


def _newest(integration: ObservedIntegration) -> tuple[str, str]:
    return (integration.created_at or "", integration.id)


@dataclass(frozen=True, slots=True)
class IntegrationScope:
    """Where integrations live: the agency (``company_id``) or one location."""

    company_id: str | None = None
    location_id: str | None = None

    @classmethod
    def agency(cls, company_id: str) -> IntegrationScope:
        return cls(company_id=company_id)

    @classmethod
    def location(cls, location_id: str) -> IntegrationScope:
        return cls(location_id=location_id)

    def describe(self) -> str:
        if self.location_id is not None:
            return f"location {self.location_id}"
        return f"agency {self.company_id}"


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What the upstream says of a token: ``live`` (one of the integration's working
    tokens) and ``current`` (its newest, not the old one of a rotation's overlap)."""

    live: bool
    current: bool


class Token:
    """A freshly minted token value; hidden from ``repr``/``str``/format."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value, for writing to the integration's sink and nowhere else."""
        return self._value

    def __repr__(self) -> str:
        return "Token(***)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class IntegrationDriver(Protocol):
    """What the reader and the applier need to manage Private Integrations.

    Integrations are identified by name within a scope (``list`` is keyed by name);
    changes address them by their upstream id. Implementations raise ``HlsyncError``.
    """

    async def list(self, scope: IntegrationScope) -> dict[str, ObservedIntegration]:
        """Every integration of the scope, by name."""
        ...

    async def create(
        self,
        scope: IntegrationScope,
        name: str,
        description: str,
        scopes: Sequence[str],
    ) -> tuple[ObservedIntegration, Token]: ...

    async def update(
        self,
        scope: IntegrationScope,
        integration_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> ObservedIntegration:
        """Edit in place; the token does not change (upstream)."""
        ...

    async def delete(self, scope: IntegrationScope, integration_id: str) -> None: ...

    async def rotate(
        self, scope: IntegrationScope, integration_id: str, mode: RotationMode
    ) -> tuple[ObservedIntegration, Token]:
        """``later``: both tokens work through the overlap; ``now``: old one dies."""
        ...

    async def cancel_rotation(
        self, scope: IntegrationScope, integration_id: str
    ) -> ObservedIntegration: ...

    async def expire_old(
        self, scope: IntegrationScope, integration_id: str
    ) -> ObservedIntegration: ...


def observed_integration(data: Mapping[str, Any]) -> ObservedIntegration:
    """The model object of one admin-API integration (``tokens`` give the overlap)."""
    expiries = sorted(
        str(t["expiresAt"])
        for t in data.get("tokens") or ()
        if isinstance(t, dict) and t.get("expiresAt")
    )
    return ObservedIntegration(
        id=str(data["id"]),
        name=str(data["name"]),
        description=str(data.get("description") or ""),
        scopes=tuple(sorted(str(s) for s in data.get("scopes") or ())),
        created_at=data.get("createdAt"),
        rotated_at=data.get("rotatedAt"),
        old_token_expires_at=expiries[0] if expiries else None,
    )


class ApiIntegrationDriver:
    """The api driver: the emulator's ``/_emulator/integrations`` endpoints.

    Uses the run's :class:`ApiClient` (retries, error mapping) without a bearer token;
    the admin API answers without rate-limit headers, so only the in-flight cap paces it.
    """

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def __repr__(self) -> str:
        return "ApiIntegrationDriver()"

    async def _call(
        self,
        method: str,
        path: str,
        scope: IntegrationScope,
        body: JSONDict | None = None,
        *,
        creates: bool = False,
        params: Mapping[str, str] | None = None,
    ) -> JSONDict:
        return await self._api.request(
            method,
            path,
            token=None,
            location_id=f"_emulator:{scope.describe()}",
            json_body=body,
            params=params,
            creates=creates,
        )

    @staticmethod
    def _integration(answer: JSONDict, method: str, path: str) -> ObservedIntegration:
        data = answer.get("integration")
        if not isinstance(data, dict):
            raise ApiError(
                f"{method} {path} -> unexpected answer: no 'integration' object",
                method=method,
                path=path,
                status=None,
            )
        return observed_integration(data)

    @staticmethod
    def _token(answer: JSONDict, method: str, path: str) -> Token:
        value = answer.get("token")
        if not isinstance(value, str) or not value:
            raise ApiError(
                f"{method} {path} -> unexpected answer: no token in the response",
                method=method,
                path=path,
                status=None,
            )
        return Token(value)

    async def list(self, scope: IntegrationScope) -> dict[str, ObservedIntegration]:
        params = (
            {"locationId": scope.location_id}
            if scope.location_id is not None
            else {"companyId": scope.company_id or ""}
        )
        answer = await self._call("GET", ADMIN_PREFIX, scope, params=params)
        items = answer.get("integrations")
        if not isinstance(items, list):
            raise ApiError(
                f"GET {ADMIN_PREFIX} -> unexpected answer: no 'integrations' list",
                method="GET",
                path=ADMIN_PREFIX,
                status=None,
            )
        found: dict[str, ObservedIntegration] = {}
        for item in items:
            if not isinstance(item, dict):
                continue
            if scope.location_id is None and item.get("level") != "agency":
                continue  # companyId also matches the company's sub-account ones
            integration = observed_integration(item)
            other = found.get(integration.name)
            if other is not None:  # the newest keeps the name (module docstring)
                if _newest(integration) > _newest(other):
                    integration, other = other, integration
                    found[other.name] = other
                found[duplicate_key(integration.name, integration.id)] = integration
                continue
            found[integration.name] = integration
        return found

    async def token_owner(self, scope: IntegrationScope, token: str) -> str | None:
        """The id of the integration ``token`` belongs to (None: none, or expired)."""
        answer = await self._call("POST", TOKEN_OWNER, scope, {"token": token})
        owner = answer.get("integrationId")
        return owner if isinstance(owner, str) else None

    async def create(
        self,
        scope: IntegrationScope,
        name: str,
        description: str,
        scopes: Sequence[str],
    ) -> tuple[ObservedIntegration, Token]:
        body: JSONDict = {
            "name": name,
            "description": description,
            "scopes": list(scopes),
        }
        if scope.location_id is not None:
            body["locationId"] = scope.location_id
        else:
            body["companyId"] = scope.company_id
        answer = await self._call("POST", ADMIN_PREFIX, scope, body, creates=True)
        return (
            self._integration(answer, "POST", ADMIN_PREFIX),
            self._token(answer, "POST", ADMIN_PREFIX),
        )

    async def update(
        self,
        scope: IntegrationScope,
        integration_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> ObservedIntegration:
        body: JSONDict = {}
        if name is not None:
            body["name"] = name
        if description is not None:
            body["description"] = description
        if scopes is not None:
            body["scopes"] = list(scopes)
        path = f"{ADMIN_PREFIX}/{integration_id}"
        answer = await self._call("PATCH", path, scope, body)
        return self._integration(answer, "PATCH", path)

    async def delete(self, scope: IntegrationScope, integration_id: str) -> None:
        await self._call("DELETE", f"{ADMIN_PREFIX}/{integration_id}", scope)

    async def rotate(
        self,
        scope: IntegrationScope,
        integration_id: str,
        mode: RotationMode,
        *,
        overlap: timedelta | None = None,
    ) -> tuple[ObservedIntegration, Token]:
        """``overlap`` (rotate later only): how long the old token keeps working;
        None: the upstream's default of 7 days."""
        path = f"{ADMIN_PREFIX}/{integration_id}/rotate"
        body: JSONDict = {"mode": mode}
        if overlap is not None and mode == "later":
            body["overlapDays"] = overlap.total_seconds() / 86400
        # Not idempotent either: a repeated rotate mints yet another token.
        answer = await self._call("POST", path, scope, body, creates=True)
        return self._integration(answer, "POST", path), self._token(
            answer, "POST", path
        )

    async def token_check(
        self, scope: IntegrationScope, integration_id: str, token: Token
    ) -> TokenCheck:
        """Whether ``token`` is one of the integration's live tokens, and its current
        one. Only the token's sha256 is sent; it needs no scope (``/_emulator/``)."""
        path = f"{ADMIN_PREFIX}/{integration_id}/token-check"
        digest = hashlib.sha256(token.reveal().encode("utf-8")).hexdigest()
        answer = await self._call("POST", path, scope, {"sha256": digest})
        live, current = answer.get("live"), answer.get("current")
        if not isinstance(live, bool) or not isinstance(current, bool):
            raise ApiError(
                f"POST {path} -> unexpected answer: no 'live' and 'current' booleans",
                method="POST",
                path=path,
                status=None,
            )
        return TokenCheck(live=live, current=current)

    async def cancel_rotation(
        self, scope: IntegrationScope, integration_id: str
    ) -> ObservedIntegration:
        path = f"{ADMIN_PREFIX}/{integration_id}/cancel-rotation"
        return self._integration(await self._call("POST", path, scope), "POST", path)

    async def expire_old(
        self, scope: IntegrationScope, integration_id: str
    ) -> ObservedIntegration:
        path = f"{ADMIN_PREFIX}/{integration_id}/expire-old"
        return self._integration(await self._call("POST", path, scope), "POST", path)
