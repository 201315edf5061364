"""(f) ``hlsync plan`` against an upstream that answers with a 30 MB body.

The hostile fake upstream (``tests/hostile_upstream.py``, threads of this process)
streams 30 MB of JSON without a Content-Length; the installed ``hlsync plan`` runs in a
child process against it, once as it is and once against an upstream answering a few
bytes of malformed JSON (the process's floor: Python, httpx and hlsync imported). The
figure is the child's peak resident set (``ru_maxrss`` from ``os.wait4``, that process
only), so it shows what the client holds: the 16 MiB body cap, not the 30 MB. Each run
must fail with the cap's (or the JSON's) one-line error and exit 1, or the figure would
mean nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.hostile_upstream import Behaviour, hostile_upstream
from tests.perf.support import MIB, BenchmarkError, Figure, main_for

TITLE = "(f) hostile upstream, 30 MB answer"
HLSYNC = Path(sys.executable).parent / "hlsync"
TOKEN_VARIABLE = "HOSTILE_TOKEN"
TARGET_MIB = 100
CONFIG = """\
version: 1
target: {{url: "{url}"}}
locations:
  main:
    id: loc-1
    token: {{env: {variable}}}
"""
EXPECTED = {
    Behaviour.HUGE: "the answer is larger than 16 MiB",
    Behaviour.MALFORMED: "the answer is not JSON",
}


def _plan_rss(behaviour: Behaviour) -> tuple[float, float]:
    """Peak RSS (MiB) and wall seconds of one failing ``hlsync plan`` child."""
    with (
        hostile_upstream(behaviour) as hostile,
        tempfile.TemporaryDirectory(prefix="hlsync-bench-") as folder,
    ):
        config = Path(folder) / "hlsync.yaml"
        config.write_text(
            CONFIG.format(url=hostile.url, variable=TOKEN_VARIABLE), encoding="utf-8"
        )
        environ = {**os.environ, TOKEN_VARIABLE: "pit-bench-not-a-real-token"}
        started = time.perf_counter()
        child = subprocess.Popen(
            [str(HLSYNC), "plan", str(config), "--timeout", "30"],
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert child.stderr is not None
        stderr = child.stderr.read().decode("utf-8", errors="replace")
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
    if child.returncode != 1 or EXPECTED[behaviour] not in stderr:
        raise BenchmarkError(
            f"hlsync plan against {behaviour.value}: exit {child.returncode}, "
            f"{stderr.strip()!r}"
        )
    return usage.ru_maxrss * 1024 / MIB, elapsed  # ru_maxrss is in KiB on Linux


def run() -> list[Figure]:
    floor, _ = _plan_rss(Behaviour.MALFORMED)
    peak, elapsed = _plan_rss(Behaviour.HUGE)
    return [
        Figure(
            TITLE,
            "peak RSS of the hlsync plan process",
            peak,
            "MiB",
            f"target <= {TARGET_MIB} MB; a tiny answer: {floor:.0f} MiB; cap 16 MiB",
        ),
        Figure(TITLE, "time to the cap's error", elapsed, "s", "exit 1"),
    ]


if __name__ == "__main__":
    main_for(run)
