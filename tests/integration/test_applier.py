"""apply_plan against the real emulator on 127.0.0.1: read, plan, apply, read again."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from hlsync.core.model import (
    AgencySpec,
    Contact,
    CustomField,
    DesiredState,
    Integration,
    LocationSpec,
    Tag,
    Target,
)
from hlsync.core.plan import Change, Plan
from hlsync.core.result import ApplyResult, Outcome
from hlsync.engine import applier
from hlsync.engine.applier import DeliverToken, apply_plan
from hlsync.engine.planner import build_plan
from hlsync.engine.reader import read_observed
from hlsync.kinds import shared
from hlsync.targets.access import TargetAccess
from hlsync.targets.drivers import ApiIntegrationDriver, IntegrationScope, Token
from hlsync.upstream.client import ApiClient, RetryPolicy
from hlsync.upstream.tls import tls_context
from tests.emulator_fixtures import COMPANY_ID, LOCATION_A, LOCATION_B, LiveEmulator

pytestmark = pytest.mark.integration

PINCODE = CustomField("pincode", "Pincode", "TEXT")
TIER = CustomField("tier", "Tier", "NUMERICAL")


@dataclass(slots=True)
class Run:
    """One read → plan → apply round, and what it saw."""

    plan: Plan
    result: ApplyResult
    progress: list[Outcome] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # address -> value, for tests


def desired(
    *alpha: Any, bravo: tuple[Contact, ...] = (), **agency: Any
) -> DesiredState:
    """Location "alpha" (LOCATION_A) built from fields, tags, contacts, integrations."""
    spec = LocationSpec(
        name="alpha",
        id=LOCATION_A,
        custom_fields=tuple(x for x in alpha if isinstance(x, CustomField)),
        tags=tuple(x for x in alpha if isinstance(x, Tag)),
        contacts=tuple(x for x in alpha if isinstance(x, Contact)),
        integrations=tuple(x for x in alpha if isinstance(x, Integration)),
    )
    other = LocationSpec(name="bravo", id=LOCATION_B, contacts=bravo)
    return DesiredState(
        Target(kind="url", url="http://127.0.0.1"),
        AgencySpec(integrations=tuple(agency.get("integrations", ()))),
        (spec, other),
        "digest",
        "hlsync.yaml",
    )


def person(n: int, *, tags: tuple[str, ...] = (), **custom: Any) -> Contact:
    return Contact(
        key=f"email:p{n}@example.com",
        fields={"firstName": f"P{n}", "email": f"p{n}@example.com"},
        tags=tags,
        custom_fields=custom,
    )


async def _session(
    emulator: LiveEmulator, body: Callable[[TargetAccess], Awaitable[Any]]
) -> Any:
    async with httpx.AsyncClient(
        base_url=emulator.base_url, timeout=30, verify=tls_context()
    ) as http:
        api = ApiClient(http, retry=RetryPolicy(base_delay=0.001, max_delay=0.01))
        access = TargetAccess(
            locations={
                "alpha": api.location(LOCATION_A, emulator.token(LOCATION_A)),
                "bravo": api.location(LOCATION_B, emulator.token(LOCATION_B)),
            },
            integrations=ApiIntegrationDriver(api),
            company_id=COMPANY_ID,
        )
        return await body(access)


def plan_for(emulator: LiveEmulator, state: DesiredState) -> Plan:
    async def body(access: TargetAccess) -> Plan:
        return build_plan(state, await read_observed(state, access))

    result: Plan = asyncio.run(_session(emulator, body))
    return result


def apply(
    emulator: LiveEmulator,
    plan: Plan,
    *,
    fail_fast: bool = False,
    sink: bool = True,
) -> Run:
    progress: list[Outcome] = []
    tokens: dict[str, str] = {}

    async def deliver(change: Change, token: Token) -> None:
        tokens[change.address] = token.reveal()

    async def body(access: TargetAccess) -> ApplyResult:
        deliver_token: DeliverToken | None = deliver if sink else None
        return await apply_plan(
            plan,
            access,
            fail_fast=fail_fast,
            on_outcome=progress.append,
            deliver_token=deliver_token,
        )

    result: ApplyResult = asyncio.run(_session(emulator, body))
    return Run(plan, result, progress, tokens)


def converge(emulator: LiveEmulator, state: DesiredState, **options: Any) -> Run:
    return apply(emulator, plan_for(emulator, state), **options)


def statuses(run: Run) -> dict[str, str]:
    return {o.change_address: o.status for o in run.result.outcomes}


def admin(emulator: LiveEmulator, method: str, path: str, **kwargs: Any) -> Any:
    with emulator.client() as client:
        answer = client.request(method, path, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else None


def faults(emulator: LiveEmulator, *rules: dict[str, Any]) -> None:
    admin(emulator, "PUT", "/_emulator/faults", json={"seed": 7, "rules": list(rules)})


def requests(emulator: LiveEmulator) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = admin(emulator, "GET", "/_emulator/requests")[
        "requests"
    ]
    return sorted(entries, key=lambda e: e["seq"])


def count(emulator: LiveEmulator, location_id: str = LOCATION_A) -> int:
    with emulator.state.lock:
        return emulator.state.store.contact_count(location_id)


def exists(emulator: LiveEmulator, email: str) -> bool:
    with emulator.state.lock:
        return emulator.state.store.find_duplicate(LOCATION_A, email, None) is not None


def fields_by_key(emulator: LiveEmulator) -> dict[str, str]:
    with emulator.state.lock:
        found = emulator.state.store.custom_fields(LOCATION_A)
        return {f["fieldKey"].removeprefix("contact."): f["id"] for f in found}


def by_email(emulator: LiveEmulator, email: str) -> dict[str, Any]:
    with emulator.state.lock:
        found = emulator.state.store.find_duplicate(LOCATION_A, email, None)
    assert found is not None, f"no contact {email}"
    return dict(found[0])


def test_apply_creates_everything_then_the_next_plan_is_empty(
    emulator: LiveEmulator,
) -> None:
    state = desired(
        PINCODE,
        TIER,
        Tag("members"),
        person(1, tags=("vip",), pincode="560001", tier=3),
        person(2, tags=("members",)),
        bravo=(person(3),),
    )
    run = converge(emulator, state)
    assert run.result.exit_code == 0, run.result.outcomes
    assert set(statuses(run).values()) == {"ok"}
    assert [o.change_address for o in run.result.outcomes] == [
        c.address for c in run.plan.pending
    ]
    assert sorted(o.change_address for o in run.progress) == sorted(statuses(run))
    # every change made exactly the calls the plan estimated (no retries here)
    estimate = {c.address: c.api_calls for c in run.plan.pending}
    assert {o.change_address: o.api_calls for o in run.result.outcomes} == estimate
    assert run.result.api_calls == run.plan.summary.api_calls
    ids = fields_by_key(emulator)
    p1 = by_email(emulator, "p1@example.com")
    values = {v["id"]: v["value"] for v in p1["customFields"]}
    assert values == {ids["pincode"]: "560001", ids["tier"]: 3}
    assert sorted(p1["tags"]) == ["vip"]
    assert count(emulator, LOCATION_B) == 1
    routes = [e["route"] for e in requests(emulator)]
    assert "POST /contacts/" not in routes  # creates go through upsert only
    assert not plan_for(emulator, state).has_changes


def test_contacts_wait_for_the_fields_and_tags_they_use(emulator: LiveEmulator) -> None:
    # latency on the field and tag creates: an unordered apply would upsert first
    slow = {"latencyMs": 150}
    faults(
        emulator,
        {"route": "POST /locations/{locationId}/customFields", **slow},
        {"route": "POST /locations/{locationId}/tags", **slow},
    )
    state = desired(
        PINCODE,
        person(1, tags=("fresh",), pincode="1"),
        person(2, tags=("fresh",), pincode="2"),
    )
    plan = plan_for(emulator, state)
    admin(emulator, "DELETE", "/_emulator/requests")
    run = apply(emulator, plan)
    assert set(statuses(run).values()) == {"ok"}
    log = requests(emulator)
    done = {e["route"]: e["seq"] for e in log if e["method"] == "POST"}
    upserts = [e["seq"] for e in log if e["route"] == "POST /contacts/upsert"]
    assert len(upserts) == 2
    assert min(upserts) > done["POST /locations/{locationId}/customFields"]
    assert min(upserts) > done["POST /locations/{locationId}/tags"]
    p1 = by_email(emulator, "p1@example.com")
    assert p1["customFields"] == [
        {"id": fields_by_key(emulator)["pincode"], "value": "1"}
    ]


def test_a_failed_change_skips_its_dependents_and_the_rest_goes_on(
    emulator: LiveEmulator,
) -> None:
    faults(emulator, {"route": "POST /locations/{locationId}/tags", "errorRate": 1})
    state = desired(
        person(1, tags=("doomed",)), person(2), person(3), bravo=(person(4),)
    )
    run = converge(emulator, state)
    got = statuses(run)
    assert got == {
        'alpha.tag["doomed"]': "failed",
        'alpha.contact["p1@example.com"]': "skipped",
        'alpha.contact["p2@example.com"]': "ok",
        'alpha.contact["p3@example.com"]': "ok",
        'bravo.contact["p4@example.com"]': "ok",
    }
    outcome = {o.change_address: o for o in run.result.outcomes}
    assert outcome['alpha.tag["doomed"]'].message.startswith(
        "POST /locations/lochlsyncAlpha000001/tags -> 503"
    )
    assert "not created after 3 tries: each re-read found no tag" in (
        outcome['alpha.tag["doomed"]'].message
    )
    assert outcome['alpha.contact["p1@example.com"]'].message == (
        'depends on alpha.tag["doomed"], which failed'
    )
    assert run.result.exit_code == 1 and not run.result.interrupted
    assert count(emulator) == 2 and not exists(emulator, "p1@example.com")


def test_fail_fast_starts_nothing_after_the_first_failure(
    emulator: LiveEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one try, so the tag's failure comes while most contacts are still waiting; and
    # 16 changes at once, not 64: the tag's re-read queues at the pacer behind every
    # change already running, so with 64 all 60 contacts would be running by then
    monkeypatch.setattr(shared, "CREATE_ATTEMPTS", 1)
    monkeypatch.setattr(applier, "IN_FLIGHT_PER_LOCATION", 16)
    faults(emulator, {"route": "POST /locations/{locationId}/tags", "errorRate": 1})
    people = [person(n) for n in range(2, 62)]
    state = desired(person(1, tags=("doomed",)), *people)
    run = converge(emulator, state, fail_fast=True)
    result = run.result
    assert result.interrupted and result.exit_code == 1
    stopped = [o for o in result.outcomes if "--fail-fast" in o.message]
    ran = [o for o in result.outcomes if o.status == "ok"]
    assert stopped and all(o.status == "skipped" for o in stopped)
    assert result.count("failed") == 1
    # nothing skipped reached upstream: exactly the ok contacts exist
    assert count(emulator) == len(ran) < len(people)


def test_ambiguous_creates_are_recovered_by_a_re_read(emulator: LiveEmulator) -> None:
    after_commit = {"failAfterCommit": 1, "times": 1}
    faults(
        emulator,
        {"route": "POST /locations/{locationId}/customFields", **after_commit},
        {"route": "POST /locations/{locationId}/tags", **after_commit},
    )
    state = desired(PINCODE, Tag("members"), person(1, tags=("members",), pincode="9"))
    run = converge(emulator, state)
    assert set(statuses(run).values()) == {"ok"}, run.result.outcomes
    notes = {o.change_address: o.message for o in run.result.outcomes}
    assert "re-read found the field created" in notes['alpha.custom_field["pincode"]']
    assert "re-read found the tag created" in notes['alpha.tag["members"]']
    assert list(fields_by_key(emulator)) == ["pincode"]  # created once
    p1 = by_email(emulator, "p1@example.com")
    assert p1["customFields"] == [
        {"id": fields_by_key(emulator)["pincode"], "value": "9"}
    ]
    assert not plan_for(emulator, state).has_changes


def test_an_ambiguous_create_that_did_not_commit_fails(emulator: LiveEmulator) -> None:
    faults(
        emulator, {"route": "POST /locations/{locationId}/customFields", "errorRate": 1}
    )
    run = converge(emulator, desired(PINCODE, person(1, pincode="9")))
    assert statuses(run) == {
        'alpha.custom_field["pincode"]': "failed",
        'alpha.contact["p1@example.com"]': "skipped",
    }
    assert fields_by_key(emulator) == {}


def test_the_same_plan_applied_twice_creates_no_duplicate(
    emulator: LiveEmulator,
) -> None:
    plan = plan_for(emulator, desired(person(1, tags=("vip",)), person(2)))
    first = apply(emulator, plan)
    second = apply(emulator, plan)
    assert set(statuses(first).values()) == set(statuses(second).values()) == {"ok"}
    notes = {o.change_address: o.message for o in second.result.outcomes}
    assert notes == {
        'alpha.tag["vip"]': "already existed upstream",
        'alpha.contact["p1@example.com"]': "already existed upstream: upsert updated "
        "it (no duplicate)",
        'alpha.contact["p2@example.com"]': "already existed upstream: upsert updated "
        "it (no duplicate)",
    }
    assert count(emulator) == 2


def test_two_applies_under_search_lag_create_no_duplicate(
    emulator: LiveEmulator,
) -> None:
    faults(emulator, {"route": "POST /contacts/search", "searchLagMs": 3000})
    state = desired(*(person(n) for n in range(1, 6)))
    first = converge(emulator, state)
    second = converge(emulator, state)
    # the lagging search hid the new contacts, so the second plan created them again …
    assert [c.action for c in second.plan.pending] == ["create"] * 5
    assert set(statuses(first).values()) == set(statuses(second).values()) == {"ok"}
    # … and the upserts found them: still five contacts
    assert count(emulator) == 5


def test_one_contact_failing_on_its_route_leaves_the_others_applied(
    emulator: LiveEmulator,
) -> None:
    converge(emulator, desired(person(1)))
    faults(emulator, {"route": "PUT /contacts/{contactId}", "errorRate": 1})
    changed = Contact(
        key="email:p1@example.com", fields={"firstName": "Renamed"}, tags=()
    )
    run = converge(emulator, desired(changed, *(person(n) for n in range(2, 8))))
    failed = [o for o in run.result.outcomes if o.status == "failed"]
    assert [o.change_address for o in failed] == ['alpha.contact["p1@example.com"]']
    assert failed[0].message.startswith("PUT /contacts/")
    assert "-> 503" in failed[0].message
    assert failed[0].api_calls == 5  # every retry counted
    assert run.result.count("ok") == 6 and run.result.exit_code == 1
    assert by_email(emulator, "p1@example.com")["firstName"] == "P1"
    assert count(emulator) == 7


def test_contact_update_uses_put_and_the_tag_endpoints(emulator: LiveEmulator) -> None:
    converge(emulator, desired(PINCODE, person(1, tags=("old", "keep"), pincode="1")))
    admin(emulator, "DELETE", "/_emulator/requests")
    updated = Contact(
        key="email:p1@example.com",
        fields={"firstName": "New", "email": "p1@example.com"},
        tags=("fresh",),
        custom_fields={"pincode": "2"},
    )
    run = converge(emulator, desired(PINCODE, updated))
    assert set(statuses(run).values()) == {"ok"}
    writes = [e["route"] for e in requests(emulator) if e["method"] != "GET"]
    writes = [r for r in writes if r != "POST /contacts/search"]
    assert sorted(writes) == sorted(
        [
            "POST /locations/{locationId}/tags",
            "PUT /contacts/{contactId}",
            "POST /contacts/{contactId}/tags",
        ]
    )
    p1 = by_email(emulator, "p1@example.com")
    assert p1["firstName"] == "New"
    assert sorted(p1["tags"]) == ["fresh", "keep", "old"]  # not exclusive: kept
    assert p1["customFields"] == [
        {"id": fields_by_key(emulator)["pincode"], "value": "2"}
    ]


def test_deletes_and_deletes_of_objects_already_gone(emulator: LiveEmulator) -> None:
    converge(emulator, desired(PINCODE, Tag("old"), person(1), person(2)))
    gone = [
        CustomField("pincode", "Pincode", "TEXT", ensure="absent"),
        Tag("old", ensure="absent"),
        Contact(key="email:p1@example.com", ensure="absent"),
        Contact(key="email:p2@example.com", ensure="absent"),
    ]
    plan = plan_for(emulator, desired(*gone))
    assert [c.action for c in plan.pending] == ["delete"] * 4
    with emulator.state.lock:  # p2 disappears behind the plan's back
        emulator.state.store.delete_contact(by_email(emulator, "p2@example.com")["id"])
    run = apply(emulator, plan)
    assert set(statuses(run).values()) == {"ok"}
    notes = {o.change_address: o.message for o in run.result.outcomes}
    assert notes['alpha.contact["p2@example.com"]'] == "already gone upstream"
    assert count(emulator) == 0 and fields_by_key(emulator) == {}
    with emulator.state.lock:
        tags = emulator.state.store.tags(LOCATION_A)
    assert "old" not in [t["name"] for t in tags]


def test_a_replaced_field_gets_its_contacts_values_again(
    emulator: LiveEmulator,
) -> None:
    converge(emulator, desired(PINCODE, person(1, pincode="42")))
    old_id = fields_by_key(emulator)["pincode"]
    numeric = CustomField("pincode", "Pincode", "NUMERICAL")
    plan = plan_for(emulator, desired(numeric, person(1, pincode=42)))
    assert [c.action for c in plan.pending] == ["replace", "update"]
    run = apply(emulator, plan)
    assert set(statuses(run).values()) == {"ok"}, run.result.outcomes
    new_id = fields_by_key(emulator)["pincode"]
    assert new_id != old_id
    values = by_email(emulator, "p1@example.com")["customFields"]
    assert {"id": new_id, "value": 42} in values


def test_a_field_whose_key_upstream_would_not_derive_fails_clearly(
    emulator: LiveEmulator,
) -> None:
    level = CustomField("level", "Membership level", "TEXT")
    run = converge(emulator, desired(level, person(1, level="gold")))
    outcome = run.result.outcomes[0]
    assert outcome.status == "failed"
    assert "'contact.membership_level'" in outcome.message
    assert "rename the key to 'membership_level'" in outcome.message
    assert run.result.outcomes[1].status == "skipped"


def test_picklist_options_cannot_be_sent_and_say_so(emulator: LiveEmulator) -> None:
    level = CustomField("swim_level", "Swim level", "RADIO", options=("a", "b"))
    run = converge(emulator, desired(level, person(1, swim_level="a")))
    created, contact = run.result.outcomes
    assert created.status == "ok" and contact.status == "ok"
    assert created.message.startswith("created without its options [a, b]")
    with emulator.state.lock:  # someone sets other options in the UI
        items = emulator.state.store.items
        field = items.custom_fields(LOCATION_A)[0]
        items.update_custom_field(LOCATION_A, field["id"], {"picklistOptions": ["x"]})
    again = converge(emulator, desired(level))
    assert again.result.outcomes[0].status == "failed"
    assert "cannot change its options [a, b]" in again.result.outcomes[0].message
    assert again.result.outcomes[0].api_calls == 0


def test_integrations_tokens_go_to_the_sink_only(emulator: LiveEmulator) -> None:
    bot = Integration("seed-bot", "seeds", ("locations/tags.readonly",))
    report = Integration("reporting", "nightly", ("locations.readonly",))
    run = converge(emulator, desired(bot, integrations=(report,)))
    assert set(statuses(run).values()) == {"ok"}
    assert set(run.tokens) == {
        'alpha.integration["seed-bot"]',
        'agency.integration["reporting"]',
    }
    minted = run.tokens['alpha.integration["seed-bot"]']
    with emulator.client(minted) as http:  # the delivered token works upstream
        assert http.get(f"/locations/{LOCATION_A}/tags").status_code == 200
    wider = Integration(
        "seed-bot", "seeds", ("locations/tags.readonly", "contacts.readonly")
    )
    assert set(statuses(converge(emulator, desired(wider))).values()) == {"ok"}
    with emulator.client(minted) as http:  # same token, one more scope
        answer = http.post(
            "/contacts/search", json={"locationId": LOCATION_A, "pageLimit": 1}
        )
        assert answer.status_code == 200
    gone = Integration("seed-bot", ensure="absent")
    deleted = converge(emulator, desired(gone, person(1)))
    assert [o.change_address for o in deleted.result.outcomes] == [
        'alpha.contact["p1@example.com"]',
        'alpha.integration["seed-bot"]',
    ]
    assert set(statuses(deleted).values()) == {"ok"}
    listed = admin(
        emulator, "GET", "/_emulator/integrations", params={"locationId": LOCATION_A}
    )
    assert [i["name"] for i in listed["integrations"]] == ["emulator-bootstrap"]


def test_a_minted_token_without_a_sink_fails_without_its_value(
    emulator: LiveEmulator,
) -> None:
    bot = Integration("seed-bot", "seeds", ("locations/tags.readonly",))
    run = converge(emulator, desired(bot), sink=False)
    (outcome,) = run.result.outcomes
    assert outcome.status == "failed"
    assert "minted and not stored" in outcome.message
    assert "pit-" not in outcome.message and "pit-" not in repr(run.result)
    scope = IntegrationScope.location(LOCATION_A)
    listed = admin(
        emulator,
        "GET",
        "/_emulator/integrations",
        params={"locationId": scope.location_id},
    )
    assert "seed-bot" in [i["name"] for i in listed["integrations"]]


def test_a_create_that_meets_a_contact_hidden_by_search_lag_keeps_its_tags(
    emulator: LiveEmulator,
) -> None:
    """Upsert replaces every tag of a contact that exists (reference §5.2), so a create
    sends no tags in its upsert and adds the declared ones after it (DESIGN.md §3)."""
    faults(emulator, {"route": "POST /contacts/search", "searchLagMs": 60_000})
    with emulator.client(emulator.token(LOCATION_A)) as api:
        made = api.post(
            "/contacts/",
            json={
                "locationId": LOCATION_A,
                "email": "p1@example.com",
                "firstName": "P1",
                "tags": ["staff"],
            },
        )
    assert made.status_code == 201, made.text
    admin(emulator, "DELETE", "/_emulator/requests")
    run = converge(emulator, desired(person(1, tags=("vip",))))
    contact = 'alpha.contact["p1@example.com"]'
    (change,) = [c for c in run.plan.pending if c.address == contact]
    assert change.action == "create"  # the lagging search hid it
    assert change.api_calls == 2  # the upsert, then the tag add
    assert set(statuses(run).values()) == {"ok"}
    assert sorted(by_email(emulator, "p1@example.com")["tags"]) == ["staff", "vip"]
    assert count(emulator) == 1
    writes = [e["route"] for e in requests(emulator) if e["method"] == "POST"]
    assert [r for r in writes if "contacts" in r and "search" not in r] == [
        "POST /contacts/upsert",
        "POST /contacts/{contactId}/tags",
    ]


def test_a_create_with_exclusive_tags_sends_them_in_the_upsert(
    emulator: LiveEmulator,
) -> None:
    faults(emulator, {"route": "POST /contacts/search", "searchLagMs": 60_000})
    with emulator.client(emulator.token(LOCATION_A)) as api:
        made = api.post(
            "/contacts/",
            json={"locationId": LOCATION_A, "email": "p1@example.com", "tags": ["x"]},
        )
    assert made.status_code == 201, made.text
    exclusive = dataclasses.replace(person(1, tags=("vip",)), tags_exclusive=True)
    run = converge(emulator, desired(exclusive))
    (change,) = [c for c in run.plan.pending if c.kind == "contact"]
    assert (change.action, change.api_calls) == ("create", 1)
    assert change.desired["body"]["tags"] == ["vip"]
    assert set(statuses(run).values()) == {"ok"}
    assert by_email(emulator, "p1@example.com")["tags"] == ["vip"]
