"""(c) Planning a location that declares 2,000 of the 20,000 contacts it holds.

The emulator (a child process, :func:`~tests.perf.support.emulator_process`) holds
20,000 contacts; the config declares every tenth one from a CSV file, all already
matching. What is timed is what ``hlsync plan`` does after loading the config:
``open_target``, ``read_observed``, ``build_plan`` against the URL, with upstream's
default rate limits. The request count comes from the emulator's request log (the
reader's promise: at most ``min(ceil(20,000 / 500), ceil(2,000 / 100)) = 20`` reads).
The peak is ``tracemalloc``'s for one more run, in this (client) process only.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import tracemalloc
from collections.abc import Mapping
from pathlib import Path

from hlsync.config.loader import load_config
from hlsync.core.model import DesiredState
from hlsync.core.plan import Plan
from hlsync.engine.planner import build_plan
from hlsync.engine.reader import read_observed
from hlsync.targets.target import open_target
from tests.perf.support import (
    HELD,
    MIB,
    BenchmarkError,
    EmulatorSpec,
    Figure,
    RemoteEmulator,
    emulator_process,
    main_for,
    median,
    member_email,
    url_config,
)

TITLE = "(c) plan 2,000 of 20,000"
DECLARED = 2_000
RUNS = 3


async def plan_once(desired: DesiredState, environ: Mapping[str, str]) -> Plan:
    """What ``hlsync plan`` does after ``load_config``: open, read, plan."""
    async with open_target(desired, environ=environ) as access:
        return build_plan(desired, await read_observed(desired, access))


def _planned(
    emulator: RemoteEmulator, desired: DesiredState, environ: Mapping[str, str]
) -> float:
    """One plan from fresh counters; its wall seconds. Checks nothing is to change."""
    emulator.reset()
    started = time.perf_counter()
    plan = asyncio.run(plan_once(desired, environ))
    elapsed = time.perf_counter() - started
    if plan.has_changes:
        raise BenchmarkError("the plan found changes where there are none")
    return elapsed


def run() -> list[Figure]:
    with (
        tempfile.TemporaryDirectory(prefix="hlsync-bench-") as folder,
        emulator_process(EmulatorSpec(contacts=HELD)) as emulator,
    ):
        declared = range(0, HELD, HELD // DECLARED)  # every tenth, as it is
        rows = ((f"Member{n}", member_email(n)) for n in declared)
        desired = load_config(url_config(Path(folder), emulator, rows), env={})
        environ = emulator.environ()
        times = [_planned(emulator, desired, environ) for _ in range(RUNS)]
        reads = emulator.requests()
        tracemalloc.start()
        try:
            _planned(emulator, desired, environ)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    searches = sum(1 for r in reads if r.route == "POST /contacts/search")
    return [
        Figure(
            TITLE,
            "read requests (request log)",
            len(reads),
            "requests",
            f"{searches} contact searches; bound min(40 pages, 20 lookups) = 20",
        ),
        Figure(
            TITLE, "wall time (read + plan)", median(times), "s", f"median of {RUNS}"
        ),
        Figure(TITLE, "peak memory (client)", peak / MIB, "MiB", "tracemalloc"),
    ]


if __name__ == "__main__":
    main_for(run)
