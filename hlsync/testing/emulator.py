"""A running HighLevel emulator for another project's tests, and helpers over its admin API.

:class:`EmulatorServer` runs the emulator in a thread on 127.0.0.1 (a free port);
:meth:`EmulatorServer.fresh` gives it an empty account — one agency, one location, each
with a token holding every scope of its level — and returns an :class:`Emulator`, the
handle a test uses: the base URL, the tokens, and one method per admin action (Private
Integrations with chosen scopes, the clock, faults, rate limits, the request log, bulk
loads of contacts, a contact's activity). :meth:`Emulator.from_tokens_file` attaches
the same handle to an emulator started elsewhere with ``hlsync emulator serve
--tokens-file``. The pytest fixture ``hlsync_emulator`` (``hlsync.testing.plugin``) is
one ``fresh()`` per test on one server per session.

Token values live only in fields left out of ``repr`` and never appear in an error
message, so a failing assertion does not print them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from hlsync.emulator.app import create_app
from hlsync.emulator.server import ServerThread
from hlsync.emulator.state import EmulatorState
from hlsync.errors import HlsyncError
from hlsync.upstream.tls import tls_context

VERSION = "2021-07-28"
ADMIN = "/_emulator"
COMPANY_ID = "testAgency0000000001"
LOCATION_ID = "testLocation00000001"
_LOAD_BATCH = 1000  # lines per chunk of a streamed bulk load


def _http(base_url: str, headers: Mapping[str, str] | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers=headers, timeout=60, verify=tls_context()
    )


class EmulatorAdminError(HlsyncError):
    """An admin API call the emulator refused (the message names call and answer)."""


@dataclass(frozen=True, slots=True)
class Location:
    """A location (sub-account) and the token of its bootstrap integration."""

    id: str
    name: str
    company_id: str
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Integration:
    """A Private Integration and its current token."""

    id: str
    name: str
    scopes: tuple[str, ...]
    company_id: str
    location_id: str | None
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One entry of the request log (ids only, never a token)."""

    seq: int
    time: str
    method: str
    path: str
    route: str | None
    status: int
    integration_id: str | None
    token_id: str | None
    location_id: str | None
    duration_ms: float

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LoggedRequest:
        return cls(
            seq=data["seq"],
            time=data["time"],
            method=data["method"],
            path=data["path"],
            route=data["route"],
            status=data["status"],
            integration_id=data["integrationId"],
            token_id=data["tokenId"],
            location_id=data["locationId"],
            duration_ms=data["durationMs"],
        )


