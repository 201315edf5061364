"""Fault rules, the request log ring buffer and the clock, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hlsync.emulator.clock import Clock, isoformat, parse_iso
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.faults import FaultRule, Faults
from hlsync.emulator.requestlog import RequestLog

T0 = datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)


def test_rule_parsing_reports_every_problem() -> None:
    with pytest.raises(EmulatorError) as caught:
        FaultRule.from_json(
            {
                "route": "/contacts/",
                "errorRate": 2,
                "latencyMs": -1,
                "errorStatus": 404,
                "failMode": "explode",
                "times": 0,
                "colour": "red",
            },
            "rules.0",
        )
    assert caught.value.status == 422
    messages = caught.value.body["message"]
    assert "property colour should not exist" in messages
    assert len(messages) == 7
    assert all(m.startswith(("rules.0.", "property")) for m in messages)
    rule = FaultRule.from_json({"route": "post /contacts", "searchLagMs": 5})
    assert rule.route == "POST /contacts"
    assert rule.matches("POST /contacts/") and not rule.matches("GET /contacts/")


def test_seeded_error_rate_is_reproducible() -> None:
    def run(seed: int) -> list[int | None]:
        faults = Faults()
        faults.set([FaultRule(error_rate=0.5)], seed)
        return [faults.plan("GET /contacts/").error_status for _ in range(40)]

    first = run(3)
    assert first == run(3)
    assert first != run(4)
    assert 5 < first.count(503) < 35


def test_times_limits_occurrences_and_lag_is_standing() -> None:
    faults = Faults()
    faults.set(
        [
            FaultRule(route="POST /contacts/", fail_after_commit=1.0, times=2),
            FaultRule(route="POST /contacts/search", search_lag_ms=1500),
            FaultRule(latency_ms=20, error_rate=1.0, error_status=500, times=1),
        ]
    )
    first = faults.plan("POST /contacts/")
    assert first.error_status == 500 and first.fail_after_commit is None
    assert first.latency_s == pytest.approx(0.02)
    second = faults.plan("POST /contacts")
    assert (second.error_status, second.fail_after_commit) == (None, "502")
    assert faults.plan("POST /contacts/").fail_after_commit == "502"
    assert faults.plan("POST /contacts/").fail_after_commit is None
    assert faults.search_lag_seconds("POST /contacts/search") == 1.5
    assert faults.search_lag_seconds("GET /contacts/") == 0.0
    faults.plan("POST /contacts/search")
    assert faults.search_lag_seconds("POST /contacts/search") == 1.5
    assert [r.route for r in faults.rules] == ["POST /contacts/search"]
    faults.clear()
    assert faults.to_json()["rules"] == []


def test_request_log_is_bounded_but_counts_everything() -> None:
    log = RequestLog(maxlen=3)
    for n in range(5):
        log.record(
            time=T0 + timedelta(seconds=n),
            method="GET",
            path=f"/contacts/{n}",
            route="GET /contacts/{contactId}",
            status=200 if n % 2 else 404,
            integration_id="pi",
            token_id="tok",
            location_id="loc",
            duration_ms=1.0,
        )
    entries = log.entries()
    assert [e.seq for e in entries] == [3, 4, 5]
    assert [e.seq for e in log.entries(status=404)] == [3, 5]
    assert [e.seq for e in log.entries(since=T0 + timedelta(seconds=4))] == [5]
    assert log.stats()["total"] == 5
    assert log.stats()["byStatus"] == {"200": 2, "404": 3}
    log.clear()
    assert log.entries() == [] and log.stats()["total"] == 0


def test_clock_real_until_set_then_frozen() -> None:
    clock = Clock()
    assert not clock.frozen
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    clock.set(datetime(2026, 2, 3, 4, 5, 6, 789000))  # naive means UTC
    assert clock.frozen and clock.now() == T0
    clock.advance(timedelta(days=7))
    assert clock.now() == T0 + timedelta(days=7)
    clock.unfreeze()
    assert not clock.frozen
    assert isoformat(T0) == "2026-02-03T04:05:06.789Z"
    assert parse_iso("2026-02-03T04:05:06.789Z") == T0
    with pytest.raises(ValueError):
        parse_iso("yesterday")
