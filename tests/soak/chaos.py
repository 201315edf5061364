"""The faulty phase of a trial: rounds of concurrent applies, some of them killed.

Each round starts ``concurrent`` ``hlsync apply --auto-approve`` runs at once. While
kills are left, each run of the round is a victim with probability 3/4: SIGINT or
SIGKILL (a coin), either at a random moment within the expected length of an apply or,
for half the victims, "right at a mint": as soon as the emulator shows a newly minted
token or the token journal (``hlsync.journal.jsonl``, written just before a mint) grows,
falling back to twice the expected length when neither happens. Every round but the first is preceded by drift
(``drift.py``). Rounds go on until every kill is spent (one round when there are none),
``kills + ROUND_SLACK`` rounds at most, each run bounded; the trial then converges
without faults (``trial.py``), from whatever the last round left.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.soak.account import SoakLocation
from tests.soak.drift import Drift, drift
from tests.soak.runs import Finished, Running
from tests.soak.settings import ROUND_SLACK, Settings
from tests.soak.upstream import MintWatch, Upstream

POLL = 0.02  # seconds between looks at the runs and the mint count
FIRST_GUESS = 5.0  # seconds an apply is expected to take before one was timed
MINT_WAIT = 2.0  # a victim awaiting a mint dies anyway after this many expected lengths
JOURNAL = "hlsync.journal.jsonl"


@dataclass(frozen=True, slots=True)
class Victim:
    """When and how one run of a round dies."""

    sig: signal.Signals
    at: float  # seconds after the round started (the fallback when awaiting a mint)
    after_mint: bool


@dataclass(frozen=True, slots=True)
class ChaosResult:
    runs: tuple[Finished, ...]
    kills: int
    kills_after_mint: int
    rounds: int
    drifted: Drift


def chaos(
    folder: Path,
    upstream: Upstream,
    locations: tuple[SoakLocation, ...],
    env: Mapping[str, str],
    settings: Settings,
    rng: random.Random,
) -> ChaosResult:
    runs: list[Finished] = []
    kills = after_mint = rounds = 0
    expected = FIRST_GUESS
    drifted = Drift(0, 0)
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
        finished, killed, minted = _round(
            folder, upstream, env, rounds, victims, settings.concurrent
        )
        runs += finished
        kills += killed
        after_mint += minted
        whole = [f.seconds for f in finished if f.killed_by is None and f.code == 0]
        if whole:
            expected = max(1.0, max(whole))
    return ChaosResult(tuple(runs), kills, after_mint, rounds, drifted)


def _victim(rng: random.Random, expected: float) -> Victim | None:
    if rng.random() >= 0.75:
        return None
    sig = signal.SIGINT if rng.random() < 0.5 else signal.SIGKILL
    if rng.random() < 0.5:  # at a mint, else (none came) once the apply is well late
        return Victim(sig, MINT_WAIT * expected, after_mint=True)
    return Victim(sig, rng.uniform(0.2, expected), after_mint=False)


def _at_most(victims: list[Victim | None], left: int) -> list[Victim | None]:
    kept: list[Victim | None] = []
    for victim in victims:
        kept.append(victim if victim is not None and left > 0 else None)
        left -= victim is not None
    return kept


def _round(
    folder: Path,
    upstream: Upstream,
    env: Mapping[str, str],
    number: int,
    victims: list[Victim | None],
    concurrent: int,
) -> tuple[list[Finished], int, int]:
    """One round; its runs, how many were killed, how many of those after a mint."""
    killed = after_mint = 0
    journal = folder / JOURNAL
    with MintWatch(upstream) as watch:
        written = _size(journal)
        started = time.monotonic()
        running = [
            Running(
                folder, f"chaos-{number:03d}-{n}", env, "apply", ".", "--auto-approve"
            )
            for n in range(concurrent)
        ]
        pending = {n: v for n, v in enumerate(victims) if v is not None}
        while pending and any(r.alive() for r in running):
            time.sleep(POLL)
            elapsed = time.monotonic() - started
            for n, victim in list(pending.items()):
                minted = victim.after_mint and (
                    watch.mints > 0 or _size(journal) > written
                )
                if minted or elapsed >= victim.at:
                    del pending[n]
                    if running[n].kill(victim.sig):
                        killed += 1
                        after_mint += minted
    return [r.finish() for r in running], killed, after_mint


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
