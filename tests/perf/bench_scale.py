"""S3: planning a very large location, rate limit lifted.

The emulator (a child process) holds ``OBSERVED`` contacts, bulk-loaded through its
admin API; the config declares ``DECLARED`` of them (every ``OBSERVED / DECLARED``-th,
from a CSV file, all matching, so the plan is all noops). Each run is a fresh
``python`` process that loads the config, then times what ``hlsync plan`` does after
that (open the target, read, plan), wall and CPU time (the CPU figures are hlsync's
own work, which a loaded machine does not inflate), the emulator process's CPU time
while the run lasts (how much of the wall is the server answering: it idles while the
config loads), and reports its own peak RSS (``ru_maxrss``: the
config, the reads and the plan together), so one run's memory never hides another's.
``S3_SIZES`` (``DECLARED:OBSERVED,…``) picks the sizes, the default being the issue's
two (100,000 in 100,000 and 100,000 in 1,000,000), ``S3_RUNS`` the runs (3), and
``S3_ADDED`` how the contacts were added: ``spread`` (the default, one a minute) or
``instant`` (all at one instant: then only the oldest 10,000 can be read in parallel,
the rest by cursor).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.perf.support import (
    MIB,
    UNLIMITED,
    BenchmarkError,
    EmulatorSpec,
    Figure,
    emulator_process,
    main_for,
    median,
    member_email,
    members,
    url_config,
)

RUNS = int(os.environ.get("S3_RUNS", "3"))
LOAD_CHUNK = 100_000  # contacts per bulk-load request
# How the contacts were added: "spread", one a minute (an account grown over time, or
# an import upstream stamps contact by contact), or "instant", all at the bulk load's
# one instant (the emulator's default: no two told apart by dateAdded).
ADDED = os.environ.get("S3_ADDED", "spread")
if ADDED not in ("spread", "instant"):
    raise BenchmarkError(f"S3_ADDED is spread or instant, not {ADDED!r}")
FIRST_ADDED_MS = 1_600_000_000_000  # 2020-09-13: the first contact's dateAdded
DEFAULT_SIZES = "100000:100000,100000:1000000"

_CHILD = """
import asyncio, json, os, resource, sys, time
from hlsync.config.loader import load_config
from hlsync.engine.event_loop import run
from hlsync.engine.planner import build_plan
from hlsync.engine.reader import read_observed
from hlsync.targets.target import open_target

async def plan(desired):
    async with open_target(desired, environ=os.environ) as access:
        observed = await read_observed(desired, access)
        read = time.perf_counter(), time.process_time()
        return build_plan(desired, observed), read

started = time.perf_counter()
desired = load_config(sys.argv[1], env={})
loaded, cpu = time.perf_counter(), time.process_time()
result, (read, read_cpu) = run(plan(desired))
done, done_cpu = time.perf_counter(), time.process_time()
if result.has_changes:
    raise SystemExit("the plan found changes where there are none")
json.dump({
    "load": loaded - started, "read": read - loaded, "plan": done - read,
    "total": done - loaded, "noop": result.summary.noop,
    "read_cpu": read_cpu - cpu, "plan_cpu": done_cpu - read_cpu,
    "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}, sys.stdout)
"""


def _sizes() -> list[tuple[int, int]]:
    text = os.environ.get("S3_SIZES", DEFAULT_SIZES)
    sizes = []
    for part in text.split(","):
        declared, _, observed = part.partition(":")
        sizes.append((int(declared), int(observed)))
    return sizes


def _added(rows: Iterator[dict[str, Any]], start: int) -> Iterator[dict[str, Any]]:
    """``rows`` with their ``dateAdded`` as :data:`ADDED` says."""
    if ADDED == "instant":
        yield from rows
        return
    for n, row in enumerate(rows, start):
        yield {**row, "dateAdded": FIRST_ADDED_MS + 60_000 * n}


def _one(config: Path, environ: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(config)],
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkError(f"the plan process failed: {done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def _measure(declared: int, observed: int) -> list[Figure]:
    title = f"S3 plan {declared:,} declared in {observed:,} ({ADDED})"
    spec = EmulatorSpec(limits=UNLIMITED)
    with (
        tempfile.TemporaryDirectory(prefix="hlsync-bench-") as folder,
        emulator_process(spec) as emulator,
    ):
        for start in range(0, observed, LOAD_CHUNK):  # one request each: its timeout
            count = min(LOAD_CHUNK, observed - start)
            emulator.emulator.load_contacts(_added(members(count, start), start))
        step = observed // declared
        rows = ((f"Member{n}", member_email(n)) for n in range(0, observed, step))
        config = url_config(Path(folder), emulator, rows)
        runs = []
        for _ in range(RUNS):
            before = emulator.cpu_seconds()
            measured = _one(config, emulator.environ())
            after = emulator.cpu_seconds()
            if before is not None and after is not None:
                measured["emulator_cpu"] = after - before
            runs.append(measured)
    if any(run["noop"] != declared for run in runs):
        raise BenchmarkError("the plan did not find every declared contact")
    load = os.getloadavg()[0]
    note = f"median of {RUNS}; load average {load:.1f}"
    return [
        Figure(
            title,
            "read + plan (after load_config)",
            median([r["total"] for r in runs]),
            "s",
            note,
        ),
        Figure(title, "of which reading", median([r["read"] for r in runs]), "s"),
        Figure(title, "of which planning", median([r["plan"] for r in runs]), "s"),
        Figure(
            title,
            "CPU of the plan process, reading",
            median([r["read_cpu"] for r in runs]),
            "s",
            "process_time: hlsync's own work, whatever the load",
        ),
        Figure(
            title,
            "CPU of the plan process, planning",
            median([r["plan_cpu"] for r in runs]),
            "s",
        ),
        *(
            [
                Figure(
                    title,
                    "CPU of the emulator process, answering the reads",
                    median([r["emulator_cpu"] for r in runs]),
                    "s",
                    "/proc: the server's share of the wall, on the other core",
                )
            ]
            if all("emulator_cpu" in r for r in runs)
            else []
        ),
        Figure(title, "load_config", median([r["load"] for r in runs]), "s"),
        Figure(
            title,
            "peak RSS of the plan process",
            max(r["rss"] for r in runs) / MIB,
            "MiB",
            "ru_maxrss, config + read + plan",
        ),
    ]


def run() -> list[Figure]:
    figures: list[Figure] = []
    for declared, observed in _sizes():
        figures += _measure(declared, observed)
    return figures


if __name__ == "__main__":
    main_for(run)
