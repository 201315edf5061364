"""(a) The emulator's SQLite file at 20,000 contacts: reload time, one write's commit.

In-process, no HTTP: the figure is :meth:`EmulatorState.open_sqlite` reading every row
back (what ``hlsync emulator serve --db`` and the sandbox do at start), and the time of
``commit()`` after one contact create (the app commits once per request; one write must
be one row, not a rewrite of the file).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hlsync.emulator.state import EmulatorState
from tests.emulator_fixtures import COMPANY_ID, LOCATION_A
from tests.perf.support import (
    HELD,
    BenchmarkError,
    Figure,
    main_for,
    median,
    seed_contacts,
)

TITLE = "(a) emulator SQLite"
RELOADS = 3
WRITES = 50


def _seeded(db: Path) -> float:
    """Create the database with HELD contacts; seconds it took."""
    started = time.perf_counter()
    state = EmulatorState.open_sqlite(db)
    try:
        state.provision_agency(COMPANY_ID, "Agency")
        state.provision_location(COMPANY_ID, "Alpha", LOCATION_A)
        seed_contacts(state, LOCATION_A, HELD)
    finally:
        state.close()
    return time.perf_counter() - started


def _reload(db: Path, expected: int = HELD) -> float:
    started = time.perf_counter()
    state = EmulatorState.open_sqlite(db)
    elapsed = time.perf_counter() - started
    try:
        if state.store.contact_count(LOCATION_A) != expected:
            raise BenchmarkError(f"{db} does not hold {expected} contacts")
    finally:
        state.close()
    return elapsed


def _commits(db: Path) -> list[float]:
    """Seconds of each ``commit()`` after one contact create."""
    state = EmulatorState.open_sqlite(db)
    times = []
    try:
        for n in range(WRITES):
            state.store.create_contact(LOCATION_A, {"email": f"one{n}@example.com"})
            started = time.perf_counter()
            state.commit()
            times.append(time.perf_counter() - started)
    finally:
        state.close()
    return times


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="hlsync-bench-") as folder:
        db = Path(folder) / "emulator.sqlite3"
        seeded = _seeded(db)
        reloads = [_reload(db) for _ in range(RELOADS)]
        commits = _commits(db)
        _reload(db, HELD + WRITES)  # every timed commit really wrote its row
    return [
        Figure(
            TITLE, "create 20,000 contacts + commit", seeded, "s", "one transaction"
        ),
        Figure(
            TITLE,
            "reload 20,000 contacts (open_sqlite)",
            median(reloads),
            "s",
            f"median of {RELOADS}",
        ),
        Figure(
            TITLE,
            "commit of one contact write",
            median(commits) * 1000,
            "ms",
            f"median of {WRITES}, max {max(commits) * 1000:.2f} ms; WAL, "
            "synchronous=NORMAL (no fsync per commit)",
        ),
    ]


if __name__ == "__main__":
    main_for(run)
