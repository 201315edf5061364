"""Ledger: confirmations and deliveries, the file format, errors at line and column."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hlsync.commands._common import with_ledger_generations
from hlsync.core.model import DesiredState, Integration, LocationSpec, TokenPolicy
from hlsync.core.plan import Change
from hlsync.engine.planner import PlanOptions, build_plan
from hlsync.errors import HlsyncError
from hlsync.live.ledger import (
    Ledger,
    confirm_change,
    json_positions,
    ledger_generations,
    load_ledger,
    parse_ledger,
    record_delivery,
    save_ledger,
)
from hlsync.live.manual import (
    ManualIntegrationDriver,
    find_integration,
    integration_plan,
)
from hlsync.resources import load_schema
from hlsync.targets.drivers import IntegrationScope
from hlsync.tokens.rotation import TokenHistory
from tests.unit.conftest import desired_state

T0 = datetime(2026, 11, 28, 17, 36, tzinfo=UTC)
T1 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _desired(
    *integrations: Integration, agency: tuple[Integration, ...] = ()
) -> DesiredState:
    return desired_state(
        LocationSpec("main", "LOC-main-0001", integrations=integrations),
        agency=agency,
    )


def _pending(desired: DesiredState, ledger: Ledger) -> list[Change]:
    return list(integration_plan(desired, ledger, build_plan).pending)


BOT = Integration("seed-bot", "Seeds", ("contacts.readonly", "contacts.write"))


def _created() -> Ledger:
    (change,) = _pending(_desired(BOT), Ledger())
    return confirm_change(Ledger(), change, by="ann", at=T0, config_digest="d1")


def test_confirmed_create_is_observed_and_the_plan_is_then_clean() -> None:
    ledger = _created()
    entry = ledger.get("main/seed-bot")
    assert entry is not None
    assert entry.status == "present"
    assert entry.scopes == ("contacts.readonly", "contacts.write")
    assert entry.created_at == entry.confirmed_at == "2026-11-28T17:36:00Z"
    assert entry.token_delivered_at is None
    (event,) = entry.history
    assert (event.by, event.event, event.address, event.config_digest) == (
        "ann",
        "create",
        'main.integration["seed-bot"]',
        "d1",
    )
    assert event.details == {
        "description": "Seeds",
        "scopes": ["contacts.readonly", "contacts.write"],
        "generation": 0,  # the generation its first token has
    }
    assert _pending(_desired(BOT), ledger) == []


def test_driver_lists_present_entries_by_location() -> None:
    driver = ManualIntegrationDriver(_created(), _desired(BOT))
    main = IntegrationScope.location("LOC-main-0001")
    found = asyncio.run(driver.list(main))
    assert list(found) == ["seed-bot"]
    assert found["seed-bot"].id == "ledger:main/seed-bot"
    assert asyncio.run(driver.list(IntegrationScope.agency("agency"))) == {}
    with pytest.raises(HlsyncError, match="manual step"):
        asyncio.run(driver.create(main, "x", "", ()))
    with pytest.raises(HlsyncError, match="manual step"):
        asyncio.run(driver.update(main, "ledger:main/seed-bot", scopes=()))
    with pytest.raises(HlsyncError, match="not a location of this config"):
        asyncio.run(driver.list(IntegrationScope.location("LOC-other")))


def test_update_then_delete_then_create_again_keeps_the_history() -> None:
    narrower = Integration("seed-bot", "Seeds v2", ("contacts.readonly",))
    ledger = _created()
    (update,) = _pending(_desired(narrower), ledger)
    assert update.action == "update"
    ledger = confirm_change(ledger, update, by="bob", at=T1)
    entry = ledger.get("main/seed-bot")
    assert entry is not None
    assert (entry.description, entry.scopes) == ("Seeds v2", ("contacts.readonly",))
    assert entry.created_at == "2026-11-28T17:36:00Z"
    assert entry.history[-1].details["fields"] == [
        {"path": "description", "before": "Seeds", "after": "Seeds v2"},
        {
            "path": "scopes",
            "before": ["contacts.readonly", "contacts.write"],
            "after": ["contacts.readonly"],
        },
    ]
    gone = Integration("seed-bot", ensure="absent")
    (delete,) = _pending(_desired(gone), ledger)
    ledger = confirm_change(ledger, delete, by="bob", at=T1)
    assert ledger.present("main") == {}
    assert _pending(_desired(gone), ledger) == []
    (create,) = _pending(_desired(BOT), ledger)
    ledger = confirm_change(ledger, create, by="cy", at=T1)
    entry = ledger.get("main/seed-bot")
    assert entry is not None
    assert [e.event for e in entry.history] == ["create", "update", "delete", "create"]


def test_token_verbs_move_the_overlap_and_delivery_sets_the_rotation_date() -> None:
    ledger = record_delivery(_created(), "main/seed-bot", by="ann", at=T1)
    entry = ledger.get("main/seed-bot")
    assert entry is not None
    assert entry.token_delivered_at == "2026-12-01T09:00:00Z"
    assert entry.observed().rotated_at == "2026-12-01T09:00:00Z"
    assert entry.history[-1].event == "token_delivered"
    base = Change(
        'main.integration["seed-bot"]', "rotate", "integration", "main", "L", "seed-bot"
    )
    ledger = confirm_change(ledger, base, by="ann", at=T1)
    entry = ledger.get("main/seed-bot")
    assert entry is not None and entry.old_token_expires_at == "2026-12-08T09:00:00Z"
    for action in ("expire_old", "rotate_now", "cancel_rotation"):
        change = dataclasses.replace(base, action=action)
        after = confirm_change(ledger, change, by="ann", at=T1).get("main/seed-bot")
        assert after is not None and after.old_token_expires_at is None
        assert after.history[-1].event == action


def test_the_integration_plan_takes_the_plan_options_and_a_clock() -> None:
    """Token verbs need the journal's generations (options) and a clock (``now``)."""
    ledger = record_delivery(_created(), "main/seed-bot", by="ann", at=T0)
    bumped = dataclasses.replace(
        BOT, token=TokenPolicy(generation=2, rotate_every=timedelta(days=90))
    )
    desired = _desired(bumped)
    assert _pending(desired, ledger) == []
    history = TokenHistory(generations={"main/seed-bot": 1})
    planner = functools.partial(build_plan, options=PlanOptions(history=history))
    (change,) = integration_plan(desired, ledger, planner).pending
    assert (change.action, change.fields[0].after) == ("rotate_now", 2)
    aged = dataclasses.replace(
        bumped, token=dataclasses.replace(bumped.token, generation=1)
    )
    assert integration_plan(_desired(aged), ledger, planner, now=T1).pending == ()
    later = T0 + timedelta(days=91)
    (change,) = integration_plan(_desired(aged), ledger, planner, now=later).pending
    assert change.action == "rotate"


