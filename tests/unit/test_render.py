"""Renderers: golden files for the representative plan and an apply result, colour rules,
markdown safety, and the JSON matching schemas/plan.schema.json."""

from __future__ import annotations

import json
from collections.abc import Callable

import jsonschema
import pytest

from hlsync.core.plan import Change, FieldChange, Plan, PlanLocation
from hlsync.core.render import (
    NO_CHANGES,
    render_plan_json,
    render_plan_markdown,
    render_plan_text,
    render_result_json,
    render_result_markdown,
    render_result_text,
    use_color,
)
from hlsync.core.result import ApplyResult, Outcome
from hlsync.engine.planner import build_plan
from hlsync.errors import Location
from hlsync.resources import load_schema
from tests.golden import GOLDEN, check_golden
from tests.unit.conftest import DIGEST, representative


def _plan() -> Plan:
    desired, observed = representative()
    return build_plan(desired, observed)


def _result() -> ApplyResult:
    return ApplyResult(
        outcomes=(
            Outcome(
                'agency.integration["ci-deployer"]', "ok", api_calls=1, action="update"
            ),
            Outcome('main.custom_field["pincode"]', "ok", api_calls=1, action="update"),
            Outcome(
                'main.tag["newsletter"]',
                "failed",
                "POST /locations/LOC-main-0001/tags -> 422: name must be shorter",
                api_calls=1,
                action="create",
            ),
            Outcome(
                'main.contact["ann@example.com"]',
                "skipped",
                'depends on main.tag["newsletter"], which failed',
                action="create",
            ),
            Outcome(
                'branch.contact["dee@example.com"]', "ok", api_calls=2, action="update"
            ),
        ),
        plan_checksum="sha256:" + "0" * 64,
        elapsed_seconds=1.25,
    )


def _no_changes() -> Plan:
    return Plan("0.1.0", DIGEST, "sandbox", (PlanLocation("main", "LOC-1"),), ())


RENDERERS: dict[str, Callable[[], str]] = {
    "plan.txt": lambda: render_plan_text(_plan()),
    "plan-color.txt": lambda: render_plan_text(_plan(), color=True),
    "plan.md": lambda: render_plan_markdown(_plan()),
    "plan.json": lambda: render_plan_json(_plan()),
    "no-changes.txt": lambda: render_plan_text(_no_changes()),
    "no-changes.md": lambda: render_plan_markdown(_no_changes()),
    "result.txt": lambda: render_result_text(_result()),
    "result.md": lambda: render_result_markdown(_result()),
    "result.json": lambda: render_result_json(_result()),
}
CASES = sorted(
    {p.name for p in GOLDEN.glob("*.*") if p.suffix != ".py"} | set(RENDERERS)
)


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, update_golden: bool) -> None:
    assert name in RENDERERS, f"tests/golden/{name} has no renderer in RENDERERS"
    check_golden(GOLDEN / name, RENDERERS[name](), update_golden)


def test_json_golden_validates_against_the_plan_schema() -> None:
    schema = load_schema("plan.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads((GOLDEN / "plan.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)
    assert Plan.from_dict(data) == _plan()


def test_schema_rejects_an_unknown_action() -> None:
    data = _plan().to_dict()
    data["changes"][0]["action"] = "obliterate"
    validator = jsonschema.Draft202012Validator(load_schema("plan.schema.json"))
    assert [e.path for e in validator.iter_errors(data)] == [
        type(next(validator.iter_errors(data)).path)(["changes", 0, "action"])
    ]


def test_representative_plan_has_every_action_the_goldens_promise() -> None:
    actions = {c.action for c in _plan().changes}
    assert {"create", "update", "delete", "replace", "noop"} <= actions
    assert any(c.scopes for c in _plan().changes)


def test_text_shows_no_noop_and_counts_like_terraform() -> None:
    plan = _plan()
    text = render_plan_text(plan)
    for change in plan.changes:
        if change.is_noop:
            assert change.address not in text
        else:
            assert change.address in text
    s = plan.summary
    line = f"Plan: {s.add} to add, {s.change} to change, {s.destroy} to destroy."
    assert line in text.splitlines()


