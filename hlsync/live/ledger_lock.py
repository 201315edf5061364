"""One change to the ledger at a time: a lock around load, modify and write.

``hlsync confirm`` and ``hlsync token deliver`` load the ledger, change one entry and
replace the file. Two of them at once (two operators on one checkout, or two pipeline
jobs on one runner) would each write what they loaded plus their own change, and the
second write would lose the first's. :func:`hold_ledger` takes an exclusive ``flock``
on ``<config dir>/.hlsync/ledger.lock`` (``locks.lockfile.LocalLock``: the kernel drops
it when the process ends, so it is never stale) and waits for it, up to
:data:`WAIT_SECONDS`; the caller loads the ledger *inside* it. The lock file sits
beside ``locks/``, not in it, so no location's apply lock can share its name.

Operators on different machines share the ledger through git instead (it is
committed): a conflict there is a merge, not a lost update.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from hlsync.errors import HlsyncError
from hlsync.locks.guard import whoami
from hlsync.locks.lockfile import LocalLock

LOCK_FILE = Path(".hlsync") / "ledger.lock"
WAIT_SECONDS = 60.0


@contextmanager
def hold_ledger(
    config_dir: Path, *, timeout: float = WAIT_SECONDS, stream: TextIO = sys.stderr
) -> Iterator[None]:
    """Hold the ledger's lock for the ``with`` block; when it has to wait, it says
    once on ``stream`` who holds it. Raises :class:`HlsyncError` (naming the holder)
    when ``timeout`` seconds pass, or when the lock file cannot be made."""
    lock = LocalLock(config_dir / LOCK_FILE, "the ledger")

    def waiting(error: HlsyncError) -> None:
        stream.write(f"{error.message}; waiting up to {timeout:g} s\n")
        stream.flush()

    try:
        lock.acquire(whoami(), timeout, on_wait=waiting)
    except HlsyncError as exc:
        raise HlsyncError(
            f"{exc.message}; nothing was recorded",
            hints=(
                "another hlsync run is changing the ledger; run again when it is "
                "done (the lock goes with its process, so it is never stale)",
            ),
        ) from exc
    except OSError as exc:
        raise HlsyncError(
            f"{lock.path}: cannot take the ledger's lock ({exc.strerror}); nothing "
            "was recorded",
            hints=("fix the folder's permissions and run again",),
        ) from exc
    try:
        yield
    finally:
        lock.release()
