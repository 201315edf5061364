"""What every benchmark shares: figures and their table, seeding, an emulator process.

A benchmark module ``bench_<name>.py`` exposes ``TITLE`` and ``run() -> list[Figure]``
and ends with ``if __name__ == "__main__": main_for(run)`` so that it also runs alone
(``python -m tests.perf.bench_<name>``). ``python -m tests.perf`` runs them all and
prints one table (``tests/perf/__main__.py``).

Benchmarks that talk HTTP start the emulator in a child process
(:func:`emulator_process`): the real :class:`~hlsync.emulator.state.EmulatorState`
behind the real :class:`~hlsync.emulator.server.ServerThread` on 127.0.0.1, seeded
straight into its store. A separate process keeps the server's work and allocations out
of the client's wall time and ``tracemalloc`` peak, and off its GIL, as with a real
``hlsync emulator serve``. The parent reads the request log through the admin API.
The location's token travels over a pipe and lives only in memory; it is never printed.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from hlsync.emulator.app import create_app
from hlsync.emulator.ratelimit import Limits
from hlsync.emulator.server import ServerThread
from hlsync.emulator.state import EmulatorState
from tests.emulator_fixtures import LOCATION_A, VERSION, provisioned_state

CORES = os.cpu_count() or 1
HELD = 20_000  # contacts in the big location: the size the emulator promises
START_TIMEOUT = 120.0  # seconds for the child to seed 20,000 contacts and listen
ADMIN = "/_emulator"
MIB = 1024 * 1024
TOKEN_VARIABLE = "BENCH_TOKEN"
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


def seed_contacts(state: EmulatorState, location_id: str, count: int) -> None:
    """``count`` contacts ``Member<n>`` / :func:`member_email` straight into the store,
    committed, with the request log cleared."""
    with state.lock:
        for n in range(count):
            state.store.create_contact(
                location_id, {"firstName": f"Member{n}", "email": member_email(n)}
            )
        state.commit()
        state.requests.clear()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(action: Callable[[], object]) -> float:
    """Wall seconds one call of ``action`` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class EmulatorSpec:
    """What the child emulator holds: ``contacts`` seeded into ``LOCATION_A``."""

    contacts: int = 0
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True, slots=True)
class RemoteEmulator:
    """A running child emulator: its URL, location A and that location's token."""

    base_url: str
    location_id: str
    token: str = field(repr=False)

    def admin(self, method: str, path: str) -> Any:
        """One admin API call (no token needed); the decoded JSON answer."""
        with httpx.Client(base_url=self.base_url, timeout=60) as http:
            response = http.request(method, ADMIN + path)
            response.raise_for_status()
            return response.json()

    def reset(self) -> None:
        """Forget logged requests and rate-limit counters."""
        self.admin("DELETE", "/requests")
        self.admin("DELETE", "/limits/counters")

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first (``LogEntry.to_json`` dicts)."""
        found: list[dict[str, Any]] = self.admin("GET", "/requests")["requests"]
        return found

    def environ(self) -> dict[str, str]:
        """The environment a :func:`url_config` config reads location A's token from."""
        return {TOKEN_VARIABLE: self.token}

    def client(self) -> httpx.Client:
        """A sync client sending location A's token and the API version."""
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token}", "Version": VERSION},
            timeout=60,
        )


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


def _serve(spec: EmulatorSpec, conn: Connection) -> None:
    """Child process: provision, seed, serve until the parent says stop (or dies)."""
    provisioned = provisioned_state(limits=spec.limits)
    state = provisioned.state
    seed_contacts(state, LOCATION_A, spec.contacts)
    server = ServerThread(create_app(state))
    server.start()
    try:
        conn.send((server.base_url, provisioned.location_tokens[LOCATION_A]))
        conn.recv()
    except EOFError:
        pass
    finally:
        server.stop()
        state.close()


@contextmanager
def emulator_process(spec: EmulatorSpec) -> Iterator[RemoteEmulator]:
    """The emulator in a child process for the ``with`` block; stopped afterwards."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve, args=(spec, theirs), daemon=True)
    child.start()
    try:
        if not ours.poll(START_TIMEOUT):
            raise BenchmarkError("the emulator process did not start in time")
        base_url, token = ours.recv()
        yield RemoteEmulator(base_url, LOCATION_A, token)
    finally:
        if child.is_alive():
            try:
                ours.send("stop")
            except OSError:
                pass
        child.join(timeout=15)
        if child.is_alive():
            child.terminate()
            child.join(timeout=5)
        ours.close()


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
