"""The lease: an advisory lock kept in the account, as the location custom value
``hlsync lock``.

Its value is JSON ``{"owner": "user@host pid N", "run": "<uuid>", "started": ISO,
"expires": ISO}``, times on the upstream's clock (the ``Date`` header of the answers,
never the local clock: machines disagree, the account's clock is the one all runs see).

* **take** — read the location's custom values; a live lease of another run is
  :class:`LeaseHeld`; an expired one is taken over (with a warning); none: create it.
  Upstream keys custom values by name, so of two racing creates one is refused (400);
  of two racing take-overs the later write wins. Either way each writer waits
  :data:`SETTLE_SECONDS`, reads again and keeps the lease only if the run id there is
  its own — the loser sees the winner and backs off. Where the target refuses a
  second name atomically (``unique_names``: the emulator), a create that answered 2xx
  is the lease at once: the other create was or will be refused, so there is nothing
  to wait for (an apply on the sandbox does not pause half a second for it).
* **renew** — push ``expires`` to upstream now + :data:`TTL` (the guard does it every
  ``TTL / 3`` while the run lasts); a lease found taken by another run is reported.
* **release** — delete it if it is still ours; **break** (``force-unlock``) deletes
  whatever is there. A delete answered "not found" is verified with one read (upstream
  answers 400 for a custom value that is gone, as when a retried delete's first try
  committed and lost its answer).

Needs ``locations/customValues.readonly`` and ``.write`` on the token it is given (the
location's own sub-account token, not a seeding integration's). Never declared, so the
planner never sees it; ``custom_values`` in a config may not use its name.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hlsync.errors import HlsyncError
from hlsync.kinds.custom_value import LEASE_NAME
from hlsync.kinds.shared import delete_verified, derived_key
from hlsync.locks.lockfile import Holder, held_error
from hlsync.upstream.api import LocationApiLike
from hlsync.upstream.client import ApiError, UpstreamClock

LEASE_KEY = derived_key(LEASE_NAME)  # hlsync_lock: no declared custom value may take it
TTL = timedelta(seconds=90)
SETTLE_SECONDS = 0.5
SCOPES = ("locations/customValues.readonly", "locations/customValues.write")


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    holder: Holder
    expires: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "owner": self.holder.owner,
                "run": self.holder.run,
                "started": self.holder.since,
                "expires": self.expires,
            }
        )

    @classmethod
    def parse(cls, text: str) -> LeaseRecord | None:
        holder = Holder.parse(text)
        if holder is None:
            return None
        expires = json.loads(text).get("expires")
        return cls(holder, expires) if isinstance(expires, str) else None

    def expired(self, now: datetime) -> bool:
        try:
            until = datetime.fromisoformat(self.expires.replace("Z", "+00:00"))
        except ValueError:
            return True  # unreadable: nobody can be relying on it
        return until <= now


@dataclass(frozen=True, slots=True)
class Found:
    """The lease as read: its custom value id and record (None: unreadable)."""

    value_id: str
    record: LeaseRecord | None


class LeaseHeld(HlsyncError):
    """Another run holds a live lease."""


def iso(when: datetime) -> str:
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Lease:
    """The lease of one location, taken with ``api`` (see module docstring)."""

    def __init__(
        self,
        name: str,
        api: LocationApiLike,
        clock: UpstreamClock,
        me: Holder,
        *,
        unique_names: bool = False,
    ) -> None:
        self.name = name
        self.api = api
        self.clock = clock
        self.me = me
        self.unique_names = unique_names
        self.label = f"location {name!r}"

    def __repr__(self) -> str:
        return f"Lease({self.name!r})"

    async def read(self) -> Found | None:
        try:
            items = await self.api.call_list(
                f"{self.api.base}/customValues", "customValues"
            )
        except ApiError as exc:
            raise self._scope_error(exc) from exc
        for item in items:
            if derived_key(str(item.get("name") or "")) == LEASE_KEY:
                value = str(item.get("value") or "")
                return Found(str(item["id"]), LeaseRecord.parse(value))
        return None

    def now(self) -> datetime:
        now = self.clock.now()
        if now is None:
            raise HlsyncError(
                f"{self.label}: the upstream sent no readable Date header, so the "
                "lock's expiry cannot be decided (the local clock is never used)"
            )
        return now

    async def take(self) -> str | None:
        """Take the lease; a warning when an expired one was taken over, else None.
        Raises :class:`LeaseHeld` while another run holds it."""
        found = await self.read()
        now = self.now()
        warning = None
        mine = LeaseRecord(replace(self.me, since=iso(now)), iso(now + TTL))
        path = f"{self.api.base}/customValues"
        body = {"name": LEASE_NAME, "value": mine.to_json()}
        if found is None:
            try:
                await self.api.call("POST", path, json_body=body, creates=True)
            except ApiError as exc:
                if exc.status in (401, 403):
                    raise self._scope_error(exc) from exc
                # refused (another run created it first) or lost: read what is there
            else:
                if self.unique_names:
                    self.me = mine.holder
                    return None
        else:
            record = found.record
            if record is not None and record.holder.run != self.me.run:
                if not record.expired(now):
                    raise self._held(record)
                warning = (
                    f"{self.label}: took over an expired lock of {record.holder.owner} "
                    f"(run {record.holder.run}, since {record.holder.since}, expired "
                    f"at {record.expires}); that run may have died mid-apply"
                )
            await self.api.call("PUT", f"{path}/{found.value_id}", json_body=body)
        self.me = mine.holder
        await asyncio.sleep(SETTLE_SECONDS)
        await self._confirm()
        return warning

    async def _confirm(self) -> None:
        found = await self.read()
        record = None if found is None else found.record
        if record is None or record.holder.run != self.me.run:
            if record is not None:
                raise self._held(record)
            raise LeaseHeld(
                f"{self.label}: another run took the lock at the same moment",
                hints=("run again, or pass --lock-timeout SECONDS to wait",),
            )

    async def renew(self) -> str | None:
        """Push the expiry on; a warning when the lease is no longer ours."""
        found = await self.read()
        record = None if found is None else found.record
        if found is None or record is None or record.holder.run != self.me.run:
            who = "nobody" if record is None else record.holder.owner
            return (
                f"{self.label}: the lock was lost while applying (now held by "
                f"{who}); another run may be applying at the same time"
            )
        mine = LeaseRecord(self.me, iso(self.now() + TTL))
        body = {"name": LEASE_NAME, "value": mine.to_json()}
        await self.api.call(
            "PUT", f"{self.api.base}/customValues/{found.value_id}", json_body=body
        )
        return None

    async def release(self) -> None:
        found = await self.read()
        if found is None or found.record is None:
            return
        if found.record.holder.run == self.me.run:
            await self._delete(found.value_id)

    async def _delete(self, value_id: str) -> None:
        """Delete the lease's custom value; "not found" (upstream says 400, as after a
        retried delete whose first answer was lost) is success once a read agrees."""

        async def send() -> None:
            await self.api.call("DELETE", f"{self.api.base}/customValues/{value_id}")

        async def exists() -> bool:
            found = await self.read()
            return found is not None and found.value_id == value_id

        await delete_verified(send, exists)

    async def force_break(self, found: Found) -> None:
        await self._delete(found.value_id)

    def _held(self, record: LeaseRecord) -> LeaseHeld:
        error = held_error(self.label, record.holder, "in the account", record.expires)
        return LeaseHeld(error.message, hints=error.hints)

    def _scope_error(self, exc: ApiError) -> HlsyncError:
        if exc.status not in (401, 403):
            return exc
        return HlsyncError(
            f"{self.label}: cannot keep the apply lock in the account ({exc.message})",
            hints=(
                "the lock is a custom value: the location's own token needs "
                + " and ".join(SCOPES)
                + " (a seeding integration's token is not used for it)",
            ),
        )
