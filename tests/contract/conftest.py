"""Contract tests need the official OpenAPI files beside the repository.

Where ``shared/reference/highlevel-openapi`` is absent they are skipped with the reason,
except under ``CI=true``, where its absence is a failure (CI always has it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import require_shared, under_ci
from tests.contract.openapi import OPENAPI
from tests.emulator_fixtures import LOCATION_A, LOCATION_B, VERSION, LiveEmulator


def require_official_files(folder: Path, ci: bool) -> None:
    """Skip (or, under CI, fail) with the reason when ``folder`` lacks the spec files."""
    reason = f"the official OpenAPI files are not at {folder}"
    require_shared(folder / "apps" / "contacts.json", reason, ci)


@pytest.fixture(autouse=True)
def official_files() -> None:
    require_official_files(OPENAPI, under_ci())


@dataclass(slots=True)
class World:
    """A provisioned emulator with one of everything, and tokens of several reaches.

    ``tokens``: ``full`` (every sub-account scope of location A), ``readonly``
    (contacts.readonly + locations.readonly), ``bare`` (calendars.readonly only: no
    scope of any route under test), ``agency`` (the agency bootstrap token).
    """

    emulator: LiveEmulator
    tokens: dict[str, str]
    http: httpx.Client
    ids: dict[str, str] = field(default_factory=dict)

    def call(
        self,
        method: str,
        url: str,
        *,
        token: str = "full",
        version: str = VERSION,
        json: Any = None,
        content: str | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {
            **self.emulator.headers(self.tokens[token], version),
            "Content-Type": "application/json",
        }
        return self.http.request(
            method,
            url.format(**self.ids),
            json=json,
            content=content,
            params=params,
            headers=headers,
        )


def _token(emulator: LiveEmulator, scopes: list[str], name: str) -> str:
    state = emulator.state
    with state.lock:
        _, token = state.auth.create_integration(
            name=name,
            description="contract tests",
            scopes=scopes,
            level="sub-account",
            company_id=emulator.company_id,
            location_id=LOCATION_A,
        )
    return token


@pytest.fixture(scope="session")
def http(emulator_server: tuple[str, Any]) -> Iterator[httpx.Client]:
    """One client for the session: creating an httpx.Client costs ~0.1 s (SSL setup)."""
    with httpx.Client(base_url=emulator_server[0], timeout=10) as client:
        yield client


@pytest.fixture
def world(emulator: LiveEmulator, http: httpx.Client) -> World:
    tokens = {
        "full": emulator.token(LOCATION_A),
        "readonly": _token(
            emulator, ["contacts.readonly", "locations.readonly"], "readonly"
        ),
        "bare": _token(emulator, ["calendars.readonly"], "bare"),
        "agency": emulator.agency_token,
    }
    w = World(emulator, tokens, http, {"loc": LOCATION_A, "other": LOCATION_B})
    w.ids["missing"] = "A" * 20

    def made(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    field_ = made(
        w.call(
            "POST",
            "/locations/{loc}/customFields",
            json={"name": "Nick", "dataType": "TEXT"},
        )
    )
    w.ids["field"] = field_["customField"]["id"]
    contact = made(
        w.call(
            "POST",
            "/contacts/",
            json={"locationId": LOCATION_A, "email": "world@x.io", "firstName": "W"},
        )
    )
    w.ids["contact"] = contact["contact"]["id"]
    w.ids.update(task="worldTask00000000001", note="worldNote00000000001")
    w.ids["business"] = "worldBusiness0000001"
    made(
        http.patch(
            f"/_emulator/contacts/{w.ids['contact']}/activity",
            json={
                "businessId": w.ids["business"],
                "tasks": [
                    {
                        "id": w.ids["task"],
                        "title": "Call back",
                        "dueDate": "2026-07-08T02:30:00.000Z",
                        "completed": False,
                    }
                ],
                "notes": [{"id": w.ids["note"], "body": "Met at the fair"}],
                "appointments": [
                    {
                        "calendarId": "worldCalendar0000001",
                        "startTime": "2026-07-16 11:00:00",
                        "endTime": "2026-07-16 11:30:00",
                        "title": "Intro",
                        "appointmentStatus": "confirmed",
                    }
                ],
            },
        )
    )
    spare = made(w.call("POST", "/contacts/", json={"locationId": LOCATION_A}))
    w.ids["spare"] = spare["contact"]["id"]
    tag = made(w.call("POST", "/locations/{loc}/tags", json={"name": "world"}))
    w.ids["tag"] = tag["tag"]["id"]
    value = made(
        w.call(
            "POST", "/locations/{loc}/customValues", json={"name": "W", "value": "1"}
        )
    )
    w.ids["value"] = value["customValue"]["id"]
    return w