def test_the_ledger_keeps_the_generation_applied_without_the_journal() -> None:
    """A confirmed create, a delivery and a confirmed rotate now each record the
    token's generation, so a bump is still seen when the token journal is lost."""
    ledger = _created()
    assert ledger_generations(ledger) == {"main/seed-bot": 0}
    ledger = record_delivery(ledger, "main/seed-bot", by="ann", at=T0, generation=3)
    entry = ledger.get("main/seed-bot")
    assert entry is not None and entry.history[-1].details == {"generation": 3}
    assert ledger_generations(ledger) == {"main/seed-bot": 3}
    bumped = dataclasses.replace(BOT, token=TokenPolicy(generation=4))
    history = with_ledger_generations(TokenHistory(), ledger)
    planner = functools.partial(build_plan, options=PlanOptions(history=history))
    (change,) = integration_plan(_desired(bumped), ledger, planner).pending
    assert change.action == "rotate_now"
    ledger = confirm_change(ledger, change, by="ann", at=T1)
    assert ledger_generations(ledger) == {"main/seed-bot": 4}
    saved = parse_ledger(ledger.to_json(), "hlsync.ledger.json")
    assert ledger_generations(saved) == {"main/seed-bot": 4}


def test_refusals() -> None:
    contact = Change('main.contact["a"]', "create", "contact", "main", "L", "a")
    with pytest.raises(HlsyncError, match="not a manual step"):
        confirm_change(Ledger(), contact, by="ann", at=T0)
    update = Change('main.integration["x"]', "update", "integration", "main", "L", "x")
    with pytest.raises(HlsyncError, match="holds no such integration"):
        confirm_change(Ledger(), update, by="ann", at=T0)
    with pytest.raises(HlsyncError, match="hlsync confirm main/x"):
        record_delivery(Ledger(), "main/x", by="ann", at=T0)


def test_file_round_trip_is_schema_valid_and_atomic(tmp_path: Path) -> None:
    path = tmp_path / "hlsync.ledger.json"
    assert load_ledger(path) == Ledger()
    ledger = record_delivery(_created(), "main/seed-bot", by="ann", at=T1)
    save_ledger(path, ledger)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hlsync.ledger.json"]
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(load_schema("ledger.schema.json")).validate(data)
    assert load_ledger(path) == ledger
    save_ledger(path, Ledger())
    assert load_ledger(path) == Ledger()


