"""Where the emulator keeps its objects: in memory, or in one SQLite file.

The contract (the seam with ``store``): ``put(kind, id, data)`` after every change of an
object, ``delete(kind, id)`` when it goes, ``load(kind)`` once at start-up. Writes are
buffered and reach the file only on ``commit()``, which the app calls once per request
(before the response is sent), so a request that touches one contact writes one row and
never rewrites the database. Everything is loaded into memory at start: 20,000 contacts
load in well under a second.

The file is one table ``objects(kind, id, data)`` plus a ``meta`` table that marks it as
an hlsync emulator database. SQLite runs in WAL mode. The file is locked (``flock``) for
as long as it is open, so two processes never serve diverging copies of one database.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from hlsync.errors import HlsyncError

APPLICATION = "hlsync-emulator"
SCHEMA_VERSION = "1"

# One encoder for every put: ``json.dumps`` with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"))

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS objects ("
    " kind TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,"
    " PRIMARY KEY (kind, id)) WITHOUT ROWID",
)


class Persistence(Protocol):
    """What ``Store`` and the auth registry write through."""

    def put(self, kind: str, id: str, data: dict[str, Any]) -> None: ...

    def delete(self, kind: str, id: str) -> None: ...

    def load(self, kind: str) -> list[tuple[str, dict[str, Any]]]: ...

    def commit(self) -> None: ...

    def close(self) -> None: ...


class MemoryPersistence:
    """Keeps nothing beyond the process: ``load`` returns what was ``put`` before.

    Objects are stored as JSON text, so a value that could not be persisted to SQLite
    fails here too, and in-memory tests catch it.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], str] = {}

    def put(self, kind: str, id: str, data: dict[str, Any]) -> None:
        self._rows[(kind, id)] = _ENCODER.encode(data)

    def delete(self, kind: str, id: str) -> None:
        self._rows.pop((kind, id), None)

    def load(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (key[1], json.loads(text))
            for key, text in sorted(
                (key, text) for key, text in self._rows.items() if key[0] == kind
            )
        ]

    def commit(self) -> None:
        """Nothing to do: memory is always 'committed'."""

    def close(self) -> None:
        self._rows.clear()


class SqlitePersistence:
    """One SQLite file; buffered writes, flushed in one transaction by ``commit``.

    Raises :class:`HlsyncError` when the file is not an emulator database, is corrupt, or
    is held open by another process. Not thread-safe by itself: callers hold the state
    lock (``EmulatorState.lock``) around every call.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: dict[tuple[str, str], str | None] = {}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = _lock_file(path)
        except OSError as exc:
            raise HlsyncError(f"{path}: cannot open the database ({exc})") from exc
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None
            )
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            os.close(self._lock_fd)
            raise HlsyncError(
                f"{path}: not an hlsync emulator database ({exc})",
                hints=("remove the file, or point to another one",),
            ) from exc
        except HlsyncError:
            os.close(self._lock_fd)
            raise

    def _init_schema(self) -> None:
        db = self._db
        tables = {
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if tables and not {"meta", "objects"} <= tables:
            raise HlsyncError(
                f"{self.path}: not an hlsync emulator database",
                hints=("remove the file, or point to another one",),
            )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            db.execute(statement)
        found = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if not found:
            db.execute("BEGIN")
            db.execute("INSERT INTO meta VALUES ('application', ?)", (APPLICATION,))
            db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            db.execute("COMMIT")
        elif found.get("application") != APPLICATION:
            raise HlsyncError(f"{self.path}: not an hlsync emulator database")
        elif found.get("schema") != SCHEMA_VERSION:
            raise HlsyncError(
                f"{self.path}: emulator database schema {found.get('schema')!r} "
                f"is not the supported {SCHEMA_VERSION!r}",
                hints=("reset it with 'hlsync sandbox reset'",),
            )

    def put(self, kind: str, id: str, data: dict[str, Any]) -> None:
        self._pending[(kind, id)] = _ENCODER.encode(data)

    def delete(self, kind: str, id: str) -> None:
        self._pending[(kind, id)] = None

    def load(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        rows = dict(
            self._db.execute(
                "SELECT id, data FROM objects WHERE kind = ? ORDER BY id", (kind,)
            ).fetchall()
        )
        for (pending_kind, id), text in self._pending.items():
            if pending_kind != kind:
                continue
            if text is None:
                rows.pop(id, None)
            else:
                rows[id] = text
        return [(id, json.loads(text)) for id, text in sorted(rows.items())]

    def commit(self) -> None:
        """Write every buffered change in one transaction; a no-op when none."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        upserts = [(k, i, t) for (k, i), t in pending.items() if t is not None]
        deletes = [(k, i) for (k, i), t in pending.items() if t is None]
        db = self._db
        db.execute("BEGIN")
        try:
            if upserts:
                db.executemany(
                    "INSERT OR REPLACE INTO objects (kind, id, data) VALUES (?, ?, ?)",
                    upserts,
                )
            if deletes:
                db.executemany("DELETE FROM objects WHERE kind = ? AND id = ?", deletes)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            pending.update(self._pending)
            self._pending = pending
            raise

    def close(self) -> None:
        """Commit what is pending, close the database, release the file lock."""
        if self._lock_fd < 0:
            return
        try:
            self.commit()
            self._db.close()
        finally:
            os.close(self._lock_fd)
            self._lock_fd = -1


def _lock_file(path: Path) -> int:
    """Take an exclusive ``flock`` on ``path`` (created if missing) or fail clearly.

    ``flock`` locks are independent of SQLite's own POSIX record locks on Linux, and the
    descriptor stays open until ``close`` so SQLite's locks are never dropped early.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise HlsyncError(
            f"{path}: the emulator database is in use by another process",
            hints=("stop the other hlsync process, or use another --db file",),
        ) from exc
    return fd
