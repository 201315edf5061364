"""Runbook: golden text and markdown for every integration verb, commands, warnings."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from hlsync.core.plan import Change, Plan, PlanLocation, ScopeDelta
from hlsync.engine.planner import build_plan
from hlsync.live.runbook import (
    NOTHING,
    render_runbook_markdown,
    render_runbook_text,
    runbook_items,
)
from tests.golden import GOLDEN, check_golden
from tests.unit.conftest import DIGEST, representative

RUNBOOKS = GOLDEN / "runbook"


def _change(action: str, location: str | None, name: str, **kw: object) -> Change:
    where = location or "agency"
    return Change(
        address=f'{where}.integration["{name}"]',
        action=action,  # type: ignore[arg-type]
        kind="integration",
        location=location,
        location_id=None if location is None else "LOC-main-0001",
        key=name,
        object_id=None if action == "create" else f"ledger:{where}/{name}",
        api_calls=1,
        **kw,  # type: ignore[arg-type]
    )


def every_verb() -> Plan:
    """The representative plan (two updates) plus a create, a gated delete and the
    three token verbs (rotate now and expire old gated, as the planner makes them),
    with a config path the commands must carry."""
    desired, observed = representative()
    plan = build_plan(desired, observed)
    extra = (
        _change(
            "create",
            "main",
            "reporter",
            desired={
                "name": "reporter",
                "description": "Weekly `report` export",
                "scopes": ["contacts.readonly", "locations/customValues.write"],
            },
            scopes=(
                ScopeDelta("contacts.readonly", True),
                ScopeDelta("locations/customValues.write", True, (), True),
            ),
        ),
        _change("delete", None, "old-bot", desired={"name": "old-bot"}, gate="delete"),
        _change("rotate", "main", "seed-bot"),
        _change("rotate_now", None, "ci-deployer", gate="token_expiry"),
        _change("expire_old", "main", "seed-bot", gate="token_expiry"),
    )
    return dataclasses.replace(
        plan, changes=plan.changes + extra, config_root="configs/live"
    )


RENDERERS: dict[str, Callable[[], str]] = {
    "every-verb.txt": lambda: render_runbook_text(every_verb()),
    "every-verb.md": lambda: render_runbook_markdown(every_verb()),
}
CASES = sorted({p.name for p in RUNBOOKS.glob("every-*")} | set(RENDERERS))


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, update_golden: bool) -> None:
    assert name in RENDERERS, f"tests/golden/runbook/{name} has no renderer"
    check_golden(RUNBOOKS / name, RENDERERS[name](), update_golden)


def test_only_pending_integration_changes_become_items() -> None:
    plan = every_verb()
    items = runbook_items(plan)
    expected = [
        c.address for c in plan.changes if c.kind == "integration" and not c.is_noop
    ]
    assert [i.change.address for i in items] == expected
    assert len(items) == 7
    assert {i.change.action for i in items} == {
        "create",
        "update",
        "delete",
        "rotate",
        "rotate_now",
        "expire_old",
    }


def test_commands_name_the_config_only_when_it_is_not_the_current_folder() -> None:
    plan = every_verb()
    text = render_runbook_text(plan)
    assert "$ hlsync confirm main/reporter configs/live" in text
    for root in (None, "."):
        bare = render_runbook_text(dataclasses.replace(plan, config_root=root))
        assert "$ hlsync confirm main/reporter\n" in bare
        assert "$ hlsync token deliver main/reporter\n" in bare
    quoted = render_runbook_text(dataclasses.replace(plan, config_root="my dir"))
    assert "$ hlsync confirm main/reporter 'my dir'" in quoted


def test_create_ticks_exactly_the_desired_scopes_and_says_to_deliver() -> None:
    item = next(i for i in runbook_items(every_verb()) if i.key == "main/reporter")
    ticks = [t for s in item.steps for t in s.scopes]
    assert [(t.scope, t.tick) for t in ticks] == [
        ("contacts.readonly", True),
        ("locations/customValues.write", True),
    ]
    assert [t.privilege_increase for t in ticks] == [False, True]
    commands = [s.command for s in item.steps if s.command]
    assert commands == [
        "hlsync confirm main/reporter configs/live",
        "hlsync token deliver main/reporter configs/live",
        "hlsync verify main/reporter configs/live",
    ]


def test_update_ticks_added_and_unticks_removed_scopes_and_keeps_the_token() -> None:
    item = next(i for i in runbook_items(every_verb()) if i.key == "main/seed-bot")
    assert item.change.action == "update"
    ticks = {t.scope: t.tick for s in item.steps for t in s.scopes}
    assert ticks == {
        "contacts.write": True,
        "locations/tags.readonly": True,
        "opportunities.readonly": False,
    }
    commands = [s.command or "" for s in item.steps]
    assert not any("token deliver" in c for c in commands)


def test_gated_change_carries_a_warning() -> None:
    items = {i.key + i.change.action: i for i in runbook_items(every_verb())}
    assert items["agency/old-botdelete"].warning is not None
    assert "--force" in (items["agency/old-botdelete"].warning or "")
    assert items["main/reportercreate"].warning is None
    protected = dataclasses.replace(
        items["agency/old-botdelete"].change, gate="protected"
    )
    plan = Plan("0.1.0", DIGEST, "x", (), (protected,))
    assert "do not do this step" in render_runbook_text(plan)


def test_markdown_code_spans_survive_backticks() -> None:
    md = render_runbook_markdown(every_verb())
    assert "Description: ``Weekly `report` export``" in md


def test_no_pending_integration_change_says_so() -> None:
    plan = Plan("0.1.0", DIGEST, "x", (PlanLocation("main", "LOC-1"),), ())
    assert render_runbook_text(plan) == NOTHING + "\n"
    assert render_runbook_markdown(plan) == NOTHING + "\n"