def test_the_clock_of_a_confirmation_is_recorded_and_checked() -> None:
    (change,) = _pending(_desired(BOT), Ledger())
    ledger = confirm_change(Ledger(), change, by="ann", at=T0, clock="upstream")
    text = ledger.to_json()
    assert '"clock": "upstream"' in text
    (event,) = parse_ledger(text, "L.json").entries["main/seed-bot"].history
    assert (event.clock, event.at) == ("upstream", "2026-11-28T17:36:00Z")
    older = _text()  # recorded before events said whose clock: still read
    assert '"clock"' not in older
    assert (
        parse_ledger(older, "L.json").entries["main/seed-bot"].history[0].clock is None
    )
    with pytest.raises(HlsyncError, match="'sundial' is not one of"):
        parse_ledger(text.replace('"upstream"', '"sundial"'), "L.json")


def test_failed_write_leaves_the_old_ledger_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hlsync.ledger.json"
    save_ledger(path, _created())
    before = path.read_text(encoding="utf-8")

    def refuse(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(HlsyncError, match="cannot write the ledger"):
        save_ledger(path, Ledger())
    assert path.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hlsync.ledger.json"]


def _text() -> str:
    return _created().to_json()


def test_not_json_is_reported_at_its_line_and_column() -> None:
    broken = _text().replace('"status": "present"', '"status": present', 1)
    line = next(n for n, t in enumerate(broken.splitlines(), 1) if "status" in t)
    with pytest.raises(HlsyncError) as info:
        parse_ledger(broken, "hlsync.ledger.json")
    assert str(info.value).startswith(f"hlsync.ledger.json:{line}:17: ")
    assert "not valid JSON" in str(info.value)


def test_schema_errors_point_at_the_value() -> None:
    text = _text().replace('"status": "present"', '"status": "gone"', 1)
    text = text.replace('"version": 1', '"version": 2', 1)
    lines = text.splitlines()
    status = next(n for n, t in enumerate(lines, 1) if '"status"' in t)
    with pytest.raises(HlsyncError) as info:
        parse_ledger(text, "L.json")
    problems = [str(p).splitlines()[0] for p in info.value.problems]
    assert problems[0].startswith("L.json:2:14: ledger: 1 was expected")
    assert problems[1].startswith(f"L.json:{status}:17: ledger: 'gone' is not one of")


def test_entry_under_the_wrong_key_is_refused_at_the_key() -> None:
    text = _text().replace('"main/seed-bot": {', '"main/other": {', 1)
    with pytest.raises(
        HlsyncError, match=r"L.json:4:19: ledger: the entry 'main/other'"
    ):
        parse_ledger(text, "L.json")


def test_unreadable_ledger(tmp_path: Path) -> None:
    path = tmp_path / "hlsync.ledger.json"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(HlsyncError, match="not UTF-8"):
        load_ledger(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(JSON, st.sampled_from([None, 0, 2]))
def test_json_positions_find_every_value(value: object, indent: int | None) -> None:
    text = json.dumps(value, indent=indent)
    lines = text.split("\n")
    decoder = json.JSONDecoder()

    def walk(node: object, path: tuple[str | int, ...]) -> None:
        line, column = json_positions(text)[path]
        offset = sum(len(x) + 1 for x in lines[: line - 1]) + column - 1
        assert decoder.raw_decode(text, offset)[0] == node
        children = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for k, v in children:
            walk(v, (*path, k))

    walk(value, ())


def test_names_resolve_to_the_agency_or_a_location() -> None:
    ci = Integration("ci", scopes=("locations.readonly",))
    desired = _desired(BOT, agency=(ci,))
    assert find_integration(desired, "agency/ci") == (None, ci)
    spec, found = find_integration(desired, "main/seed-bot")
    assert spec is not None and spec.name == "main" and found == BOT
    shadow = desired_state(
        LocationSpec("agency", "LOC-a", integrations=(BOT,)), agency=(ci,)
    )
    assert find_integration(shadow, "agency/ci") == (None, ci)
    spec, _ = find_integration(shadow, "agency/seed-bot")
    assert spec is not None and spec.id == "LOC-a"
    both = desired_state(
        LocationSpec("agency", "LOC-a", integrations=(ci,)), agency=(ci,)
    )
    with pytest.raises(HlsyncError, match="ambiguous"):
        find_integration(both, "agency/ci")
    for bad in ("ci", "/ci", "agency/", "main/a/b"):
        with pytest.raises(HlsyncError, match="does not name an integration"):
            find_integration(desired, bad)
