"""The soak's verdict (``tests/soak/table.py``) and which leases it ages
(``tests/soak/leases.py``): pure parts, no emulator, no subprocess."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.soak.audit import Audit
from tests.soak.chaos import ChaosResult
from tests.soak.drift import Drift
from tests.soak.leases import stale
from tests.soak.runs import Finished
from tests.soak.settings import Settings
from tests.soak.table import rows, verdict
from tests.soak.trial import TrialResult

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TAKEN_OVER = "Warning: location 'soak1': took over an expired lock of root@vm pid 7"


def result(kills: int, *, after_mint: int = 0) -> TrialResult:
    killed = tuple(
        Finished("apply", -9, "", 1.0, "SIGKILL" if n % 2 else "SIGINT")
        for n in range(kills)
    )
    whole = Finished("apply", 0, f"{TAKEN_OVER}\n", 2.0)
    chaos = ChaosResult(
        killed + (whole,), kills, after_mint, 3, Drift(1, 5), waited=2, leases_aged=1
    )
    converge = (Finished("plan", 0, "", 1.0),)
    return TrialResult(Audit(0, 0, 0, 0), chaos, 250, converge, 0, 0, 30.0)


def row(trials: list[TrialResult], figure: str, kills: int) -> tuple[str, ...]:
    (found,) = [r for r in rows(trials, Settings(kills=kills)) if r.figure == figure]
    return found.total, found.per_trial, found.target, str(found.met)


def test_every_kill_landed_meets_the_target() -> None:
    trials = [result(2, after_mint=1), result(2)]
    assert row(trials, "kills landed", 2) == (
        "4 of 4 (SIGINT 2, SIGKILL 2, 1 right at a mint)",
        "2, 2",
        "2 per trial",
        "True",
    )
    assert verdict(rows(trials, Settings(kills=2))) == "every target met"


def test_fewer_kills_landed_than_asked_is_a_missed_target() -> None:
    trials = [result(2), result(1)]
    assert row(trials, "kills landed", 2)[::3] == (
        "3 of 4 (SIGINT 2, SIGKILL 1, 0 right at a mint)",
        "False",
    )
    assert verdict(rows(trials, Settings(kills=2))) == "TARGETS MISSED: kills landed"


def test_waits_and_lease_take_overs_are_counted() -> None:
    trials = [result(0)]
    assert row(trials, "faulty-phase applies", 0)[0] == (
        "1 (exit 0: 1; 2 waited for the lock)"
    )
    figure = "declared contacts present after the faulty phase"
    assert row(trials, figure, 0)[:2] == ("250 of 900", "250")
    assert row(trials, "dead runs' leases: aged by the soak / taken over", 0)[:2] == (
        "1 / 1",
        "1 / 1",
    )


def record(owner: str, expires: str = "2026-12-01T12:01:30Z") -> dict[str, object]:
    return {"owner": owner, "run": "r", "started": "", "expires": expires}


def test_only_a_live_lease_of_a_dead_soak_run_on_this_host_is_stale() -> None:
    dead = {7}
    assert stale(record("root@vm pid 7"), dead, "vm", NOW)
    assert not stale(record("root@vm pid 8"), dead, "vm", NOW)  # alive
    assert not stale(record("root@other pid 7"), dead, "vm", NOW)  # other machine
    expired = record("root@vm pid 7", "2026-12-01T11:59:59Z")
    assert not stale(expired, dead, "vm", NOW)  # already expired: nothing to age
    assert not stale(record("root@vm pid 7", "soon"), dead, "vm", NOW)
    assert not stale({"owner": 7}, dead, "vm", NOW)
