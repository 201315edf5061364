"""S1, S2, S4, S5 and 100 locations: a reconcile against the rate-limit bound.

The physical limit of a reconcile is the upstream's rate limit: the minimum number of
calls ÷ the allowed rate, per location, locations in parallel. Each scenario starts a
fresh emulator (a child process) with the scenario's limits (a 1 s window), bulk-loads
what it holds, writes a config, then times one run of what ``hlsync apply`` does after
loading the config: open the target, read, plan, apply. Figures, all from the same run:

* calls ÷ minimum: the requests in the emulator's log against the fewest a reconcile
  can make. Per location: the three lists a plan reads to find unmanaged objects
  (custom fields, tags, custom values; one page each), one search of an empty
  location or ``min(ceil(held / 500), ceil(declared / 100))`` searches, and one write
  per change;
* wall ÷ bound, the bound being minimum calls ÷ allowed rate;
* 429s; the average in flight (the server's request durations ÷ wall, Little's law);
* hlsync's CPU per request: this process's CPU time over the run ÷ its requests (the
  emulator runs in its own process, so none of its work is counted), and the emulator
  process's CPU per request beside it (on 2 cores the two share the machine: when
  their sum times the allowed rate nears the cores, the machine is the bound).

``BOUND_SCENARIOS`` (names, comma-separated) picks scenarios; the default runs all.
"""

from __future__ import annotations

import asyncio
import csv
import math
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hlsync.config.loader import load_config
from hlsync.core.model import DesiredState
from hlsync.core.result import ApplyResult
from hlsync.engine.applier import apply_plan
from hlsync.engine.planner import build_plan
from hlsync.engine.reader import read_observed
from hlsync.targets.target import open_target
from tests.perf.support import (
    BenchmarkError,
    EmulatorSpec,
    Figure,
    Limits,
    RemoteEmulator,
    emulator_process,
    main_for,
    member_email,
)

TITLE = "bound"
PAGE = 500  # contacts per search page
LOOKUP = 100  # emails per batched lookup
LISTS = 3  # custom fields, tags, custom values: one page each (unmanaged objects)


@dataclass(frozen=True, slots=True)
class Scenario:
    """``locations`` × ``declared`` contacts at ``rate`` requests per 1 s window each;
    ``held`` contacts already in the (first) location, of which the config declares
    every ``held // declared``-th with a new first name (updates) — or, with
    ``held == 0``, new contacts (creates); ``latency_ms`` on every request."""

    name: str
    locations: int
    declared: int
    rate: int
    held: int = 0
    latency_ms: int = 0

    def minimum_calls(self) -> int:
        """Per location: the fewest reads, and one write per contact."""
        if self.held == 0:
            reads = 1
        else:
            reads = min(math.ceil(self.held / PAGE), math.ceil(self.declared / LOOKUP))
        return LISTS + reads + self.declared

    def bound(self) -> float:
        return self.minimum_calls() / self.rate


SCENARIOS = (
    Scenario("S1 5,000 creates, 100/1 s", 1, 5_000, 100),
    Scenario("S2 2,000 updates of 20,000 held, 100/1 s", 1, 2_000, 100, held=20_000),
    Scenario(
        "S5 5,000 creates, 100/1 s, 200 ms latency", 1, 5_000, 100, latency_ms=200
    ),
    Scenario("S4 20 locations x 200 creates, 20/1 s each", 20, 200, 20),
    Scenario("100 locations x 100 creates, 20/1 s each", 100, 100, 20),
)


def _write_config(
    folder: Path, emulator: RemoteEmulator, scenario: Scenario
) -> tuple[Path, dict[str, str]]:
    """The config (one location per scenario location) and the tokens' environment."""
    locations = [(emulator.location_id, emulator.token)]
    for n in range(1, scenario.locations):
        made = emulator.emulator.create_location(f"Bench {n}")
        locations.append((made.id, made.token))
    lines = ["version: 1", f'target: {{url: "{emulator.base_url}"}}', "locations:"]
    environ: dict[str, str] = {}
    for n, (location_id, token) in enumerate(locations):
        environ[f"BENCH_TOKEN_{n}"] = token
        lines += [
            f"  loc{n}:",
            f"    id: {location_id}",
            f"    token: {{env: BENCH_TOKEN_{n}}}",
            f"    contacts_from: contacts{n}.csv",
        ]
        with (folder / f"contacts{n}.csv").open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["firstName", "email"])
            if scenario.held:
                step = scenario.held // scenario.declared
                out.writerows(
                    (f"Changed{i}", member_email(i))
                    for i in range(0, scenario.held, step)
                )
            else:
                out.writerows(
                    (f"New{i}", f"new{i:05d}.{n}@example.com")
                    for i in range(scenario.declared)
                )
    path = folder / "hlsync.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, environ


async def _reconcile(
    desired: DesiredState, environ: Mapping[str, str], changes: int
) -> ApplyResult:
    """What ``hlsync apply`` does after loading the config: open, read, plan, apply."""
    async with open_target(desired, environ=environ) as access:
        plan = build_plan(desired, await read_observed(desired, access))
        if len(plan.pending) != changes:
            raise BenchmarkError(f"planned {len(plan.pending)} changes, not {changes}")
        return await apply_plan(plan, access)


def _measure(scenario: Scenario) -> list[Figure]:
    limits = Limits(burst_max=scenario.rate, interval_ms=1_000, daily_max=10_000_000)
    with (
        tempfile.TemporaryDirectory(prefix="hlsync-bench-") as folder,
        emulator_process(EmulatorSpec(contacts=scenario.held, limits=limits)) as emu,
    ):
        config, environ = _write_config(Path(folder), emu, scenario)
        desired = load_config(config, env={})
        if scenario.latency_ms:
            emu.emulator.set_faults({"latencyMs": scenario.latency_ms})
        changes = scenario.locations * scenario.declared
        emu.reset()
        load = os.getloadavg()[0]
        served = emu.cpu_seconds()
        cpu, started = time.process_time(), time.perf_counter()
        result = asyncio.run(_reconcile(desired, environ, changes))
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        after = emu.cpu_seconds()
        server_cpu = None if served is None or after is None else after - served
        log = emu.requests()
    failed = changes - result.count("ok")
    minimum = scenario.minimum_calls() * scenario.locations
    refused = sum(1 for r in log if r.status == 429)
    in_flight = sum(r.duration_ms for r in log) / 1000 / wall
    bench = f"{scenario.name}"
    note = f"load average {load:.1f}"
    figures = [
        Figure(
            bench,
            "calls / minimum",
            len(log) / minimum,
            "x",
            f"{len(log):,} calls, minimum {minimum:,}; {refused} answered 429",
        ),
        Figure(
            bench,
            "wall / bound",
            wall / scenario.bound(),
            "x",
            f"{wall:.1f} s, bound {scenario.bound():.1f} s; {note}",
        ),
        Figure(bench, "429 answers", refused, "requests"),
        Figure(
            bench,
            "changes not applied",
            failed,
            "changes",
            next((o.message for o in result.outcomes if o.status != "ok"), ""),
        ),
        Figure(bench, "average in flight", in_flight, "requests", "Little's law"),
        Figure(
            bench,
            "hlsync CPU per request",
            1000 * cpu / max(len(log), 1),
            "ms",
            f"{cpu:.1f} s CPU of this process",
        ),
    ]
    if server_cpu is not None:
        figures.append(
            Figure(
                bench,
                "emulator CPU per request",
                1000 * server_cpu / max(len(log), 1),
                "ms",
                f"{server_cpu:.1f} s CPU of the emulator process, "
                f"{len(log) / wall:.0f} requests/s served",
            )
        )
    return figures


def run() -> list[Figure]:
    wanted = os.environ.get("BOUND_SCENARIOS")
    chosen: tuple[Scenario, ...] = SCENARIOS
    if wanted:
        names = {name.strip() for name in wanted.split(",")}
        chosen = tuple(s for s in SCENARIOS if s.name.split()[0] in names)
    figures: list[Figure] = []
    for scenario in chosen:
        figures += _measure(scenario)
    return figures


if __name__ == "__main__":
    main_for(run)
