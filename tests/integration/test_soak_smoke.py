"""``python -m tests.soak`` runs and prints its table (the soak itself is not run here).

A tiny soak: one location with five contacts, one trial, one round of two concurrent
applies (the second waits for the apply lock, then finds nothing to do), no faults and
no kills, against a real ``hlsync emulator serve`` on 127.0.0.1. A few seconds.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.e2e_support import REPO

pytestmark = pytest.mark.integration

TINY = (
    "--locations=1",
    "--contacts=5",
    "--trials=1",
    "--kills=0",
    "--concurrent=2",
    "--error-rate=0",
    "--fail-after-commit=0",
    "--search-lag-ms=0",
)


def soak(*flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.soak", *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_a_tiny_soak_prints_its_table_and_meets_every_target() -> None:
    done = soak(*TINY)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("soak: 1 trials x 1 locations x 5 contacts, 0% 5xx")
    assert lines[2] == "| figure | all trials | per trial | target |"
    for row in (
        "| trials | 1 |  |  |",
        "| duplicate contacts | 0 | 0 | 0 |",
        "| duplicate integrations | 0 | 0 | 0 |",
        "| lost contacts | 0 | 0 | 0 |",
        "| lost tokens | 0 | 0 | 0 |",
        "| applies to converge (max) | 0 | 0 | ≤ 2 |",
        "| tracebacks | 0 | 0 | 0 |",
        "| internal errors | 0 | 0 | 0 |",
        "| emulator tracebacks (not an injected drop) | 0 | 0 |  |",
        "| kills landed | 0 of 0 (0 right at a mint) | 0 | 0 per trial |",
        "| declared contacts present after the faulty phase | 5 of 5 | 5 |  |",
        "| dead runs' leases: aged by the soak / taken over | 0 / 0 | 0 / 0 |  |",
    ):
        assert row in lines, done.stdout
    # both exit 0: the second waited for the lock (or, on a slow start, came after)
    assert any(
        line.startswith("| faulty-phase applies | 2 (exit 0: 2; ")
        and line.endswith(" waited for the lock) | 2 in 1 rounds |  |")
        for line in lines
    ), done.stdout
    assert lines[-1] == "every target met"
    assert "Traceback" not in done.stderr


def test_bad_flags_are_refused_in_one_line() -> None:
    done = soak("--contacts=0", "--error-rate=2")
    assert done.returncode == 2
    assert "--contacts must be 1 or more; --error-rate must be from 0 to 1" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
