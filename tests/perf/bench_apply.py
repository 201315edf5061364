"""(d) Apply throughput: 2,000 contact creates through ``apply_plan`` on the emulator.

Each run starts a fresh emulator (child process) with the given rate limits, loads a
config declaring 2,000 new contacts, reads and plans (2,000 creates), then times
``apply_plan`` alone: one ``POST /contacts/upsert`` per contact, paced by the client's
:class:`~hlsync.upstream.pacing.Pacer` from the ``X-RateLimit-*`` headers.

Runs: upstream's default (100 requests per 10 s per integration and location, so at
least ~200 s for 2,000 creates) and a raised limit (1,000 per 10 s). Figures from the
emulator's request log: accepted requests per second, their share of the budget
(``accepted / elapsed`` against ``burst_max / interval``), 429s, and the mean number of
busiest second (the client's own speed: when it is far above the budget, the budget is
what bounds the apply).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
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
    emulator_process,
    main_for,
    url_config,
)

TITLE = "(d) apply 2,000 creates"
CREATES = 2_000
UPSERT = "POST /contacts/upsert"
RUNS = (
    ("default 100/10 s", Limits()),
    ("raised 1,000/10 s", Limits(burst_max=1_000, interval_ms=10_000)),
)


async def plan_and_apply(
    desired: DesiredState, environ: Mapping[str, str]
) -> tuple[ApplyResult, float]:
    """Read and plan, then apply; the result and the apply's wall seconds."""
    async with open_target(desired, environ=environ) as access:
        plan = build_plan(desired, await read_observed(desired, access))
        creates = [c for c in plan.pending if c.action == "create"]
        if len(creates) != CREATES or len(plan.pending) != CREATES:
            raise BenchmarkError(
                f"expected {CREATES} creates, planned {len(creates)} creates "
                f"among {len(plan.pending)} changes"
            )
        started = time.perf_counter()
        result = await apply_plan(plan, access)
        return result, time.perf_counter() - started


def _measure(label: str, limits: Limits) -> list[Figure]:
    with (
        tempfile.TemporaryDirectory(prefix="hlsync-bench-") as folder,
        emulator_process(EmulatorSpec(limits=limits)) as emulator,
    ):
        rows = ((f"New{n}", f"new{n:05d}@example.com") for n in range(CREATES))
        desired = load_config(url_config(Path(folder), emulator, rows), env={})
        result, elapsed = asyncio.run(plan_and_apply(desired, emulator.environ()))
        sent = [r for r in emulator.requests() if r.route == UPSERT]
    if result.count("ok") != CREATES:
        raise BenchmarkError(f"{result.count('ok')} of {CREATES} creates went through")
    accepted = sum(1 for r in sent if 200 <= r.status < 300)
    refused = sum(1 for r in sent if r.status == 429)
    rate = accepted / elapsed
    budget = limits.burst_max / (limits.interval_ms / 1000)
    busiest = max(Counter(r.time[:19] for r in sent).values())  # per whole second
    bench = f"{TITLE}, {label}"
    return [
        Figure(bench, "apply wall time", elapsed, "s", f"{len(sent)} requests"),
        Figure(
            bench,
            "accepted requests per second",
            rate,
            "req/s",
            f"budget {budget:g} req/s; {refused} answered 429",
        ),
        Figure(
            bench,
            "share of the burst budget used",
            100 * rate / budget,
            "%",
            f"busiest second: {busiest} requests",
        ),
    ]


def run() -> list[Figure]:
    return [figure for label, limits in RUNS for figure in _measure(label, limits)]


if __name__ == "__main__":
    main_for(run)
