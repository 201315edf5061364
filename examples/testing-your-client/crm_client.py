"""A small HighLevel client, the kind of code a project writes and wants to test.

It creates contacts, finds them by email through ``POST /contacts/search``, and turns
HighLevel's 429 into :class:`RateLimited`, which says how long the burst window lasts.
Nothing here knows about the emulator: the tests point it at one.
"""

from __future__ import annotations

from typing import Any

import httpx

VERSION = "2021-07-28"


class RateLimited(Exception):
    """HighLevel answered 429: the token's burst (or daily) budget is spent."""

    def __init__(self, window_ms: int) -> None:
        super().__init__(f"rate limited; the burst window is {window_ms} ms")
        self.window_ms = window_ms


class CrmClient:
    def __init__(self, base_url: str, token: str, location_id: str) -> None:
        self.location_id = location_id
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Version": VERSION},
            timeout=30,
        )

    def close(self) -> None:
        self._http.close()

    def create_contact(self, email: str, first_name: str | None = None) -> str:
        body = {"locationId": self.location_id, "email": email}
        if first_name:
            body["firstName"] = first_name
        created = self._send("POST", "/contacts/", body)
        return str(created["contact"]["id"])

    def find_by_email(self, email: str) -> dict[str, Any] | None:
        found = self._send(
            "POST",
            "/contacts/search",
            {
                "locationId": self.location_id,
                "pageLimit": 1,
                "filters": [{"field": "email", "operator": "eq", "value": email}],
            },
        )
        contacts: list[dict[str, Any]] = found["contacts"]
        return contacts[0] if contacts else None

    def _send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.request(method, path, json=body)
        if response.status_code == 429:
            window = response.headers.get("X-RateLimit-Interval-Milliseconds", "0")
            raise RateLimited(int(window))
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer
