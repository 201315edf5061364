"""SQLite persistence at the size the emulator promises: 20,000 contacts.

How long the reload takes is a figure of ``python -m tests.perf`` (bench_persist), not a
test assertion.
"""

from __future__ import annotations

from pathlib import Path

from hlsync.emulator.persist import MemoryPersistence, SqlitePersistence
from hlsync.emulator.state import EmulatorState

COMPANY = "compHlsyncAgency0001"
LOCATION = "lochlsyncAlpha000001"


def test_two_thousand_contacts_reload_and_one_write_is_one_row(
    tmp_path: Path,
) -> None:
    db = tmp_path / "emu.sqlite3"
    state = EmulatorState.open_sqlite(db)
    state.provision_agency(COMPANY, "Agency")
    state.provision_location(COMPANY, "Alpha", LOCATION)
    for n in range(2_000):
        state.store.create_contact(
            LOCATION, {"email": f"c{n}@example.com", "firstName": f"N{n}"}
        )
    state.close()

    reopened = EmulatorState.open_sqlite(db)
    try:
        assert reopened.store.contact_count(LOCATION) == 2_000
        persistence = reopened.persistence
        assert isinstance(persistence, SqlitePersistence)
        connection = persistence._db
        before = connection.total_changes
        reopened.store.create_contact(LOCATION, {"email": "one@example.com"})
        reopened.commit()
        assert connection.total_changes - before == 1
        reopened.commit()  # nothing pending: no write at all
        assert connection.total_changes - before == 1
    finally:
        reopened.close()


def test_memory_persistence_round_trips_json() -> None:
    memory = MemoryPersistence()
    memory.put("kind", "b", {"x": [1, 2]})
    memory.put("kind", "a", {"y": None})
    memory.put("other", "c", {})
    memory.delete("kind", "missing")
    assert memory.load("kind") == [("a", {"y": None}), ("b", {"x": [1, 2]})]
    memory.delete("kind", "a")
    assert memory.load("kind") == [("b", {"x": [1, 2]})]
