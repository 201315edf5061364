"""``python -m tests.soak [FLAGS]``: run soak trials and print one table.

Exit 0 when every target of the table is met, 1 when one is missed, 2 for bad flags,
130 when interrupted (the trial's emulator is stopped on the way out).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.signals import interruptible_children
from tests.soak.settings import Settings
from tests.soak.table import describe, render, rows
from tests.soak.trial import TrialResult, trial

DEFAULTS = Settings()


def parse(argv: Sequence[str] | None) -> tuple[Settings, Path | None]:
    parser = argparse.ArgumentParser(
        prog="python -m tests.soak",
        description="Apply a faulty, concurrent, killed account until it converges; "
        "print one table of duplicates, losses, applies and tracebacks.",
    )
    add = parser.add_argument
    d = DEFAULTS
    add("--locations", type=int, default=d.locations, help="locations (%(default)s)")
    add("--contacts", type=int, default=d.contacts, help="per location (%(default)s)")
    add("--error-rate", type=float, default=d.error_rate, help="5xx share (0.10)")
    add(
        "--fail-after-commit",
        type=float,
        default=d.fail_after_commit,
        help="share of requests committed, then failed (0.05)",
    )
    add(
        "--drop-share",
        type=float,
        default=d.drop_share,
        help="of those, the share answered by a dropped connection, not a 502 (0.5)",
    )
    add("--latency-ms", type=int, default=d.latency_ms, help="added per request (0)")
    add("--search-lag-ms", type=int, default=d.search_lag_ms, help="(%(default)s)")
    add("--concurrent", type=int, default=d.concurrent, help="applies at once (2)")
    add("--kills", type=int, default=d.kills, help="per trial (%(default)s)")
    add("--trials", type=int, default=d.trials, help="(%(default)s)")
    add(
        "--seed",
        type=int,
        default=d.seed,
        help="seeds every random choice (1); the timing of runs still varies",
    )
    add(
        "--burst-max",
        type=int,
        default=d.burst_max,
        help="the emulator's requests per 10 s window (%(default)s)",
    )
    add("--keep", type=Path, help="keep each trial's folder (runs' output) under DIR")
    args = parser.parse_args(argv)
    keep: Path | None = args.keep
    del args.keep
    settings = Settings(**vars(args))
    problems = settings.problems()
    if problems:
        parser.error("; ".join(problems))
    return settings, keep


def main(argv: Sequence[str] | None = None) -> int:
    settings, keep = parse(argv)
    interruptible_children()  # its SIGINT kills must land even when run as `… &`
    sys.stderr.write(describe(settings) + "\n")
    results: list[TrialResult] = []
    with tempfile.TemporaryDirectory(prefix="hlsync-soak-") as scratch:
        base = keep or Path(scratch)
        for number in range(1, settings.trials + 1):
            folder = base / f"trial-{number}"
            sys.stderr.write(f"trial {number} of {settings.trials} in {folder} ...\n")
            results.append(trial(folder, settings, number))
    found = rows(results)
    sys.stdout.write(f"{describe(settings)}\n\n{render(found)}")
    return 0 if all(row.met for row in found) else 1


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        sys.stderr.write("soak interrupted\n")
        raise SystemExit(130) from None
