"""The emulator's clock: token expiry and rate-limit windows read time from here.

The clock follows real time (UTC) until a test or operator sets it; from then on it is
frozen and moves only when advanced, so rotation windows, rate-limit windows and search
lag can be crossed deterministically (``POST /_emulator/clock``). ``unfreeze`` returns
to real time. Search lag models an index that catches up in wall time: on the unfrozen
clock it does, as operators expect; on a frozen one it catches up as the clock advances.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """A settable UTC clock; ``now()`` is always timezone-aware."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        if frozen_at is not None:
            self.set(frozen_at)

    @property
    def frozen(self) -> bool:
        """True once ``set`` was called (and until ``unfreeze``)."""
        return self._frozen is not None

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
        return datetime.now(UTC)

    def set(self, when: datetime) -> None:
        """Freeze the clock at ``when`` (a naive value is taken as UTC)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        with self._lock:
            self._frozen = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward (or back, for a negative delta); freezes it first."""
        with self._lock:
            base = self._frozen if self._frozen is not None else datetime.now(UTC)
            self._frozen = base + delta

    def unfreeze(self) -> None:
        """Follow real time again."""
        with self._lock:
            self._frozen = None


def isoformat(when: datetime) -> str:
    """``2026-01-02T03:04:05.678Z``: the millisecond UTC form upstream uses."""
    text = when.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` accepted); naive values are UTC.

    Raises ``ValueError`` on anything else.
    """
    when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
