"""A bounded log of upstream requests and counters, for tests and benchmarks.

Every request to an upstream route is recorded: time (emulator clock), method, path,
route template, status, integration and token ids (never a token value), location,
duration. Entries live in a ring buffer (oldest dropped past ``maxlen``); the counters by
route, status and token count every request since the last ``clear``, dropped or not.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hlsync.emulator.clock import isoformat


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    time: datetime
    method: str
    path: str
    route: str | None
    status: int
    integration_id: str | None
    token_id: str | None
    location_id: str | None
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": isoformat(self.time),
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "status": self.status,
            "integrationId": self.integration_id,
            "tokenId": self.token_id,
            "locationId": self.location_id,
            "durationMs": round(self.duration_ms, 3),
        }


class RequestLog:
    """Ring buffer plus counters; not thread-safe (callers hold the state lock)."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=maxlen)
        self._seq = 0
        self.by_route: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.by_token: Counter[str] = Counter()

    def record(
        self,
        *,
        time: datetime,
        method: str,
        path: str,
        route: str | None,
        status: int,
        integration_id: str | None,
        token_id: str | None,
        location_id: str | None,
        duration_ms: float,
    ) -> LogEntry:
        self._seq += 1
        entry = LogEntry(
            self._seq,
            time,
            method,
            path,
            route,
            status,
            integration_id,
            token_id,
            location_id,
            duration_ms,
        )
        self._entries.append(entry)
        self.by_route[route or "(no route)"] += 1
        self.by_status[status] += 1
        self.by_token[token_id or "(none)"] += 1
        return entry

    def entries(
        self,
        *,
        route: str | None = None,
        status: int | None = None,
        since: datetime | None = None,
    ) -> list[LogEntry]:
        """Entries oldest first; ``route`` is ``"METHOD /template"``."""
        return [
            e
            for e in self._entries
            if (route is None or e.route == route)
            and (status is None or e.status == status)
            and (since is None or e.time >= since)
        ]

    def stats(self) -> dict[str, Any]:
        return {
            "total": sum(self.by_status.values()),
            "byRoute": dict(sorted(self.by_route.items())),
            "byStatus": {str(k): v for k, v in sorted(self.by_status.items())},
            "byToken": dict(sorted(self.by_token.items())),
        }

    def clear(self) -> None:
        self._entries.clear()
        self.by_route.clear()
        self.by_status.clear()
        self.by_token.clear()
