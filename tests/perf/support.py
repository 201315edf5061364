"""What every benchmark shares: figures and their table, seeding, an emulator process.

A benchmark module ``bench_<name>.py`` exposes ``TITLE`` and ``run() -> list[Figure]``
and ends with ``if __name__ == "__main__": main_for(run)`` so that it also runs alone
(``python -m tests.perf.bench_<name>``). ``python -m tests.perf`` runs them all and
prints one table (``tests/perf/__main__.py``).

Benchmarks that talk HTTP start ``hlsync emulator serve`` in a child process
(:func:`emulator_process`) on 127.0.0.1 and build their large locations through its
admin API's bulk load, as another project would: no benchmark imports the emulator's
internals. A separate process keeps the server's work and allocations out of the
client's wall time and ``tracemalloc`` peak, and off its GIL. The parent drives it with
:class:`hlsync.testing.Emulator` (request log, limits, bulk load). The location's token
travels through a 0600 tokens file in a private temporary folder and then lives only in
memory; it is never printed.
"""

from __future__ import annotations

import csv
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hlsync.errors import HlsyncError
from hlsync.testing import Emulator, LoggedRequest

CORES = os.cpu_count() or 1
LOCATION_A = "lochlsyncAlpha000001"  # the one location of a benchmark's emulator
HELD = 20_000  # contacts in the big location: the size the emulator promises
START_TIMEOUT = 120.0  # seconds for the child to start listening
MIB = 1024 * 1024
TOKEN_VARIABLE = "BENCH_TOKEN"


@dataclass(frozen=True, slots=True)
class Limits:
    """The emulator's rate limits, as ``hlsync emulator serve`` takes them (upstream's
    defaults: 100 requests per 10 s, 200,000 a day)."""

    burst_max: int = 100
    interval_ms: int = 10_000
    daily_max: int = 200_000

    def flags(self) -> list[str]:
        return [
            f"--burst-max={self.burst_max}",
            f"--burst-interval-ms={self.interval_ms}",
            f"--daily-limit={self.daily_max}",
        ]


# Enough for any benchmark's burst: for runs whose figure is not about rate limits.
UNLIMITED = Limits(burst_max=1_000_000, interval_ms=10_000, daily_max=10_000_000)


class BenchmarkError(RuntimeError):
    """A benchmark's own sanity check failed: its figures would mean nothing."""


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured number: ``bench`` names the benchmark, ``what`` the quantity."""

    bench: str
    what: str
    value: float | int  # an int is a count, shown without decimals
    unit: str
    note: str = ""


def member_email(n: int) -> str:
    """The email of seeded contact ``n`` (``member00042@example.com``)."""
    return f"member{n:05d}@example.com"


def members(count: int, start: int = 0) -> Iterator[dict[str, Any]]:
    """Bulk-load lines for contacts ``Member<n>`` / :func:`member_email`."""
    for n in range(start, start + count):
        yield {"firstName": f"Member{n}", "email": member_email(n)}


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(action: Callable[[], object]) -> float:
    """Wall seconds one call of ``action`` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class EmulatorSpec:
    """What the child emulator holds: ``contacts`` bulk-loaded into ``LOCATION_A``;
    ``db``: serve that SQLite file (``--db``) instead of memory."""

    contacts: int = 0
    limits: Limits = field(default_factory=Limits)
    db: Path | None = None


@dataclass(slots=True)
class RemoteEmulator:
    """A running child emulator: location A, its token, and the testing handle.

    ``started_in``: seconds from the child's start to its first answer (before the
    bulk load).
    """

    emulator: Emulator = field(repr=False)
    started_in: float
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the emulator process has used so far; None where
        ``/proc`` does not tell (not Linux)."""
        try:
            fields = (
                Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            )
        except OSError:
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    @property
    def location_id(self) -> str:
        return self.emulator.location.id

    @property
    def token(self) -> str:
        return self.emulator.location.token

    def reset(self) -> None:
        """Forget logged requests and rate-limit counters."""
        self.emulator.clear_requests()
        self.emulator.reset_rate_limits()

    def requests(self) -> list[LoggedRequest]:
        """The request log, oldest first."""
        return self.emulator.requests()

    def environ(self) -> dict[str, str]:
        """The environment a :func:`url_config` config reads location A's token from."""
        return {TOKEN_VARIABLE: self.token}

    def client(self) -> httpx.Client:
        """A sync client sending location A's token and the API version."""
        return self.emulator.client()


