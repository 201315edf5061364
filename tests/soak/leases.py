"""Leases left in the account by dead soak runs, aged by the soak.

An apply holds a lease per location (the custom value ``hlsync lock``, see
``hlsync.locks.lease``) and deletes it when it ends; a SIGKILLed run (or one whose
delete failed under the injected faults) leaves it until it expires, ``TTL`` (90 s)
after its last renewal. A waiting apply then takes it over with a warning. Waiting out
the lease for real after every SIGKILL would make a trial last many minutes, so the
soak stands in for the time passing: a live lease whose owner (``user@host pid N``) is
a soak run on this machine that is no longer alive gets its ``expires`` set to the
emulator's "now". hlsync's own code path is unchanged: the waiting apply finds an
expired lease and takes it over with its warning. A live run's lease is never touched.
:class:`Leases` tracks the ended runs and looks when one ends (and shortly after).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from hlsync.emulator.clock import parse_iso
from hlsync.kinds.custom_value import LEASE_NAME
from tests.soak.account import SoakLocation
from tests.soak.upstream import Upstream

OWNER = re.compile(r"^[^@]*@(?P<host>.+) pid (?P<pid>\d+)$")
# Seconds after a run ended to look for its lease: at once, and again in case a request
# of the killed run was committed just after it died.
LOOKS = (0.0, 1.0, 3.0)


@dataclass(frozen=True, slots=True)
class LeaseSeen:
    """One location's lease as read: its custom value id and parsed value."""

    location: SoakLocation
    value_id: str
    record: dict[str, Any]


class Leases:
    """Ended soak runs and the looks for the leases they may have left."""

    def __init__(self, upstream: Upstream, locations: tuple[SoakLocation, ...]) -> None:
        self._upstream = upstream
        self._locations = locations
        self._dead: set[int] = set()
        self._due: list[float] = []
        self.aged = 0

    def started(self, pid: int) -> None:
        """A new run: should its pid be one of an ended run's, it is alive again."""
        self._dead.discard(pid)

    def ended(self, pid: int, now: float) -> None:
        if pid not in self._dead:
            self._dead.add(pid)
            self._due += [now + delay for delay in LOOKS]

    def look(self, now: float, *, force: bool = False) -> None:
        """Age the dead runs' leases when a look is due (or ``force``)."""
        if force or any(due <= now for due in self._due):
            self._due = [due for due in self._due if due > now]
            self.aged += age_dead_leases(self._upstream, self._locations, self._dead)


def stale(
    record: dict[str, Any], dead: Collection[int], host: str, now: datetime
) -> bool:
    """Whether the lease is live but its owner is one of ``dead`` (pids of ended soak
    runs) on ``host``; an unreadable owner is never taken for dead, nor an unreadable
    expiry for live."""
    match = OWNER.match(str(record.get("owner") or ""))
    if match is None or match["host"] != host or int(match["pid"]) not in dead:
        return False
    try:
        return parse_iso(str(record.get("expires"))) > now
    except ValueError:
        return False


def age_dead_leases(
    upstream: Upstream, locations: tuple[SoakLocation, ...], dead: Collection[int]
) -> int:
    """Expire every live lease a dead soak run left; how many were aged. A request
    the faults fail is simply not counted (the next look tries again)."""
    if not dead:
        return 0
    with upstream.admin_client() as http:  # one client: building one costs CPU
        found = _leases(upstream, locations, http)
        if not found:
            return 0
        now = str(upstream.admin("GET", "/clock", http=http)["now"])
        host = socket.gethostname()
        return sum(
            _expire(upstream, lease, now, http)
            for lease in found
            if stale(lease.record, dead, host, parse_iso(now))
        )


def _leases(
    upstream: Upstream, locations: tuple[SoakLocation, ...], http: httpx.Client
) -> list[LeaseSeen]:
    found: list[LeaseSeen] = []
    for loc in locations:
        path = f"/locations/{loc.id}/customValues"
        try:
            answer = http.get(path, headers=upstream.auth(upstream.tokens[loc.id]))
        except httpx.HTTPError:  # a dropped connection
            continue
        if answer.status_code != 200:
            continue
        for item in answer.json().get("customValues", []):
            if item.get("name") != LEASE_NAME:
                continue
            try:
                record = json.loads(str(item.get("value") or ""))
            except ValueError:
                continue
            if isinstance(record, dict):
                found.append(LeaseSeen(loc, str(item["id"]), record))
    return found


def _expire(upstream: Upstream, lease: LeaseSeen, now: str, http: httpx.Client) -> bool:
    value = json.dumps(lease.record | {"expires": now})
    path = f"/locations/{lease.location.id}/customValues/{lease.value_id}"
    try:
        answer = http.put(
            path,
            json={"name": LEASE_NAME, "value": value},
            headers=upstream.auth(upstream.tokens[lease.location.id]),
        )
    except httpx.HTTPError:
        return False
    return answer.status_code == 200
