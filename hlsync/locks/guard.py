"""The apply lock: what ``apply``, the token verbs and ``force-unlock`` use.

``local_locks`` (a context manager, taken before the target is opened, so a waiting
run never holds the sandbox database) holds ``.hlsync/locks/<location>.lock`` for each
targeted location, and ``agency.lock`` when the agency's integrations are in the run.
``leases`` (async, once the target is open) takes the lease of each targeted location
in the account (``hlsync.locks.lease``); the agency has no custom values, so agency
integrations are covered by the leases of every targeted location plus the local
agency lock. Both take their locks in name order (two waiting runs cannot deadlock)
and wait up to ``timeout`` seconds (``--lock-timeout``; 0: fail at once), polling; the
deadline is a local duration, the leases' expiry the upstream's time. While the run
lasts, a background task renews every lease each ``TTL / 3``; at the end each lease
still ours is deleted, also after an error or Ctrl-C (a SIGKILLed run leaves it to
expire, and the next run takes it over with a warning). Without contention ``leases``
takes every lease at once (one settle pause for all, not one per location); when
another run holds any, it gives back what it took and goes the ordered way.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import TextIO

from hlsync.core.model import DesiredState
from hlsync.errors import HlsyncError
from hlsync.locks.lease import TTL, Lease, LeaseHeld, iso
from hlsync.locks.lockfile import LOCK_DIR, Holder, LocalLock

__all__ = ["Holder", "leases", "local_locks", "lock_names", "whoami"]
from hlsync.targets.access import TargetAccess
from hlsync.tokens.sinks.routing import config_dir
from hlsync.upstream.client import UpstreamClock

LEASE_POLL_SECONDS = 1.0
AGENCY_LOCK = "agency"


def whoami() -> Holder:
    """This run: ``user@host pid N``, a fresh run id, the local start time (a label)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Holder(
        owner=f"{user}@{socket.gethostname()} pid {os.getpid()}",
        run=uuid.uuid4().hex[:12],
        since=iso(datetime.now(UTC)),
    )


def lock_names(desired: DesiredState, *, agency: bool) -> tuple[str, ...]:
    """The local lock files a run over ``desired`` takes, sorted."""
    names = sorted(spec.name for spec in desired.locations)
    if agency:
        names.append(AGENCY_LOCK)
    return tuple(sorted(names))


@contextmanager
def local_locks(
    desired: DesiredState,
    names: Sequence[str],
    me: Holder,
    timeout: float,
    *,
    stream: TextIO = sys.stderr,
) -> Iterator[None]:
    """Hold the local lock file of each name (module docstring)."""
    folder = config_dir(desired) / LOCK_DIR
    held: list[LocalLock] = []
    deadline = time.monotonic() + timeout
    try:
        for name in names:
            label = "the agency" if name == AGENCY_LOCK else f"location {name!r}"
            lock = LocalLock(folder / f"{name}.lock", label)
            left = max(deadline - time.monotonic(), 0.0)
            if not lock.acquire(me, left, on_wait=lambda e: _waiting(e, stream)):
                stream.write(f"{label}: took the lock after waiting for another run\n")
            held.append(lock)
        yield
    finally:
        for lock in reversed(held):
            lock.release()


async def _take_at_once(
    access: TargetAccess,
    names: Sequence[str],
    me: Holder,
    upstream: UpstreamClock,
    stream: TextIO,
) -> list[Lease]:
    """Every lease of ``names`` taken concurrently (one settle pause for all instead of
    one per location: ~50 s for 100 locations), or none.

    When any lease is held by another run, the ones taken here are given back and the
    caller takes them one by one in name order, waiting as ``--lock-timeout`` allows;
    that order is what keeps two waiting runs from deadlocking, so it is never skipped
    when there is contention. Other errors (a token without the scope) give back what
    was taken and are raised."""
    if len(names) < 2:
        return []
    tried = [
        Lease(
            name, access.own_api(name), upstream, me, unique_names=access.unique_names
        )
        for name in names
    ]
    results = await asyncio.gather(
        *(lease.take() for lease in tried), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    if not failed:
        for result in results:
            if isinstance(result, str):
                stream.write(f"Warning: {result}\n")
        return tried
    for lease, result in zip(tried, results, strict=True):
        if not isinstance(result, BaseException):
            with contextlib.suppress(Exception):  # it expires by itself
                await lease.release()
    other = next((f for f in failed if not isinstance(f, LeaseHeld)), None)
    if other is not None:
        raise other
    return []


def _waiting(error: HlsyncError, stream: TextIO) -> None:
    stream.write(f"waiting: {error.message}\n")
    stream.flush()


@asynccontextmanager
async def leases(
    access: TargetAccess,
    names: Sequence[str],
    me: Holder,
    timeout: float,
    *,
    stream: TextIO = sys.stderr,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[None]:
    """Hold the lease of each location in ``names`` while the block runs."""
    if access.clock is None:
        raise RuntimeError("leases need the upstream clock")
    upstream = access.clock
    taken: list[Lease] = []
    deadline = clock() + timeout
    try:
        at_once = await _take_at_once(access, sorted(names), me, upstream, stream)
        taken.extend(at_once)
        for name in sorted(names) if not at_once else ():
            lease = Lease(
                name,
                access.own_api(name),
                upstream,
                me,
                unique_names=access.unique_names,
            )
            said = False
            while True:
                try:
                    warning = await lease.take()
                    break
                except LeaseHeld as exc:
                    if clock() + LEASE_POLL_SECONDS > deadline:
                        raise
                    if not said:
                        _waiting(exc, stream)
                        said = True
                    await asyncio.sleep(LEASE_POLL_SECONDS)
            if warning is not None:
                stream.write(f"Warning: {warning}\n")
            taken.append(lease)
        renewal = asyncio.ensure_future(_renew(taken, stream))
        try:
            yield
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
    finally:
        for lease in reversed(taken):
            try:
                await lease.release()
            except Exception as exc:  # the run's own outcome matters more
                stream.write(
                    f"Warning: {lease.label}: could not release the lock ({exc}); it "
                    "expires by itself, or run 'hlsync force-unlock "
                    f"{lease.name}'\n"
                )


async def _renew(taken: Sequence[Lease], stream: TextIO) -> None:
    """Every ``TTL / 3``: push each lease's expiry on, reporting one that was lost."""
    lost: set[str] = set()
    while True:
        await asyncio.sleep(TTL.total_seconds() / 3)
        for lease in taken:
            try:
                problem = await lease.renew()
            except Exception as exc:  # a failed renewal must not stop the apply
                problem = f"{lease.label}: could not renew the lock ({exc})"
            if problem is not None and lease.name not in lost:
                lost.add(lease.name)
                stream.write(f"Warning: {problem}\n")
                stream.flush()
