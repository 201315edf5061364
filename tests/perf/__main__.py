"""``python -m tests.perf [NAME ...]``: run the benchmarks, print one figures table."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

from tests.perf import (
    bench_apply,
    bench_bound,
    bench_bulk,
    bench_config,
    bench_hostile,
    bench_persist,
    bench_plan,
    bench_scale,
    bench_search,
    bench_wire,
)
from tests.perf.support import Figure, machine, render_table

BENCHMARKS: dict[str, Callable[[], list[Figure]]] = {
    "persist": bench_persist.run,
    "config": bench_config.run,
    "plan": bench_plan.run,
    "apply": bench_apply.run,
    "search": bench_search.run,
    "hostile": bench_hostile.run,
    "bulk": bench_bulk.run,
    "scale": bench_scale.run,
    "bound": bench_bound.run,
    "wire": bench_wire.run,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.perf",
        description="Run the benchmarks and print one table of figures.",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}")
    names = args.names or list(BENCHMARKS)
    started = time.perf_counter()
    figures: list[Figure] = []
    for name in names:
        sys.stderr.write(f"running {name} ...\n")
        figures += BENCHMARKS[name]()
    sys.stdout.write(f"machine: {machine()}\n\n{render_table(figures)}")
    sys.stdout.write(
        f"\n{len(names)} benchmarks in {time.perf_counter() - started:.0f} s\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