class Emulator:
    """One emulator account seen from a test: URL, tokens and admin helpers."""

    def __init__(
        self,
        base_url: str,
        *,
        company_id: str,
        agency_token: str,
        location: Location,
    ) -> None:
        self.base_url = base_url
        self.company_id = company_id
        self._agency_token = agency_token
        self.location = location
        self._admin = _http(base_url + ADMIN)

    def __repr__(self) -> str:
        return f"Emulator({self.base_url!r}, location={self.location.id!r})"

    @classmethod
    def from_tokens_file(cls, path: Path, location_index: int = 0) -> Emulator:
        """Attach to ``hlsync emulator serve --tokens-file PATH``: its URL, agency and
        the ``location_index``-th location."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found = data["locations"][location_index]
            location = Location(
                found["id"], found["name"], data["agency"]["companyId"], found["token"]
            )
            return cls(
                data["baseUrl"],
                company_id=data["agency"]["companyId"],
                agency_token=data["agency"]["token"],
                location=location,
            )
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise HlsyncError(
                f"{path}: not a tokens file of 'hlsync emulator serve' "
                f"({type(exc).__name__})"
            ) from None

    @property
    def agency_token(self) -> str:
        """The agency's token: every agency scope (``locations.readonly`` …)."""
        return self._agency_token

    def close(self) -> None:
        self._admin.close()

    # Talking to the emulated HighLevel API

    def headers(
        self, token: str | None = None, version: str = VERSION
    ) -> dict[str, str]:
        """``Authorization`` (the location's token unless another is given) and
        ``Version``, as HighLevel wants them."""
        return {
            "Authorization": f"Bearer {token or self.location.token}",
            "Version": version,
        }

    def client(self, token: str | None = None, version: str = VERSION) -> httpx.Client:
        """An ``httpx.Client`` on the emulator sending :meth:`headers`."""
        return _http(self.base_url, self.headers(token, version))

    # Accounts and Private Integrations

    def create_location(
        self,
        name: str,
        *,
        id: str | None = None,
        settings: Mapping[str, bool] | None = None,
    ) -> Location:
        """A new location of the agency, with a token holding every sub-account scope."""
        body: dict[str, Any] = {"companyId": self.company_id, "name": name}
        if id is not None:
            body["id"] = id
        if settings is not None:
            body["settings"] = dict(settings)
        made = self._call("POST", "/locations", json=body)
        return Location(made["location"]["id"], name, self.company_id, made["token"])

    def set_location_settings(
        self, location_id: str | None = None, **settings: bool
    ) -> dict[str, Any]:
        """e.g. ``allowDuplicateContact=True``; the location record afterwards."""
        where = location_id or self.location.id
        found: dict[str, Any] = self._call(
            "PATCH", f"/locations/{where}/settings", json=settings
        )["location"]
        return found

    def create_integration(
        self,
        scopes: Iterable[str],
        *,
        name: str = "test integration",
        location_id: str | None = None,
        agency: bool = False,
    ) -> Integration:
        """A Private Integration holding exactly ``scopes``: on the location (or
        ``location_id``), or the agency's with ``agency=True``. Its token works at once."""
        body: dict[str, Any] = {"name": name, "scopes": list(scopes)}
        if agency:
            body["companyId"] = self.company_id
        else:
            body["locationId"] = location_id or self.location.id
        made = self._call("POST", "/integrations", json=body)
        return _integration(made["integration"], made["token"])

    def rotate_integration(
        self, integration: Integration, *, now: bool = False, overlap_days: float = 7
    ) -> Integration:
        """Rotate its token: later (both work for ``overlap_days``) or ``now``."""
        body: dict[str, Any] = {"mode": "now"} if now else {"mode": "later"}
        if not now:
            body["overlapDays"] = overlap_days
        made = self._call("POST", f"/integrations/{integration.id}/rotate", json=body)
        return _integration(made["integration"], made["token"])

    def delete_integration(self, integration: Integration) -> None:
        self._call("DELETE", f"/integrations/{integration.id}")

    # Contacts

    def load_contacts(
        self, contacts: Iterable[Mapping[str, Any]], *, location_id: str | None = None
    ) -> list[str]:
        """Bulk-load contacts (bodies as ``POST /contacts/`` takes them, plus ``id``,
        ``dateAdded`` and activity keys) straight into the store, streamed as JSON lines;
        no rate limit. All or nothing. Returns the new ids in order."""
        where = location_id or self.location.id
        found: dict[str, Any] = self._call(
            "POST",
            f"/locations/{where}/contacts",
            content=_json_lines(contacts),
            headers={"Content-Type": "application/x-ndjson"},
        )
        ids: list[str] = found["ids"]
        return ids

    def set_activity(self, contact_id: str, **activity: Any) -> dict[str, Any]:
        """Set a contact's activity (``followers=[…]``, ``validEmail=True``,
        ``tasks=[…]``, …; ``None`` clears one): what search and the read routes see."""
        found: dict[str, Any] = self._call(
            "PATCH", f"/contacts/{contact_id}/activity", json=activity
        )["activity"]
        return found

    # Clock, faults, rate limits

    def now(self) -> datetime:
        """The emulator's clock."""
        return datetime.fromisoformat(
            self._call("GET", "/clock")["now"].replace("Z", "+00:00")
        )

    def set_clock(self, when: datetime | str) -> datetime:
        """Freeze the clock at ``when`` (naive: UTC); it moves only when advanced."""
        text = when if isinstance(when, str) else when.isoformat()
        self._call("POST", "/clock", json={"set": text})
        return self.now()

    def advance_clock(self, seconds: float) -> datetime:
        """Move the clock on (it freezes if it ran): rate-limit windows, token expiry
        and search lag follow it."""
        self._call("POST", "/clock", json={"advance": seconds})
        return self.now()

    def real_clock(self) -> None:
        """Let the clock follow real time again."""
        self._call("POST", "/clock", json={"real": True})

    def set_faults(self, *rules: Mapping[str, Any], seed: int | None = None) -> None:
        """Replace the fault rules, e.g. ``{"route": "POST /contacts/", "errorRate":
        1.0, "times": 2}`` (keys in docs/emulator-admin-api.md)."""
        body: dict[str, Any] = {"rules": [dict(rule) for rule in rules]}
        if seed is not None:
            body["seed"] = seed
        self._call("PUT", "/faults", json=body)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_limits(
        self,
        *,
        burst_max: int | None = None,
        interval_ms: int | None = None,
        daily_max: int | None = None,
    ) -> dict[str, int]:
        """Change the rate limits (upstream's: 100 per 10,000 ms, 200,000 a day)."""
        wanted = {
            "burstMax": burst_max,
            "intervalMs": interval_ms,
            "dailyMax": daily_max,
        }
        limits: dict[str, int] = self._call(
            "PUT", "/limits", json={k: v for k, v in wanted.items() if v is not None}
        )
        return limits

    def reset_rate_limits(self) -> None:
        """Forget every rate-limit counter."""
        self._call("DELETE", "/limits/counters")

    # The request log

    def requests(
        self,
        *,
        route: str | None = None,
        status: int | None = None,
        since: datetime | str | None = None,
    ) -> list[LoggedRequest]:
        """Logged upstream requests, oldest first; ``route`` is ``"METHOD /template"``
        (``"POST /contacts/search"``, ``"GET /contacts/{contactId}"``)."""
        params: dict[str, str] = {}
        if route is not None:
            params["route"] = route
        if status is not None:
            params["status"] = str(status)
        if since is not None:
            params["since"] = since if isinstance(since, str) else since.isoformat()
        found = self._call("GET", "/requests", params=params)["requests"]
        return [LoggedRequest.from_json(entry) for entry in found]

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def stats(self) -> dict[str, Any]:
        """Request counts by route, status and token id since the last clear."""
        found: dict[str, Any] = self._call("GET", "/stats")
        return found

    def _call(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self._admin.request(method, path, **options)
        except httpx.HTTPError as exc:
            raise EmulatorAdminError(
                f"{method} {ADMIN}{path}: the emulator did not answer ({exc})"
            ) from None
        if response.status_code >= 400:
            try:
                message = response.json().get("message")
            except ValueError:
                message = response.text[:200]
            raise EmulatorAdminError(
                f"{method} {ADMIN}{path}: {response.status_code} {message}"
            )
        return response.json()


def _integration(data: Mapping[str, Any], token: str) -> Integration:
    return Integration(
        id=data["id"],
        name=data["name"],
        scopes=tuple(data["scopes"]),
        company_id=data["companyId"],
        location_id=data["locationId"],
        token=token,
    )


def _json_lines(contacts: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    batch: list[str] = []
    for contact in contacts:
        batch.append(json.dumps(contact))
        if len(batch) == _LOAD_BATCH:
            yield ("\n".join(batch) + "\n").encode()
            batch = []
    if batch:
        yield ("\n".join(batch) + "\n").encode()


class EmulatorServer:
    """The emulator on 127.0.0.1:<free port> in a daemon thread of this process."""

    def __init__(self) -> None:
        self._app = create_app(EmulatorState.in_memory())
        self._thread = ServerThread(self._app)
        self.base_url = self._thread.base_url

    def start(self) -> EmulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._thread.stop()
        self._app.state.emulator.close()

    def fresh(
        self,
        *,
        company_id: str = COMPANY_ID,
        location_id: str = LOCATION_ID,
        location_name: str = "Test location",
    ) -> Emulator:
        """Swap in an empty account — one agency and one location, upstream's rate
        limits, the real clock, no faults, an empty log — and return its handle."""
        previous: EmulatorState = self._app.state.emulator
        self._app.state.emulator = EmulatorState.in_memory()
        previous.close()
        with _http(self.base_url + ADMIN) as admin:
            agency = _created(admin, "/agencies", {"id": company_id, "name": "Agency"})
            made = _created(
                admin,
                "/locations",
                {"companyId": company_id, "name": location_name, "id": location_id},
            )
        location = Location(location_id, location_name, company_id, made["token"])
        return Emulator(
            self.base_url,
            company_id=company_id,
            agency_token=agency["token"],
            location=location,
        )


def _created(admin: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = admin.post(path, json=body)
    if response.status_code != 201:
        raise EmulatorAdminError(f"POST {ADMIN}{path}: {response.status_code}")
    found: dict[str, Any] = response.json()
    return found
