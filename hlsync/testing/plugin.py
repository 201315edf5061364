"""The pytest plugin ``pip install hlsync`` registers (entry point ``pytest11``).

Fixtures, opt-in by name — a project that asks for none of them starts nothing and
imports nothing beyond this module:

* ``hlsync_emulator``: a fresh emulator account for one test, as an
  :class:`~hlsync.testing.emulator.Emulator` (base URL, an agency and a location with
  their tokens, helpers for Private Integrations, the clock, faults, rate limits, the
  request log and bulk loads);
* ``hlsync_emulator_server``: the one server of the session behind it (127.0.0.1, a
  free port), started on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from hlsync.testing.emulator import Emulator, EmulatorServer


@pytest.fixture(scope="session")
def hlsync_emulator_server() -> Iterator[EmulatorServer]:
    """The HighLevel emulator on 127.0.0.1:<free port>, for the whole session."""
    from hlsync.testing.emulator import EmulatorServer

    server = EmulatorServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hlsync_emulator(hlsync_emulator_server: EmulatorServer) -> Iterator[Emulator]:
    """A fresh emulator account (one agency, one location) for one test."""
    emulator = hlsync_emulator_server.fresh()
    try:
        yield emulator
    finally:
        emulator.close()
