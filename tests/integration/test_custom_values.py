"""Custom values against the real emulator on 127.0.0.1: creates whose outcome is
unknown, plans applied twice, values someone else created, protected deletes."""

from __future__ import annotations

import pytest

from hlsync.core.model import (
    AgencySpec,
    CustomValue,
    DesiredState,
    LocationSpec,
    Target,
)
from tests.emulator_fixtures import LOCATION_A, LiveEmulator
from tests.integration.test_applier import apply, faults, plan_for, statuses

pytestmark = pytest.mark.integration

LINK = 'alpha.custom_value["Booking Link"]'


def desired(*values: CustomValue) -> DesiredState:
    spec = LocationSpec(name="alpha", id=LOCATION_A, custom_values=values)
    return DesiredState(
        Target(kind="url", url="http://127.0.0.1"),
        AgencySpec(),
        (spec,),
        "digest",
        "hlsync.yaml",
    )


def upstream_values(emulator: LiveEmulator) -> dict[str, str]:
    with emulator.state.lock:
        found = emulator.state.store.items.custom_values(LOCATION_A)
    return {v["name"]: v["value"] for v in found}


def test_a_create_whose_answer_is_lost_is_found_by_a_re_read(
    emulator: LiveEmulator,
) -> None:
    route = "POST /locations/{locationId}/customValues"
    faults(emulator, {"route": route, "failAfterCommit": 1, "times": 1})
    state = desired(CustomValue("Booking Link", "https://book.example.com"))
    run = apply(emulator, plan_for(emulator, state))
    assert statuses(run) == {LINK: "ok"}, run.result.outcomes
    assert "re-read found the value created" in run.result.outcomes[0].message
    assert upstream_values(emulator) == {"Booking Link": "https://book.example.com"}
    assert not plan_for(emulator, state).has_changes


def test_a_plan_applied_twice_finds_its_value_there(emulator: LiveEmulator) -> None:
    plan = plan_for(emulator, desired(CustomValue("Booking Link", "https://a.example")))
    assert statuses(apply(emulator, plan)) == {LINK: "ok"}
    again = apply(emulator, plan)
    assert statuses(again) == {LINK: "ok"}
    assert again.result.outcomes[0].message == "already existed upstream"
    assert upstream_values(emulator) == {"Booking Link": "https://a.example"}


def test_a_value_someone_else_created_meanwhile_fails_the_create(
    emulator: LiveEmulator,
) -> None:
    stale = plan_for(emulator, desired(CustomValue("Booking Link", "https://mine")))
    apply(
        emulator,
        plan_for(emulator, desired(CustomValue("Booking Link", "https://theirs"))),
    )
    run = apply(emulator, stale)
    assert statuses(run) == {LINK: "failed"}
    message = run.result.outcomes[0].message
    assert "400" in message and "exists with another value" in message
    assert upstream_values(emulator) == {"Booking Link": "https://theirs"}


def test_deletes_are_gated_and_protect_refuses_them(emulator: LiveEmulator) -> None:
    apply(emulator, plan_for(emulator, desired(CustomValue("Booking Link", "x"))))
    gone = plan_for(emulator, desired(CustomValue("Booking Link", ensure="absent")))
    (change,) = gone.pending
    assert (change.action, change.gate) == ("delete", "delete")
    kept = plan_for(
        emulator, desired(CustomValue("Booking Link", ensure="absent", protect=True))
    )
    assert kept.pending[0].gate == "protected"
    assert [c.address for c in kept.gated(force=True)] == [LINK]
    assert statuses(apply(emulator, gone)) == {LINK: "ok"}
    assert upstream_values(emulator) == {}
    assert not plan_for(
        emulator, desired(CustomValue("Booking Link", ensure="absent"))
    ).has_changes