def url_config(
    folder: Path, emulator: RemoteEmulator, contacts: Iterable[tuple[str, str]]
) -> Path:
    """Write a config for ``emulator``'s URL into ``folder``; the YAML file's path.

    One location ``main`` (location A, token from ``$BENCH_TOKEN``: see
    :meth:`RemoteEmulator.environ`) seeding ``contacts``, ``(firstName, email)`` rows
    of ``contacts.csv``.
    """
    path = folder / "hlsync.yaml"
    path.write_text(
        "version: 1\n"
        f'target: {{url: "{emulator.base_url}"}}\n'
        "locations:\n"
        "  main:\n"
        f"    id: {emulator.location_id}\n"
        f"    token: {{env: {TOKEN_VARIABLE}}}\n"
        "    contacts_from: contacts.csv\n",
        encoding="utf-8",
    )
    with (folder / "contacts.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["firstName", "email"])
        out.writerows(contacts)
    return path


def _command(spec: EmulatorSpec, tokens: Path) -> list[str]:
    command = [sys.executable, "-m", "hlsync", "emulator", "serve", "--port=0"]
    command += [f"--location={LOCATION_A}:Alpha", f"--tokens-file={tokens}"]
    command += spec.limits.flags()
    return command + ([f"--db={spec.db}"] if spec.db is not None else [])


def _attach(child: subprocess.Popen[bytes], tokens: Path, log: Path) -> Emulator:
    """The served emulator once its tokens file is written (it listens by then)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.poll() is not None:
            problem = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise BenchmarkError(f"the emulator process ended at start: {problem}")
        try:
            return Emulator.from_tokens_file(tokens)
        except HlsyncError:  # not written yet, or half written
            time.sleep(0.02)
    raise BenchmarkError("the emulator process did not start in time")


@contextmanager
def emulator_process(spec: EmulatorSpec) -> Iterator[RemoteEmulator]:
    """``hlsync emulator serve`` for the ``with`` block, stopped (SIGTERM) afterwards."""
    with tempfile.TemporaryDirectory(prefix="hlsync-bench-") as folder:
        tokens, log = Path(folder) / "tokens.json", Path(folder) / "serve.log"
        started = time.perf_counter()
        with log.open("wb") as errors:
            child = subprocess.Popen(
                _command(spec, tokens), stdout=subprocess.DEVNULL, stderr=errors
            )
        emulator: Emulator | None = None
        try:
            emulator = _attach(child, tokens, log)
            started_in = _first_answer(emulator) - started
            if spec.contacts:
                emulator.load_contacts(members(spec.contacts))
            yield RemoteEmulator(emulator, started_in, child.pid)
        finally:
            if emulator is not None:
                emulator.close()
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=5)


def _first_answer(emulator: Emulator) -> float:
    """The moment (perf_counter) the emulator first answers its admin API."""
    emulator.now()
    return time.perf_counter()


def machine() -> str:
    """One line naming what the figures were measured on."""
    return (
        f"{CORES} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
    )


def _number(value: float | int) -> str:
    if isinstance(value, int) or value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value < 1 else f"{value:.2f}"


def render_table(figures: Sequence[Figure]) -> str:
    """A Markdown table of ``figures`` (pastes into README.md as it is)."""
    lines = [
        "| Benchmark | Figure | Value | Unit | Note |",
        "|---|---|--:|---|---|",
    ]
    lines += [
        f"| {f.bench} | {f.what} | {_number(f.value)} | {f.unit} | {f.note} |"
        for f in figures
    ]
    return "\n".join(lines) + "\n"


def main_for(run: Callable[[], list[Figure]]) -> None:
    """Run one benchmark alone and print its table."""
    sys.stdout.write(f"machine: {machine()}\n\n")
    sys.stdout.write(render_table(run()))