def test_colour_only_when_asked() -> None:
    plan = _plan()
    assert "\x1b[" not in render_plan_text(plan)
    assert "\x1b[32m+ " in render_plan_text(plan, color=True)
    assert "\x1b[" not in render_result_text(_result())
    assert "\x1b[31mfailed" in render_result_text(_result(), color=True)


@pytest.mark.parametrize(
    ("isatty", "env", "expected"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),
    ],
)
def test_use_color(isatty: bool, env: dict[str, str], expected: bool) -> None:
    assert use_color(isatty, env) is expected


def test_no_changes() -> None:
    assert render_plan_text(_no_changes()) == NO_CHANGES + "\n"
    assert NO_CHANGES in render_plan_markdown(_no_changes())


def test_markdown_fence_cannot_be_broken_by_a_value() -> None:
    change = Change(
        address='main.contact["x@example.com"]',
        action="update",
        kind="contact",
        location="main",
        location_id="L",
        key="email:x@example.com",
        object_id="c1",
        fields=(FieldChange("firstName", "a", "```\n</details>"),),
        fingerprint="sha256:" + "1" * 64,
        api_calls=1,
    )
    plan = Plan("0.1.0", DIGEST, "sandbox", (PlanLocation("main", "L"),), (change,))
    lines = render_plan_markdown(plan).splitlines()
    start = lines.index("````diff")
    end = lines.index("````", start)
    assert any("</details>" in line for line in lines[start:end])  # inside the fence
    assert lines[end + 2] == "</details>"


def _tag_delete(name: str, gate: str) -> Change:
    return Change(
        address=f'main.tag["{name}"]',
        action="delete",
        kind="tag",
        location="main",
        location_id="L",
        key=name,
        object_id="t-" + name,
        fingerprint="sha256:" + "2" * 64,
        gate=gate,
        api_calls=1,
        source=Location("hlsync.yaml", 3, 5),
    )


def test_protected_and_forced_gates_are_shown() -> None:
    changes = (_tag_delete("a", "protected"), _tag_delete("b", "delete"))
    plan = Plan("0.1.0", DIGEST, "sandbox", (PlanLocation("main", "L"),), changes)
    text = render_plan_text(plan)
    assert "! refused: is marked `protect: true`" in text
    assert "! needs --force: deleting is irreversible" in text
    assert "Plan: 0 to add, 0 to change, 2 to destroy." in text


def test_token_verbs_render_and_count() -> None:
    change = Change(
        address='main.integration["bot"]',
        action="rotate",
        kind="integration",
        location="main",
        location_id="L",
        key="bot",
        object_id="pi",
        fingerprint="sha256:" + "3" * 64,
        api_calls=1,
    )
    plan = Plan("0.1.0", DIGEST, "sandbox", (PlanLocation("main", "L"),), (change,))
    text = render_plan_text(plan)
    assert '~ main.integration["bot"]  (token: rotate;' in text
    assert "Plan: 0 to add, 0 to change, 0 to destroy, 1 token to rotate." in text


def test_result_exit_codes() -> None:
    assert _result().exit_code == 1
    ok = ApplyResult((Outcome('main.tag["a"]', "ok", api_calls=1),))
    assert ok.exit_code == 0
    assert ApplyResult(ok.outcomes, interrupted=True).exit_code == 1
    assert ApplyResult(()).exit_code == 0
    assert [t.location for t in _result().by_location()] == ["agency", "branch", "main"]


def test_estimate_uses_the_busiest_location() -> None:
    plan = _plan()
    per_location: dict[str | None, int] = {}
    for c in plan.changes:
        per_location[c.location] = per_location.get(c.location, 0) + c.api_calls
    busiest = max(per_location.values())
    assert plan.summary.estimated_seconds == -(-busiest * 10 // 100)
    assert plan.summary.api_calls == sum(per_location.values())
