"""(a) The emulator's SQLite file at 20,000 contacts: filling it, restarting on it, writing.

Through ``hlsync emulator serve --db`` in a child process, as its users run it:

* the bulk load of 20,000 contacts into a new database (one request, one commit);
* a restart on that database, to its first answer, against a restart on an empty one:
  the difference is the time to read every row back (what ``--db`` and the sandbox do
  at start);
* ``POST /contacts/`` on the full database, one at a time: the app commits once per
  request, so one write must be one row, not a rewrite of the file.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.perf.support import (
    HELD,
    UNLIMITED,
    BenchmarkError,
    EmulatorSpec,
    Figure,
    emulator_process,
    main_for,
    median,
    members,
)

TITLE = "(a) emulator SQLite"
RESTARTS = 3
WRITES = 50


def _fill(db: Path) -> float:
    """Create the database with HELD contacts; seconds the bulk load took."""
    with emulator_process(EmulatorSpec(db=db, limits=UNLIMITED)) as emulator:
        started = time.perf_counter()
        loaded = emulator.emulator.load_contacts(members(HELD))
        elapsed = time.perf_counter() - started
    if len(loaded) != HELD:
        raise BenchmarkError(f"the bulk load stored {len(loaded)} of {HELD} contacts")
    return elapsed


def _restart(db: Path, expected: int) -> float:
    """Seconds from starting ``serve --db`` to its first answer; checks the count."""
    with (
        emulator_process(EmulatorSpec(db=db, limits=UNLIMITED)) as emulator,
        emulator.client() as http,
    ):
        found = http.post(
            "/contacts/search",
            json={"locationId": emulator.location_id, "pageLimit": 1},
        ).json()["total"]
    if found != expected:
        raise BenchmarkError(f"{db} holds {found} contacts, not {expected}")
    return emulator.started_in


def _writes(db: Path) -> list[float]:
    """Seconds of each ``POST /contacts/`` (its commit included) on the full file."""
    times = []
    with (
        emulator_process(EmulatorSpec(db=db, limits=UNLIMITED)) as emulator,
        emulator.client() as http,
    ):
        for n in range(WRITES):
            body = {"locationId": emulator.location_id, "email": f"one{n}@example.com"}
            started = time.perf_counter()
            response = http.post("/contacts/", json=body)
            times.append(time.perf_counter() - started)
            if response.status_code != 201:
                raise BenchmarkError(f"a create answered {response.status_code}")
    return times


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="hlsync-bench-") as folder:
        db, empty = Path(folder) / "emulator.sqlite3", Path(folder) / "empty.sqlite3"
        filled = _fill(db)
        _restart(empty, 0)  # provisions the empty database once
        full = median([_restart(db, HELD) for _ in range(RESTARTS)])
        bare = median([_restart(empty, 0) for _ in range(RESTARTS)])
        writes = _writes(db)
        _restart(db, HELD + WRITES)  # every timed write really reached the file
    return [
        Figure(
            TITLE,
            "bulk load 20,000 contacts into --db",
            filled,
            "s",
            "one request, one commit",
        ),
        Figure(
            TITLE,
            "reload 20,000 contacts at start",
            max(full - bare, 0.0),
            "s",
            f"start to first answer {full:.2f} s, on an empty file {bare:.2f} s "
            f"(medians of {RESTARTS})",
        ),
        Figure(
            TITLE,
            "POST /contacts/ on the full file",
            median(writes) * 1000,
            "ms/request",
            f"median of {WRITES}, commit included; WAL, synchronous=NORMAL",
        ),
    ]


if __name__ == "__main__":
    main_for(run)
