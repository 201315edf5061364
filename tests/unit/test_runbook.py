"""Runbook: golden text and markdown for every integration verb, commands, warnings;
each UI flow of reference §7.3 at agency and sub-account level, and its labels."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest

from hlsync.core.plan import Change, FieldChange, Plan, PlanLocation, ScopeDelta
from hlsync.engine.planner import build_plan
from hlsync.live.runbook import (
    NOTHING,
    UI_LABELS,
    UI_MENUS,
    render_runbook_markdown,
    render_runbook_text,
    runbook_items,
    scope_fix_item,
)
from tests.conftest import SHARED, require_shared, under_ci
from tests.golden import GOLDEN, check_golden
from tests.unit.conftest import DIGEST, representative

RUNBOOKS = GOLDEN / "runbook"
FLOWS = RUNBOOKS / "flows"
REFERENCE = SHARED / "reference" / "HIGHLEVEL_API.md"


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


def _flow_pair(action: str, **kw: object) -> tuple[Change, Change]:
    return (
        _change(action, None, "ci-deployer", **kw),
        _change(action, "main", "seed-bot", **kw),
    )


def _created(name: str, scopes: tuple[str, str]) -> dict[str, object]:
    return {"name": name, "description": "Deploys from CI", "scopes": list(scopes)}


def _create(location: str | None, name: str, scopes: tuple[str, str]) -> Change:
    """A create of a read and a write scope (a privilege increase)."""
    return _change(
        "create",
        location,
        name,
        desired=_created(name, scopes),
        scopes=(ScopeDelta(scopes[0], True), ScopeDelta(scopes[1], True, (), True)),
    )


def flow_plan(flow: str) -> Plan:
    """One §7.3 flow at both levels: the agency's ci-deployer, then main/seed-bot."""
    if flow == "create":
        changes = (
            _create(None, "ci-deployer", ("locations.readonly", "locations.write")),
            _create("main", "seed-bot", ("contacts.readonly", "contacts.write")),
        )
    elif flow == "edit":
        described = FieldChange("description", "Deploys", "Deploys from CI")
        changes = (
            _change(
                "update",
                None,
                "ci-deployer",
                fields=(described,),
                scopes=(ScopeDelta("locations.readonly", True),),
            ),
            _change(
                "update",
                "main",
                "seed-bot",
                scopes=(
                    ScopeDelta("contacts.write", True, (), True),
                    ScopeDelta("opportunities.readonly", False),
                ),
            ),
        )
    else:
        action = {
            "rotate-later": "rotate",
            "rotate-now": "rotate_now",
            "cancel-rotation": "cancel_rotation",
            "expire-now": "expire_old",
            "delete": "delete",
        }[flow]
        changes = _flow_pair(action)
    return Plan("0.1.0", DIGEST, "https://services.leadconnectorhq.com", (), changes)


FLOW_NAMES = (
    "create",
    "edit",
    "rotate-later",
    "rotate-now",
    "cancel-rotation",
    "expire-now",
    "delete",
)
FLOW_CASES = [(f, ext) for f in FLOW_NAMES for ext in ("txt", "md")]


@pytest.mark.parametrize(("flow", "ext"), FLOW_CASES)
def test_flow_golden(flow: str, ext: str, update_golden: bool) -> None:
    plan = flow_plan(flow)
    render = render_runbook_text if ext == "txt" else render_runbook_markdown
    check_golden(FLOWS / f"{flow}.{ext}", render(plan), update_golden)


def test_every_flow_golden_has_a_case() -> None:
    assert sorted(p.name for p in FLOWS.iterdir()) == sorted(
        f"{f}.{e}" for f, e in FLOW_CASES
    )


# bold runs of the markdown runbook that are its own headings, not UI labels
MD_HEADINGS = {"Before you start:", "Warning:"}


def _quoted_labels(name: str, text: str) -> set[str]:
    """The UI labels a rendered runbook quotes: "label" in text (not in the lines of
    fields, scopes and commands, which quote nothing), **label** in markdown."""
    if name.endswith(".md"):
        return set(re.findall(r"\*\*([^*]+)\*\*", text)) - MD_HEADINGS
    prose = [line for line in text.splitlines() if not line.startswith("       ")]
    return set(re.findall(r'"([^"]+)"', "\n".join(prose)))


def _golden_runbooks() -> list[tuple[str, str]]:
    files = sorted(RUNBOOKS.rglob("*.txt")) + sorted(RUNBOOKS.rglob("*.md"))
    return [(p.name, p.read_text(encoding="utf-8")) for p in files]


def test_every_quoted_ui_label_of_the_goldens_is_in_the_list() -> None:
    allowed = set(UI_LABELS) | set(UI_MENUS)
    used: set[str] = set()
    for name, text in _golden_runbooks():
        labels = _quoted_labels(name, text)
        assert labels - allowed == set(), name
        used |= labels
    assert used == allowed  # and the flows use every one of them


def _section_7_3() -> str:
    require_shared(REFERENCE, f"the reference is not at {REFERENCE}", under_ci())
    text = REFERENCE.read_text(encoding="utf-8")
    start = text.index("### 7.3 ")
    return text[start : text.index("\n## ", start)]


def test_the_label_list_is_taken_from_reference_7_3() -> None:
    section = _section_7_3()
    quoted = set(re.findall(r'"([^"]+)"', section))
    assert set(UI_LABELS) <= quoted
    for menu in UI_MENUS:  # the unquoted menus on its paths (Settings → Team → …)
        assert re.search(rf"(?<![\w\"]){re.escape(menu)}(?![\w\"])", section), menu
    # the flow labels §7.3 quotes and the runbook must use (not its curl advice)
    assert quoted - set(UI_LABELS) <= {"Bearer"}


def test_a_scope_fix_edits_and_verifies_again_without_confirming() -> None:
    item = scope_fix_item(
        "main",
        "LOC-1",
        "seed-bot",
        tick=["contacts.write"],
        untick=["users.readonly"],
        config_root="cfg",
        excess=True,
    )
    text = "\n".join(s.text for s in item.steps)
    assert "«Edit»" in text and "«Next»" in text and "«Update»" in text
    ticks = [(t.scope, t.tick) for s in item.steps for t in s.scopes]
    assert ticks == [("contacts.write", True), ("users.readonly", False)]
    commands = [s.command for s in item.steps if s.command]
    assert commands == ["hlsync verify main/seed-bot cfg --excess"]
