"""Token verbs decided from policy, the integration's timestamps and the upstream clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from hlsync.commands._common import with_ledger_generations
from hlsync.core.model import (
    AgencySpec,
    Contact,
    DesiredState,
    Integration,
    LocationSpec,
    ObservedContact,
    ObservedIntegration,
    ObservedLocation,
    ObservedState,
    Target,
    TokenPolicy,
)
from hlsync.core.plan import Plan
from hlsync.core.render import (
    render_plan_json,
    render_plan_markdown,
    render_plan_text,
    summary_line,
)
from hlsync.engine.planner import PlanOptions, build_plan
from hlsync.errors import HlsyncError
from hlsync.kinds.integration_plan import RequestVerb
from hlsync.live.ledger import Ledger, confirm_change
from hlsync.resources import load_schema
from hlsync.tokens.health import LostToken
from hlsync.tokens.rotation import TokenHistory, decide, duration, iso, parse_time
from hlsync.upstream.client import UpstreamClock

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SCOPES = ("contacts.readonly", "contacts.write")


def observed(
    *,
    created: datetime = T0,
    rotated: datetime | None = None,
    old_expires: datetime | None = None,
    scopes: tuple[str, ...] = SCOPES,
) -> ObservedIntegration:
    return ObservedIntegration(
        id="pi-1",
        name="seed-bot",
        description="",
        scopes=scopes,
        created_at=iso(created),
        rotated_at=None if rotated is None else iso(rotated),
        old_token_expires_at=None if old_expires is None else iso(old_expires),
    )


EVERY_90 = TokenPolicy(rotate_every=timedelta(days=90))


def test_rotation_is_due_from_the_creation_or_the_last_rotation() -> None:
    assert (
        decide(EVERY_90, observed(), now=T0 + timedelta(days=89), applied_generation=0)
        is None
    )
    due = decide(
        EVERY_90, observed(), now=T0 + timedelta(days=91), applied_generation=0
    )
    assert due is not None and due.verb == "rotate"
    assert due.old_token_expires_at == "2026-04-09T00:00:00Z"  # now + 7 days
    assert "91 days old (rotate_every 90d)" in due.reason
    rotated = observed(rotated=T0 + timedelta(days=50))
    assert (
        decide(EVERY_90, rotated, now=T0 + timedelta(days=91), applied_generation=0)
        is None
    )


def test_no_policy_no_clock_or_an_open_overlap_decides_nothing() -> None:
    late = T0 + timedelta(days=400)
    assert decide(TokenPolicy(), observed(), now=late, applied_generation=0) is None
    assert decide(EVERY_90, observed(), now=None, applied_generation=0) is None
    open_overlap = observed(old_expires=late + timedelta(days=1))
    assert decide(EVERY_90, open_overlap, now=late, applied_generation=0) is None


def test_an_overdue_overlap_expires_the_old_token() -> None:
    ended = observed(old_expires=T0 + timedelta(days=7))
    got = decide(EVERY_90, ended, now=T0 + timedelta(days=8), applied_generation=0)
    assert got is not None and got.verb == "expire_old"
    assert "2026-01-08T00:00:00Z" in got.reason


def test_a_generation_bump_rotates_now_but_an_unknown_baseline_is_adopted() -> None:
    bumped = TokenPolicy(generation=2)
    got = decide(bumped, observed(), now=None, applied_generation=1)
    assert got is not None and got.verb == "rotate_now"
    assert "generation 1 -> 2" in got.reason
    assert decide(bumped, observed(), now=None, applied_generation=2) is None
    assert decide(bumped, observed(), now=None, applied_generation=None) is None
    assert (
        decide(TokenPolicy(generation=1), observed(), now=None, applied_generation=3)
        is None
    )


def test_helpers() -> None:
    assert duration(timedelta(days=90)) == "90d"
    assert duration(timedelta(hours=36)) == "36h"
    assert duration(timedelta(seconds=90)) == "90s"
    assert parse_time("2026-01-01T00:00:00.000Z") == T0
    assert parse_time("2026-01-01T00:00:00") == T0
    assert parse_time("yesterday") is None and parse_time(None) is None


def desired(policy: TokenPolicy, *, auth: bool = False) -> DesiredState:
    spec = LocationSpec(
        name="main",
        id="loc-1",
        integrations=(Integration("seed-bot", scopes=SCOPES, token=policy),),
        contacts=(Contact("email:ann@example.com", {"email": "ann@example.com"}),),
        auth_integration="seed-bot" if auth else None,
    )
    return DesiredState(Target(), AgencySpec(), (spec,), "d" * 64, "/cfg/hlsync.yaml")


ANN = ObservedContact("c1", "email:ann@example.com", {"email": "ann@example.com"})


def observed_state(
    integration: ObservedIntegration | None,
    now: datetime | None,
    *,
    contact: bool = True,
) -> ObservedState:
    integrations = {} if integration is None else {"seed-bot": integration}
    contacts = {ANN.key: ANN} if contact else {}
    return ObservedState(
        locations={
            "main": ObservedLocation("main", "loc-1", integrations, contacts=contacts)
        },
        upstream_now=None if now is None else iso(now),
    )


def test_the_plan_shows_a_rotation_and_when_the_old_token_expires() -> None:
    plan = build_plan(
        desired(EVERY_90),
        observed_state(observed(), T0 + timedelta(days=91)),
        options=PlanOptions(sinks={"main/seed-bot": "file .hlsync/tokens/x.token"}),
    )
    (change,) = plan.pending
    assert (change.address, change.action) == ('main.integration["seed-bot"]', "rotate")
    assert change.desired["overlap_seconds"] == 7 * 86400
    assert summary_line(plan) == (
        "Plan: 0 to add, 0 to change, 0 to destroy, 1 token to rotate."
    )
    text = render_plan_text(plan)
    assert '~ main.integration["seed-bot"]  (token: rotate;' in text
    assert "the old token expires at 2026-04-09T00:00:00Z (overlap 7d)" in text
    assert "new token -> file .hlsync/tokens/x.token" in text
    assert "expires at 2026-04-09T00:00:00Z" in render_plan_markdown(plan)


def test_a_bumped_generation_plans_exactly_one_rotate_now() -> None:
    history = TokenHistory(generations={"main/seed-bot": 0})
    plan = build_plan(
        desired(TokenPolicy(generation=1)),
        observed_state(observed(), T0),
        options=PlanOptions(history=history),
    )
    assert [c.action for c in plan.pending] == ["rotate_now"]
    after = TokenHistory(generations={"main/seed-bot": 1})
    again = build_plan(
        desired(TokenPolicy(generation=1)),
        observed_state(observed(), T0),
        options=PlanOptions(history=after),
    )
    assert not again.has_changes


def test_verbs_that_end_a_token_at_once_need_force() -> None:
    """rotate_now and expire_old kill a token that may be in use (DESIGN.md §3)."""
    verbs = {}
    rotating = observed_state(observed(old_expires=T0 + timedelta(days=3)), T0)
    verb: RequestVerb
    for verb in ("rotate", "rotate_now", "expire_old", "cancel_rotation"):
        state = rotating if verb in ("expire_old", "cancel_rotation") else None
        plan = build_plan(
            desired(TokenPolicy()),
            state or observed_state(observed(), T0),
            options=PlanOptions(requests={"main/seed-bot": verb}),
        )
        (change,) = plan.pending
        verbs[change.action] = change.gate
        assert plan.gated(force=True) == ()
    assert verbs == {
        "rotate": None,
        "rotate_now": "token_expiry",
        "expire_old": "token_expiry",
        "cancel_rotation": None,
    }
    ended = observed_state(observed(old_expires=T0 - timedelta(hours=1)), T0)
    (expire,) = build_plan(desired(TokenPolicy()), ended).pending
    assert (expire.action, expire.gate) == ("expire_old", "token_expiry")
    with pytest.raises(HlsyncError, match="ends a token at once") as info:
        build_plan(desired(TokenPolicy()), ended).raise_if_unsafe(force=False)
    assert "apply again with --force" in str(info.value)
    text = render_plan_text(build_plan(desired(TokenPolicy()), ended), color=False)
    assert "! needs --force: ends a token at once" in text


def test_an_update_and_a_rotation_are_two_changes_in_order() -> None:
    history = TokenHistory(generations={"main/seed-bot": 0})
    plan = build_plan(
        desired(TokenPolicy(generation=1)),
        observed_state(observed(scopes=("contacts.readonly",)), T0),
        options=PlanOptions(history=history),
    )
    update, token = plan.pending
    assert update.action == "update" and token.action == "rotate_now"
    assert token.address == update.address + ".token"
    assert token.depends_on == (update.address,)


def test_seeding_changes_wait_for_the_integrations_new_token() -> None:
    first = observed_state(None, T0, contact=False)
    plan = build_plan(desired(TokenPolicy(), auth=True), first)
    create, contact = plan.pending
    assert create.action == "create" and contact.kind == "contact"
    assert contact.depends_on == (create.address,)
    later = observed_state(observed(), T0, contact=False)
    alone = build_plan(desired(TokenPolicy(), auth=True), later)
    assert [c.depends_on for c in alone.pending] == [()]


def test_requested_verbs_and_their_refusals() -> None:
    state = observed_state(observed(), T0)
    verb: RequestVerb
    for verb in ("rotate", "rotate_now"):
        plan = build_plan(
            desired(TokenPolicy()),
            state,
            options=PlanOptions(requests={"main/seed-bot": verb}),
        )
        assert [c.action for c in plan.pending] == [verb]
    for verb in ("expire_old", "cancel_rotation"):
        with pytest.raises(HlsyncError, match="no rotation is in progress"):
            build_plan(
                desired(TokenPolicy()),
                state,
                options=PlanOptions(requests={"main/seed-bot": verb}),
            )
    rotating = observed_state(observed(old_expires=T0 + timedelta(days=3)), T0)
    with pytest.raises(HlsyncError, match="already in progress") as info:
        build_plan(
            desired(TokenPolicy()),
            rotating,
            options=PlanOptions(requests={"main/seed-bot": "rotate"}),
        )
    assert "hlsync token expire-old main/seed-bot --force" in str(info.value)
    for verb in ("rotate", "rotate_now", "cancel_rotation"):
        with pytest.raises(HlsyncError, match="cannot") as info:
            build_plan(
                desired(TokenPolicy()),
                observed_state(None, T0),
                options=PlanOptions(requests={"main/seed-bot": verb}),
            )
        said = str(info.value)
        assert f"main/seed-bot: cannot {verb.replace('_', ' ')}: it does not " in said
        assert "exist yet" in said and "run 'hlsync apply' first" in said
        assert "not declared present" not in said


def test_warnings_for_lost_tokens_and_an_unknown_clock() -> None:
    history = TokenHistory(problems={"main/seed-bot": ("main/seed-bot: lost one",)})
    plan = build_plan(
        desired(EVERY_90),
        observed_state(observed(), None),
        options=PlanOptions(history=history),
    )
    assert plan.warnings[0] == "main/seed-bot: lost one"
    assert "rotation by age was not decided for main/seed-bot" in plan.warnings[1]
    text = render_plan_text(plan)
    assert text.startswith("Warning: main/seed-bot: lost one\n")
    assert text.rstrip().endswith("No changes. The account matches the configuration.")
    assert "> - main/seed-bot: lost one" in render_plan_markdown(plan)
    assert plan.to_dict()["warnings"] == list(plan.warnings)


def test_an_adopted_generation_is_a_warning_in_every_format() -> None:
    """No record of the generation applied: the config's is adopted, not rotated, and
    the plan says so (a bump may mean "this token leaked")."""
    bumped = desired(TokenPolicy(generation=2))
    plan = build_plan(bumped, observed_state(observed(), T0))
    assert not plan.has_changes
    (warning,) = plan.warnings
    assert warning.startswith("main/seed-bot: the token generation last applied is ")
    assert "the config's generation 2 was adopted without rotating" in warning
    assert warning.endswith(
        "hlsync token rotate main/seed-bot --now --force (or set token."
        "revoke_issued_before to the moment of the leak: it needs no journal)"
    )
    assert render_plan_text(plan).startswith(f"Warning: {warning}\n")
    assert f"> - {warning}" in render_plan_markdown(plan)
    assert json.loads(render_plan_json(plan))["warnings"] == [warning]
    known = PlanOptions(history=TokenHistory(generations={"main/seed-bot": 2}))
    quiet = [
        build_plan(bumped, observed_state(observed(), T0), options=known),
        build_plan(desired(TokenPolicy()), observed_state(observed(), T0)),  # 0
        build_plan(bumped, observed_state(None, T0)),  # created with it
    ]
    assert [p.warnings for p in quiet] == [(), (), ()]


def test_token_plans_validate_and_round_trip_through_a_plan_file() -> None:
    history = TokenHistory(
        generations={"main/seed-bot": 0},
        problems={"main/seed-bot": ("main/seed-bot: lost one",)},
    )
    plan = build_plan(
        desired(TokenPolicy(generation=1)),
        observed_state(observed(scopes=("contacts.readonly",)), T0),
        options=PlanOptions(history=history, sinks={"main/seed-bot": "file t"}),
    )
    data = plan.to_dict()
    jsonschema.Draft202012Validator(load_schema("plan.schema.json")).validate(data)
    assert [c["address"] for c in data["changes"]][:2] == [
        'main.integration["seed-bot"]',
        'main.integration["seed-bot"].token',
    ]
    again = Plan.from_dict(json.loads(json.dumps(data)))
    assert again == plan and again.warnings == ("main/seed-bot: lost one",)


def test_the_upstream_clock_keeps_the_latest_readable_date() -> None:
    clock = UpstreamClock()
    assert clock.now() is None
    clock.observe(None)
    clock.observe("not a date")
    clock.observe("Fri, 03 Apr 2026 00:00:05 GMT")
    clock.observe("Thu, 02 Apr 2026 23:59:59 GMT")  # a slower, earlier answer
    assert clock.now() == datetime(2026, 4, 3, 0, 0, 5, tzinfo=UTC)


def test_a_rotate_now_confirmed_in_the_ledger_counts_as_applied() -> None:
    history = TokenHistory(generations={"main/seed-bot": 0})
    plan = build_plan(
        desired(TokenPolicy(generation=1)),
        observed_state(observed(), T0),
        options=PlanOptions(history=history),
    )
    (bump,) = plan.pending
    assert [fc.to_dict() for fc in bump.fields] == [
        {"path": "token.generation", "before": 0, "after": 1}
    ]
    assert "token.generation: 0 -> 1" in render_plan_text(plan)
    created = build_plan(desired(TokenPolicy()), observed_state(None, T0)).pending[0]
    ledger = confirm_change(Ledger(), created, by="ops", at=T0)
    assert with_ledger_generations(history, ledger) == history
    ledger = confirm_change(ledger, bump, by="ops", at=T0 + timedelta(days=1))
    merged = with_ledger_generations(history, ledger)
    assert merged.generations == {"main/seed-bot": 1}
    again = build_plan(
        desired(TokenPolicy(generation=1)),
        observed_state(observed(), T0),
        options=PlanOptions(history=merged),
    )
    assert not again.has_changes


def test_seeding_changes_wait_for_new_scopes_of_the_integration() -> None:
    narrower = observed(scopes=("contacts.readonly",))
    plan = build_plan(
        desired(TokenPolicy(), auth=True),
        observed_state(narrower, T0, contact=False),
    )
    update, contact = plan.pending
    assert update.action == "update" and contact.depends_on == (update.address,)


def test_revoke_issued_before_rotates_a_token_issued_before_it_once() -> None:
    leak = T0 + timedelta(days=10)
    policy = TokenPolicy(revoke_issued_before=iso(leak))
    later = T0 + timedelta(days=11)
    got = decide(policy, observed(), now=later, applied_generation=None)
    assert got is not None and got.verb == "rotate_now"
    assert got.reason == (
        "the token was issued at 2026-01-01T00:00:00Z, before revoke_issued_before "
        "2026-01-11T00:00:00Z: a new token now; the old one stops working at once"
    )
    # once rotated (upstream's rotated_at after the instant): nothing, on any runner
    rotated = observed(rotated=later)
    assert decide(policy, rotated, now=later, applied_generation=None) is None
    # an instant still ahead waits for it; without a clock nothing is decided
    assert (
        decide(policy, observed(), now=leak - timedelta(1), applied_generation=0)
        is None
    )
    assert decide(policy, observed(), now=None, applied_generation=0) is None
    # it wins over an age rotation that is also due
    both = TokenPolicy(rotate_every=timedelta(days=5), revoke_issued_before=iso(leak))
    got = decide(both, observed(), now=later, applied_generation=0)
    assert got is not None and got.verb == "rotate_now"


def test_revoke_issued_before_is_gated_and_warns_while_ahead() -> None:
    policy = TokenPolicy(revoke_issued_before=iso(T0 + timedelta(days=1)))
    plan = build_plan(desired(policy), observed_state(observed(), T0 + timedelta(2)))
    (change,) = plan.pending
    assert (change.action, change.gate) == ("rotate_now", "token_expiry")
    ahead = build_plan(desired(policy), observed_state(observed(), T0))
    assert not ahead.has_changes
    assert ahead.warnings == (
        "main/seed-bot: revoke_issued_before 2026-01-02T00:00:00Z is still ahead of "
        "the upstream's clock (2026-01-01T00:00:00Z): tokens issued before it are "
        "rotated by the first apply after it",
    )
    unknown = build_plan(desired(policy), observed_state(observed(), None))
    assert unknown.warnings == (
        "main/seed-bot: the upstream's clock is unknown (no Date header was read), "
        "so revoke_issued_before was not decided",
    )


def test_a_lost_token_is_repaired_first_without_force() -> None:
    lost = {"main/seed-bot": LostToken("its sink (file x.token) holds no token")}
    due = observed_state(observed(), T0 + timedelta(days=91))
    plan = build_plan(desired(EVERY_90, auth=True), due, options=PlanOptions(lost=lost))
    (repair,) = plan.pending  # the repair, not the age rotation that is also due
    assert (repair.action, repair.gate) == ("rotate_now", None)
    assert repair.desired["reason"] == (
        "repair: its sink (file x.token) holds no token; a new token now, into the sink"
    )
    assert plan.gated(force=False) == ()
    # the sink holds a rotation's old token that still works: ending it needs --force
    live = {"main/seed-bot": LostToken("the old token", live=True)}
    (held,) = build_plan(desired(EVERY_90), due, options=PlanOptions(lost=live)).pending
    assert (held.action, held.gate) == ("rotate_now", "token_expiry")
    # a contact the seeding location writes waits for the repair
    ann = ObservedContact("c1", "email:ann@example.com", {"email": "old@x"})
    state = ObservedState(
        locations={
            "main": ObservedLocation(
                "main", "loc-1", {"seed-bot": observed()}, contacts={ANN.key: ann}
            )
        },
        upstream_now=iso(T0),
    )
    spec = desired(TokenPolicy(), auth=True)
    repair, contact = build_plan(spec, state, options=PlanOptions(lost=lost)).pending
    assert contact.depends_on == (repair.address,)
