"""The local lock: one file per location under ``<config dir>/.hlsync/locks/``.

``fcntl.flock`` on ``<name>.lock`` (exclusive, non-blocking, polled until the deadline):
the kernel drops it when the process exits or is killed, so a local lock is never
stale. The holder writes who it is (user@host, pid, run id, local start time) into the
file, so a process that finds it taken can name the holder; the content is only a
label, the flock is the lock. The agency's integrations take ``agency.lock``.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hlsync.errors import HlsyncError

LOCK_DIR = Path(".hlsync") / "locks"
POLL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lock: ``owner`` (user@host pid N), ``run`` id, ``since`` (ISO)."""

    owner: str
    run: str
    since: str

    def to_json(self) -> str:
        return json.dumps({"owner": self.owner, "run": self.run, "started": self.since})

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        owner, run, since = data.get("owner"), data.get("run"), data.get("started")
        if not all(isinstance(v, str) for v in (owner, run, since)):
            return None
        return cls(str(owner), str(run), str(since))


class LocalLock:
    """An exclusive flock on one file; ``acquire`` then ``release`` (or process exit)."""

    def __init__(self, path: Path, label: str) -> None:
        self.path = path
        self.label = label  # "location 'main'", "the agency"
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"LocalLock({str(self.path)!r})"

    def acquire(
        self,
        me: Holder,
        timeout: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[HlsyncError], None] | None = None,
    ) -> bool:
        """Take the lock, polling up to ``timeout`` seconds; True when it was free at
        once, False when it had to wait (``on_wait`` is told once, with the error that
        names the holder). Raises that error when the deadline passes."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = clock() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                error = held_error(
                    self.label, Holder.parse(_read(fd)), "on this machine"
                )
                if clock() >= deadline:
                    os.close(fd)
                    raise error from None
                if not waited and on_wait is not None:
                    on_wait(error)
                waited = True
                sleep(min(POLL_SECONDS, max(deadline - clock(), 0.0)))
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.to_json().encode("utf-8") + b"\n", 0)
        self._fd = fd
        return not waited

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing drops the flock


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        return ""


def held_error(
    label: str, holder: Holder | None, where: str, expires: str | None = None
) -> HlsyncError:
    """``<label> is locked …``: who holds it and since when, and the ways out."""
    if holder is None:
        who = "by another hlsync run (its holder is not recorded)"
    else:
        who = f"by {holder.owner} (run {holder.run}) since {holder.since}"
    until = "" if expires is None else f"; the lease expires at {expires}"
    name = label.split("'")[1] if "'" in label else "agency"
    return HlsyncError(
        f"{label} is locked {where} {who}{until}",
        hints=(
            "wait for that run to finish, or pass --lock-timeout SECONDS to wait for it",
            f"if it is stale (that run died), release it: hlsync force-unlock {name}",
        ),
    )
