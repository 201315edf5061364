"""The faulty phase of a trial: rounds of concurrent applies, some of them killed.

Each round starts ``concurrent`` ``hlsync apply --auto-approve`` runs at once, each
waiting for the apply lock (``--lock-timeout``, :data:`~tests.soak.settings.LOCK_WAIT`):
one applies, the others wait and apply after it, in turn. While kills are left, every
run of the round is a victim: SIGINT or SIGKILL (a coin) while it applies, that is once
it holds the lock (the soak reads the holder's pid from the lock file of the first
location, ``.hlsync/locks/<name>.lock``), at a random moment within the expected length
of an apply or, for half the victims, "right at a mint" (as soon as the emulator shows
a newly minted token or the token journal, ``hlsync.journal.jsonl``, written just
before a mint, grows) when one comes before that moment. A kill counts as landed only
when the signal reached a live run; a victim that finished first is no kill, and rounds
go on until ``kills`` have landed or ``kills + ROUND_SLACK`` rounds have run. A dead
run's lease is aged (``leases.py``) so that the next apply takes it over at once, with
hlsync's warning, instead of 90 s later. Every round but the first is preceded by drift
(``drift.py``). The trial then converges without faults (``trial.py``) from whatever
the last round left.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hlsync.locks.lockfile import LOCK_DIR, Holder
from tests.soak.account import SoakLocation
from tests.soak.drift import Drift, drift
from tests.soak.leases import OWNER, Leases
from tests.soak.runs import Finished, Running
from tests.soak.settings import LOCK_WAIT, ROUND_SLACK, RUN_TIMEOUT, Settings
from tests.soak.upstream import MintWatch, Upstream

POLL = 0.02  # seconds between looks at the runs, the lock file and the mint count
# Seconds an apply is expected to take until one is timed whole. The first apply creates
# every contact (tens of seconds); a guess too long only lets a victim finish, which
# times a whole apply, while one too short kills every run before it writes, and since
# every run is a victim no whole apply would ever correct it.
FIRST_GUESS = 20.0
JOURNAL = "hlsync.journal.jsonl"


@dataclass(frozen=True, slots=True)
class Victim:
    """When and how one run of a round dies."""

    sig: signal.Signals
    at: float  # seconds after it took the lock (the fallback when awaiting a mint)
    after_mint: bool


@dataclass(frozen=True, slots=True)
class Mark:
    """When a run took the lock, and the mint count and journal size then."""

    at: float
    mints: int
    journal: int


@dataclass(frozen=True, slots=True)
class Round:
    """What one round of concurrent applies did."""

    runs: tuple[Finished, ...]
    killed: int
    after_mint: int
    waited: int  # runs that took the lock after another run held it
    applying: tuple[float, ...]  # seconds whole runs applied (lock taken to exit 0)


@dataclass(frozen=True, slots=True)
class ChaosResult:
    """The faulty phase of one trial, summed over its rounds."""

    runs: tuple[Finished, ...]
    kills: int  # landed: the signal reached a live, applying run
    kills_after_mint: int
    rounds: int
    drifted: Drift
    waited: int
    leases_aged: int


def chaos(
    folder: Path,
    upstream: Upstream,
    locations: tuple[SoakLocation, ...],
    env: Mapping[str, str],
    settings: Settings,
    rng: random.Random,
) -> ChaosResult:
    runs: list[Finished] = []
    kills = after_mint = rounds = waited = 0
    expected = FIRST_GUESS
    drifted = Drift(0, 0)
    leases = Leases(upstream, locations)
    lock_file = folder / LOCK_DIR / f"{min(loc.name for loc in locations)}.lock"
    while rounds == 0 or (
        kills < settings.kills and rounds < settings.kills + ROUND_SLACK
    ):
        rounds += 1
        if rounds > 1:
            step = drift(upstream, locations, rng)
            drifted = Drift(
                drifted.integrations + step.integrations,
                drifted.contacts + step.contacts,
            )
        victims = _at_most(
            [_victim(rng, expected) for _ in range(settings.concurrent)],
            settings.kills - kills,
        )
        done = _round(folder, upstream, env, rounds, victims, leases, lock_file)
        runs += done.runs
        kills += done.killed
        after_mint += done.after_mint
        waited += done.waited
        if done.applying:
            expected = max(1.0, max(done.applying))
    leases.look(time.monotonic(), force=True)  # convergence starts on a free lock
    return ChaosResult(
        tuple(runs), kills, after_mint, rounds, drifted, waited, leases.aged
    )


def _victim(rng: random.Random, expected: float) -> Victim:
    sig = signal.SIGINT if rng.random() < 0.5 else signal.SIGKILL
    after_mint = rng.random() < 0.5
    return Victim(sig, rng.uniform(0.2, max(0.2, expected)), after_mint)


def _at_most(victims: list[Victim], left: int) -> list[Victim | None]:
    """The first ``left`` victims; the other runs of the round live."""
    return [victim if n < left else None for n, victim in enumerate(victims)]


def _round(
    folder: Path,
    upstream: Upstream,
    env: Mapping[str, str],
    number: int,
    victims: list[Victim | None],
    leases: Leases,
    lock_file: Path,
) -> Round:
    """Start one run per entry of ``victims`` and kill the victims (module docstring)
    while watching the lock file, the mints and the ended runs' leases."""
    killed = after_mint = 0
    journal = folder / JOURNAL
    marks: dict[int, Mark] = {}
    leases.look(time.monotonic(), force=True)
    with MintWatch(upstream) as watch:
        started = time.monotonic()
        running = [
            Running(
                folder,
                f"chaos-{number:03d}-{n}",
                env,
                *("apply", ".", "--auto-approve", *LOCK_WAIT),
            )
            for n in range(len(victims))
        ]
        for r in running:
            leases.started(r.pid)
        pending = {n: v for n, v in enumerate(victims) if v is not None}
        while any(r.alive() for r in running):
            time.sleep(POLL)
            now = time.monotonic()
            if now - started > RUN_TIMEOUT:
                break  # finish() below kills what is left
            holder = _holder(lock_file, running)
            if holder is not None and holder not in marks:
                marks[holder] = Mark(now, watch.mints, _size(journal))
            for n, victim in list(pending.items()):
                mark = marks.get(n)
                if not running[n].alive():
                    del pending[n]  # ended before its moment: no kill
                elif mark is not None:
                    minted = victim.after_mint and (
                        watch.mints > mark.mints or _size(journal) > mark.journal
                    )
                    if minted or now >= mark.at + victim.at:
                        del pending[n]
                        if running[n].kill(victim.sig):
                            killed += 1
                            after_mint += minted
            for r in running:
                if not r.alive():
                    leases.ended(r.pid, now)
            leases.look(now)
    finished = [r.finish() for r in running]
    for r in running:
        leases.ended(r.pid, time.monotonic())
    applying = tuple(
        f.seconds - (marks[n].at - running[n].started)
        for n, f in enumerate(finished)
        if n in marks and f.killed_by is None and f.code == 0
    )
    return Round(
        tuple(finished), killed, after_mint, sum(r.waited for r in finished), applying
    )


def _holder(lock_file: Path, running: list[Running]) -> int | None:
    """The index of the live run whose pid the lock file names, if any."""
    try:
        holder = Holder.parse(lock_file.read_text(encoding="utf-8"))
    except OSError:
        return None
    match = None if holder is None else OWNER.match(holder.owner)
    if match is None:
        return None
    pid = int(match["pid"])
    for n, run in enumerate(running):
        if run.pid == pid and run.alive():
            return n
    return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
