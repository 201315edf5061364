"""apply_plan without a network: scheduling, skips, fail-fast, tokens, call counting.

A fake ``LocationApi`` (``tests.unit.fakes``, typed against the engine's protocol)
records calls and can hold them open or fail them; the integration driver is faked the
same way. One test runs the real client over ``httpx.MockTransport``
to prove retries are counted per change.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import pytest

from hlsync.core.model import Kind, ObservedIntegration
from hlsync.core.plan import Action, Change, Plan, PlanLocation
from hlsync.core.result import ApplyResult, Outcome
from hlsync.engine.applier import IN_FLIGHT_PER_LOCATION, apply_plan
from hlsync.errors import HlsyncError
from hlsync.kinds import shared
from hlsync.targets.access import TargetAccess
from hlsync.targets.drivers import IntegrationScope, Token
from hlsync.upstream.client import (
    AmbiguousWriteError,
    ApiClient,
    ApiError,
    RetryPolicy,
)
from tests.unit.fakes import FakeApi

SECRET = "pit-secret-value-0001"


def change(
    address: str,
    *,
    kind: Kind = "contact",
    action: Action = "create",
    location: str | None = "main",
    depends_on: Sequence[str] = (),
    object_id: str | None = None,
    gate: str | None = None,
    **desired: Any,
) -> Change:
    if kind == "contact" and action == "create" and not desired:
        desired = {"body": {"email": f"{address}@example.com"}}
    return Change(
        address=address,
        action=action,
        kind=kind,
        location=location,
        location_id=None if location is None else f"LOC-{location}",
        key=address,
        object_id=object_id,
        desired=desired,
        depends_on=tuple(depends_on),
        gate=gate,
        api_calls=1,
    )


def plan(*changes: Change) -> Plan:
    return Plan("0", "digest", "sandbox", (PlanLocation("main", "LOC-main"),), changes)


class FakeDriver:
    """An IntegrationDriver that mints SECRET and records what it was asked."""

    def __init__(self, create_error: ApiError | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.create_error = create_error
        self.existing: dict[str, ObservedIntegration] = {}

    def _obs(self, name: str = "bot") -> ObservedIntegration:
        return ObservedIntegration("int-1", name, "", ())

    async def list(self, scope: IntegrationScope) -> dict[str, ObservedIntegration]:
        return self.existing

    async def create(
        self,
        scope: IntegrationScope,
        name: str,
        description: str,
        scopes: Sequence[str],
    ) -> tuple[ObservedIntegration, Token]:
        self.calls.append(("create", (scope, name, description, list(scopes))))
        if self.create_error is not None:
            raise self.create_error
        return self._obs(name), Token(SECRET)

    async def update(
        self, scope: IntegrationScope, integration_id: str, **kw: Any
    ) -> Any:
        self.calls.append(("update", (integration_id, kw)))
        return self._obs()

    async def delete(self, scope: IntegrationScope, integration_id: str) -> None:
        self.calls.append(("delete", integration_id))

    async def rotate(
        self, scope: IntegrationScope, integration_id: str, mode: str
    ) -> tuple[ObservedIntegration, Token]:
        self.calls.append(("rotate", (integration_id, mode)))
        return self._obs(), Token(SECRET)

    async def cancel_rotation(
        self, scope: IntegrationScope, integration_id: str
    ) -> ObservedIntegration:
        self.calls.append(("cancel_rotation", integration_id))
        return self._obs()

    async def expire_old(self, scope: IntegrationScope, integration_id: str) -> Any:
        self.calls.append(("expire_old", integration_id))
        return self._obs()


def access(
    *apis: FakeApi, driver: FakeDriver | None = None, company: str | None = "comp-1"
) -> TargetAccess:
    return TargetAccess(
        locations={a.name: a for a in apis},
        integrations=driver,
        company_id=company,
    )


def run(the_plan: Plan, target: TargetAccess, **options: Any) -> ApplyResult:
    result: ApplyResult = asyncio.run(apply_plan(the_plan, target, **options))
    return result


def statuses(result: ApplyResult) -> list[tuple[str, str, str]]:
    return [(o.change_address, o.status, o.message) for o in result.outcomes]


def refused(path: str, status: int = 422) -> ApiError:
    return ApiError(
        f"POST {path} -> {status}: no", method="POST", path=path, status=status
    )


def test_failure_skips_dependents_transitively_and_the_rest_runs() -> None:
    api = FakeApi()
    api.fail["a@example.com"] = refused("/contacts/upsert")
    result = run(
        plan(
            change("a"),
            change("b", depends_on=["a"]),
            change("c", depends_on=["b"]),
            change("d"),
        ),
        access(api),
    )
    assert statuses(result) == [
        ("a", "failed", "POST /contacts/upsert -> 422: no"),
        ("b", "skipped", "depends on a, which failed"),
        ("c", "skipped", "depends on b, which was skipped"),
        ("d", "ok", ""),
    ]
    assert result.exit_code == 1 and not result.interrupted
    assert [arg["email"] for _, arg in api.calls] == ["a@example.com", "d@example.com"]


def test_a_dependency_outside_the_pending_changes_is_satisfied() -> None:
    result = run(plan(change("a", depends_on=['main.tag["noop"]'])), access(FakeApi()))
    assert statuses(result) == [("a", "ok", "")]


def test_dependency_cycles_fail_without_hanging() -> None:
    result = run(
        plan(
            change("a", depends_on=["b"]),
            change("b", depends_on=["a"]),
            change("c", depends_on=["a"]),
            change("self", depends_on=["self"]),
            change("free"),
        ),
        access(FakeApi()),
    )
    got = {address: status for address, status, _ in statuses(result)}
    assert got == {
        "a": "failed",
        "b": "failed",
        "c": "failed",
        "self": "failed",
        "free": "ok",
    }
    assert "dependency cycle" in result.outcomes[0].message


def test_integration_deletes_run_after_everything_else_even_failures() -> None:
    api, driver = FakeApi(), FakeDriver()
    api.fail["a@example.com"] = refused("/contacts/upsert")
    order: list[str] = []
    result = run(
        plan(
            change("bot", kind="integration", action="delete", object_id="int-9"),
            change("a"),
            change("b"),
        ),
        access(api, driver=driver),
        on_outcome=lambda o: order.append(o.change_address),
    )
    assert order[-1] == "bot"
    assert [o.status for o in result.outcomes] == ["ok", "failed", "ok"]
    assert driver.calls == [("delete", "int-9")]


def test_independent_changes_run_concurrently_within_the_bound() -> None:
    main, other = FakeApi("main"), FakeApi("other")

    async def go() -> ApplyResult:
        gate = asyncio.Event()
        main.gate = other.gate = gate
        each = IN_FLIGHT_PER_LOCATION + 24  # more than the bound
        changes = [change(f"m{i}") for i in range(each)]
        changes += [change(f"o{i}", location="other") for i in range(each)]
        task = asyncio.create_task(apply_plan(plan(*changes), access(main, other)))
        for _ in range(20):
            await asyncio.sleep(0)
        running = main.running, other.running
        gate.set()
        result = await task
        assert running == (IN_FLIGHT_PER_LOCATION, IN_FLIGHT_PER_LOCATION)
        return result

    result = asyncio.run(go())
    assert result.count("ok") == 2 * (IN_FLIGHT_PER_LOCATION + 24)
    assert main.peak == other.peak == IN_FLIGHT_PER_LOCATION


def test_fail_fast_starts_nothing_more_and_marks_the_run_interrupted() -> None:
    api = FakeApi()
    api.fail["a@example.com"] = refused("/contacts/upsert")
    changes = [change("a"), *(change(f"n{i}", depends_on=["x"]) for i in range(3))]
    changes.append(change("x", kind="contact", action="delete", object_id="cx"))
    seen: list[Outcome] = []
    result = run(plan(*changes), access(api), fail_fast=True, on_outcome=seen.append)
    assert result.interrupted and result.exit_code == 1
    by = {o.change_address: o for o in result.outcomes}
    assert by["a"].status == "failed"
    # "x" was already running beside "a"; its dependents had not started
    assert by["x"].status == "ok"
    for name in ("n0", "n1", "n2"):
        assert by[name].status == "skipped"
        assert by[name].message == "not run: --fail-fast stopped the apply"
    assert len(seen) == len(result.outcomes) == 5
    assert ("upsert", {"email": "n0@example.com"}) not in api.calls


def test_protected_changes_are_never_run() -> None:
    api = FakeApi()
    result = run(
        plan(change("p", action="delete", object_id="c1", gate="protected")),
        access(api),
    )
    assert result.outcomes[0].status == "skipped" and api.calls == []


def test_malformed_changes_fail_with_a_message() -> None:
    result = run(
        plan(
            change("nobody", body="not an object"),
            change("noid", action="delete"),
            change("where", location="elsewhere"),
            change("weird", action="update", write="patch", body={}),
            change("field", kind="custom_field", action="create", name=3),
        ),
        access(FakeApi()),
    )
    assert statuses(result) == [
        ("nobody", "failed", "the plan's change has no request body"),
        ("noid", "failed", "the plan's delete names no upstream id"),
        ("where", "failed", "no API access for location 'elsewhere' in this run"),
        ("weird", "failed", "the plan names an unknown contact write 'patch'"),
        ("field", "failed", "the plan's change has no text desired.name"),
    ]


def test_contact_update_put_then_tag_endpoints() -> None:
    api = FakeApi()
    update = change(
        "u",
        action="update",
        object_id="c7",
        write="put",
        body={"firstName": "Ann"},
        tags_add=["vip"],
        tags_remove=["old"],
    )
    assert statuses(run(plan(update), access(api))) == [("u", "ok", "")]
    assert api.calls == [
        ("put", ("c7", {"firstName": "Ann"})),
        ("add_tags", ("c7", ["vip"])),
        ("remove_tags", ("c7", ["old"])),
    ]


def test_custom_field_values_go_by_id_created_or_known() -> None:
    api = FakeApi()
    field = change(
        'main.custom_field["pin"]',
        kind="custom_field",
        name="Pin",
        data_type="TEXT",
        options=[],
        placeholder=None,
    )
    field = dataclasses.replace(field, key="pin")
    known = change("known", kind="custom_field", action="noop", object_id="id-k")
    known = dataclasses.replace(known, key="tier")
    body = {
        "email": "a@example.com",
        "customFields": [
            {"key": "pin", "field_value": "1"},
            {"key": "tier", "field_value": 2},
            {"key": "loose", "field_value": "x"},
        ],
    }
    contact = change("a", depends_on=[field.address], body=body)
    result = run(plan(known, field, contact), access(api))
    assert [o.status for o in result.outcomes] == ["ok", "ok"]
    assert api.calls[0] == (
        "create_field",
        {"name": "Pin", "dataType": "TEXT", "model": "contact"},
    )
    assert api.calls[1][1]["customFields"] == [
        {"id": "id-Pin", "field_value": "1"},
        {"id": "id-k", "field_value": 2},
        {"key": "loose", "field_value": "x"},  # no id known: upstream takes the key
    ]


def test_integration_create_hands_the_token_to_the_sink_only() -> None:
    driver = FakeDriver()
    got: list[tuple[str, Token]] = []

    async def sink(c: Change, token: Token) -> None:
        got.append((c.address, token))

    create = change(
        "bot",
        kind="integration",
        location=None,
        name="bot",
        description="d",
        scopes=["contacts.readonly"],
    )
    result = run(plan(create), access(driver=driver), deliver_token=sink)
    assert statuses(result) == [("bot", "ok", "")]
    assert got == [("bot", Token(SECRET))]
    scope = driver.calls[0][1][0]
    assert scope == IntegrationScope.agency("comp-1")
    assert SECRET not in repr(result)


def test_a_minted_token_without_a_sink_or_with_a_broken_one_fails() -> None:
    create = change("bot", kind="integration", name="bot", description="", scopes=[])
    alone = run(plan(create), access(driver=FakeDriver()))
    assert alone.outcomes[0].status == "failed"
    assert "minted and not stored" in alone.outcomes[0].message

    async def broken(c: Change, token: Token) -> None:
        raise PermissionError(13, "Permission denied", "/x/bot.token")

    async def refusing(c: Change, token: Token) -> None:
        raise HlsyncError("tokens directory is a symlink")

    for sink, reason in ((broken, "Permission denied"), (refusing, "symlink")):
        result = run(plan(create), access(driver=FakeDriver()), deliver_token=sink)
        outcome = result.outcomes[0]
        assert outcome.status == "failed" and reason in outcome.message
        assert "minted and NOT stored" in outcome.message
        assert "hlsync token rotate main/bot --now" in outcome.message
        assert SECRET not in repr(result)


def test_integration_update_rotate_expire_and_missing_prerequisites() -> None:
    driver = FakeDriver()
    delivered: list[str] = []

    async def sink(c: Change, token: Token) -> None:
        delivered.append(c.address)

    changes = [
        change(
            "u",
            kind="integration",
            action="update",
            object_id="i1",
            description="new",
            scopes=["a"],
        ),
        change("r", kind="integration", action="rotate", object_id="i2"),
        change("rn", kind="integration", action="rotate_now", object_id="i3"),
        change("e", kind="integration", action="expire_old", object_id="i4"),
    ]
    result = run(plan(*changes), access(driver=driver), deliver_token=sink)
    assert [o.status for o in result.outcomes] == ["ok"] * 4
    assert driver.calls == [
        ("update", ("i1", {"description": "new", "scopes": ["a"]})),
        ("rotate", ("i2", "later")),
        ("rotate", ("i3", "now")),
        ("expire_old", "i4"),
    ]
    assert delivered == ["r", "rn"]
    agency = change(
        "x", kind="integration", action="delete", location=None, object_id="i5"
    )
    nodriver = run(plan(agency), access())
    assert nodriver.outcomes[0].message == (
        "this target has no Private Integration driver"
    )
    nocompany = run(plan(agency), access(driver=FakeDriver(), company=None))
    assert "company id is not known" in nocompany.outcomes[0].message


def test_api_calls_count_every_attempt_of_each_change() -> None:
    hits: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        email = request.read().decode()
        hits[email] = hits.get(email, 0) + 1
        if "flaky" in email and hits[email] < 3:
            return httpx.Response(503, json={"message": "busy"})
        return httpx.Response(200, json={"new": True, "contact": {"id": "c"}})

    async def go() -> ApplyResult:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            api = ApiClient(http, retry=RetryPolicy(base_delay=0.0001))
            target = TargetAccess(locations={"main": api.location("LOC-main", SECRET)})
            return await apply_plan(plan(change("flaky"), change("steady")), target)

    result = asyncio.run(go())
    assert [(o.status, o.api_calls) for o in result.outcomes] == [("ok", 3), ("ok", 1)]
    assert result.api_calls == 4


@pytest.mark.parametrize("status", [400, 404])
def test_a_delete_of_a_contact_already_gone_is_ok(status: int) -> None:
    api = FakeApi()
    api.fail["c1"] = refused("/contacts/c1", status)
    api.gone["c1"] = refused("/contacts/c1", status)
    result = run(plan(change("d", action="delete", object_id="c1")), access(api))
    assert statuses(result) == [("d", "ok", "already gone upstream")]


def test_a_refused_delete_of_a_contact_that_still_exists_fails() -> None:
    api = FakeApi()
    api.fail["c1"] = refused("/contacts/c1", 400)  # and get_contact finds it
    result = run(plan(change("d", action="delete", object_id="c1")), access(api))
    assert statuses(result) == [("d", "failed", "POST /contacts/c1 -> 400: no")]


def test_an_exception_from_the_progress_callback_propagates_as_itself() -> None:
    def broken(outcome: Outcome) -> None:
        raise BrokenPipeError("stderr went away")

    with pytest.raises(BrokenPipeError) as caught:  # raised by both: one failure
        run(plan(change("a"), change("b")), access(FakeApi()), on_outcome=broken)
    assert caught.value.__cause__ is None


def test_two_concurrent_changes_that_both_raise_are_both_reported() -> None:
    api = FakeApi()
    api.gate = asyncio.Event()
    bugs: dict[str, Any] = {
        "a@example.com": KeyError("contact"),
        "b@example.com": TypeError("NoneType is not iterable"),
    }
    api.fail = bugs

    async def go() -> ApplyResult:
        async def release() -> None:
            while api.running < 2:  # both are in flight, then both raise at once
                await asyncio.sleep(0)
            assert api.gate is not None
            api.gate.set()

        opener = asyncio.create_task(release())
        try:
            return await apply_plan(plan(change("a"), change("b")), access(api))
        finally:
            await opener

    with pytest.raises(HlsyncError) as caught:
        asyncio.run(go())
    assert str(caught.value) == (
        "a: internal error (KeyError: 'contact')\n"
        "  hint: this is a bug in hlsync; please report it\n"
        "b: internal error (TypeError: NoneType is not iterable)\n"
        "  hint: this is a bug in hlsync; please report it"
    )
    assert isinstance(caught.value.__cause__, BaseExceptionGroup)


def test_a_plan_listing_a_change_twice_is_refused_before_any_call() -> None:
    api = FakeApi()
    with pytest.raises(HlsyncError, match=r"the plan lists a more than once"):
        run(plan(change("a"), change("b"), change("a")), access(api))
    assert api.calls == []


def ambiguous(path: str) -> AmbiguousWriteError:
    return AmbiguousWriteError(
        f"POST {path} -> 502: Bad Gateway", method="POST", path=path, status=502
    )


class FlakyDriver(FakeDriver):
    """Its first ``lost`` creates fail ambiguously without committing."""

    def __init__(self, error: ApiError, lost: int) -> None:
        super().__init__()
        self.error = error
        self.lost = lost

    async def create(
        self,
        scope: IntegrationScope,
        name: str,
        description: str,
        scopes: Sequence[str],
    ) -> tuple[ObservedIntegration, Token]:
        if self.lost:
            self.lost -= 1
            self.calls.append(("create", name))
            raise self.error
        return await super().create(scope, name, description, scopes)


@pytest.fixture
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared, "CREATE_PAUSES", (0.0, 0.0))


def test_an_ambiguous_integration_create_that_committed_rotates_now(
    no_pauses: None,
) -> None:
    driver = FakeDriver(create_error=ambiguous("/_emulator/integrations"))
    driver.existing = {"bot": ObservedIntegration("int-7", "bot", "", ())}
    create = change("bot", kind="integration", name="bot", description="", scopes=[])
    delivered: list[Token] = []

    async def deliver(c: Change, token: Token) -> None:
        delivered.append(token)

    result = run(plan(create), access(driver=driver), deliver_token=deliver)
    assert statuses(result) == [
        (
            "bot",
            "ok",
            "the create's answer was lost; a re-read found the integration created; "
            "its token was lost with the answer, so it was rotated now",
        )
    ]
    assert [c[0] for c in driver.calls] == ["create", "rotate"]
    assert driver.calls[1] == ("rotate", ("int-7", "now"))
    assert [t.reveal() for t in delivered] == [SECRET]


def test_an_ambiguous_integration_create_that_did_not_commit_is_sent_again(
    no_pauses: None,
) -> None:
    create = change("bot", kind="integration", name="bot", description="", scopes=[])
    driver = FlakyDriver(ambiguous("/_emulator/integrations"), lost=1)
    delivered: list[Token] = []

    async def deliver(c: Change, token: Token) -> None:
        delivered.append(token)

    result = run(plan(create), access(driver=driver), deliver_token=deliver)
    assert statuses(result) == [
        ("bot", "ok", "created after 1 lost try (each re-read found none)")
    ]
    assert [c[0] for c in driver.calls] == ["create", "create"]
    assert len(delivered) == 1
    never = FlakyDriver(ambiguous("/_emulator/integrations"), lost=5)
    lost = run(plan(create), access(driver=never), deliver_token=deliver)
    assert statuses(lost) == [
        (
            "bot",
            "failed",
            "POST /_emulator/integrations -> 502: Bad Gateway (not created after 3 "
            "tries: each re-read found no integration)",
        )
    ]
    assert [c[0] for c in never.calls] == ["create"] * shared.CREATE_ATTEMPTS


def test_a_taken_name_or_key_is_success_only_when_it_is_what_the_plan_wants() -> None:
    api = FakeApi()
    for name in ("Tier", "Level", "existing", "Other"):
        api.fail[name] = refused("/locations/LOC-main/x", 400)
    api.fields = [
        {"id": "f1", "fieldKey": "contact.tier", "dataType": "TEXT"},
        {"id": "f2", "fieldKey": "contact.level", "dataType": "TEXT"},
    ]

    async def create_field(body: Mapping[str, Any]) -> dict[str, Any]:
        await api._call("create_field", body["name"])
        raise AssertionError("the fake refuses every create")

    api.create_custom_field = create_field  # type: ignore[method-assign]

    def field(key: str, name: str, data_type: str) -> Change:
        made = change(
            key,
            kind="custom_field",
            name=name,
            data_type=data_type,
            options=[],
            placeholder=None,
        )
        return dataclasses.replace(made, key=key.lower())

    result = run(
        plan(
            field("Tier", "Tier", "TEXT"),
            field("Level", "Level", "NUMERICAL"),
            change("existing", kind="tag", name="existing"),
            change("Other", kind="tag", name="Other"),
        ),
        access(api),
    )
    assert statuses(result) == [
        ("Tier", "ok", "already existed upstream"),
        ("Level", "failed", "POST /locations/LOC-main/x -> 400: no"),
        ("existing", "ok", "already existed upstream"),
        ("Other", "failed", "POST /locations/LOC-main/x -> 400: no"),
    ]
