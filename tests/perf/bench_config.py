"""(b) Loading a config whose location seeds 20,000 contacts from a CSV file.

The same file shape as ``tests/unit/test_config_contacts.py``: email, phone (parsed and
normalised to E.164), tags and two custom-field columns per row, so every row goes
through the whole contact pipeline. Wall time is the median of a few loads without
tracing; the peak is ``tracemalloc``'s for one more load (tracing slows it down, so it
is measured apart).
"""

from __future__ import annotations

import tempfile
import tracemalloc
from pathlib import Path

from hlsync.config.loader import load_config
from hlsync.core.model import DesiredState
from tests.perf.support import (
    HELD,
    MIB,
    BenchmarkError,
    Figure,
    main_for,
    median,
    timed,
)

TITLE = "(b) config load"
LOADS = 3

CONFIG = """\
version: 1
default_region: US
locations:
  main:
    id: loc1
    custom_fields:
      visits: {name: Visits, type: NUMERICAL}
      hobbies: {name: Hobbies, type: CHECKBOX, options: [golf, chess, yoga]}
    contacts_from: big.csv
"""


def write_config(folder: Path) -> Path:
    """``hlsync.yaml`` and ``big.csv`` (HELD rows) in ``folder``; the YAML's path."""
    rows = ["firstName,email,phone,tags,customFields.visits,customFields.hobbies"]
    rows += [
        f"P{n},p{n}@example.com,+1 312 555 {n % 100 + 100:04d},a;b,{n},golf;chess"
        for n in range(HELD)
    ]
    (folder / "big.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    path = folder / "hlsync.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _load(path: Path) -> DesiredState:
    state = load_config(path, env={})
    if len(state.locations[0].contacts) != HELD:
        raise BenchmarkError(f"{path} did not load {HELD} contacts")
    return state


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="hlsync-bench-") as folder:
        path = write_config(Path(folder))
        times = [timed(lambda: _load(path)) for _ in range(LOADS)]
        tracemalloc.start()
        try:
            _load(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return [
        Figure(
            TITLE,
            "load_config, 20,000 CSV contacts",
            median(times),
            "s",
            f"median of {LOADS}",
        ),
        Figure(TITLE, "peak memory of that load", peak / MIB, "MiB", "tracemalloc"),
    ]


if __name__ == "__main__":
    main_for(run)
