"""Integration changes and token custody, through the applier with fakes (no HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from hlsync.core.model import ObservedIntegration
from hlsync.core.plan import Action, Change, Plan, PlanLocation
from hlsync.core.result import ApplyResult
from hlsync.engine.applier import apply_plan
from hlsync.errors import HlsyncError
from hlsync.targets.access import TargetAccess
from hlsync.targets.drivers import IntegrationScope, Token
from hlsync.upstream.client import ApiError
from tests.unit.fakes import FakeApi

OLD = "pit-99999999-8888-7777-6666-555555555555"
SECRET = "pit-12121212-3434-5656-7878-909090909090"


class Driver:
    """Mints SECRET; ``fail`` maps a method name to the error it raises."""

    def __init__(self, **fail: Exception) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail = fail

    def _check(self, name: str, detail: Any) -> ObservedIntegration:
        self.calls.append((name, detail))
        if name in self.fail:
            raise self.fail[name]
        return ObservedIntegration("int-1", "bot", "", ())

    async def list(self, scope: IntegrationScope) -> dict[str, ObservedIntegration]:
        return {}

    async def create(
        self,
        scope: IntegrationScope,
        name: str,
        description: str,
        scopes: Sequence[str],
    ) -> tuple[ObservedIntegration, Token]:
        return self._check("create", name), Token(SECRET)

    async def update(
        self, scope: IntegrationScope, integration_id: str, **kw: Any
    ) -> Any:
        return self._check("update", kw)

    async def delete(self, scope: IntegrationScope, integration_id: str) -> None:
        self._check("delete", integration_id)

    async def rotate(
        self, scope: IntegrationScope, integration_id: str, mode: str
    ) -> tuple[ObservedIntegration, Token]:
        return self._check("rotate", mode), Token(SECRET)

    async def cancel_rotation(
        self, scope: IntegrationScope, integration_id: str
    ) -> Any:
        return self._check("cancel_rotation", integration_id)

    async def expire_old(self, scope: IntegrationScope, integration_id: str) -> Any:
        return self._check("expire_old", integration_id)


class Custody:
    """Records what the writer asks of the custody; ``broken`` fails every delivery."""

    def __init__(self, broken: bool = False, previous: str | None = OLD) -> None:
        self.events: list[tuple[str, str]] = []
        self.broken = broken
        self.previous = previous  # the token a rotation's cancellation puts back

    def before_mint(self, change: Change) -> str:
        self.events.append(("intent", change.action))
        return "ticket-1"

    def not_minted(self, ticket: str, change: Change) -> None:
        self.events.append(("not_minted", ticket))

    def deleted(self, change: Change) -> None:
        self.events.append(("deleted", change.key))

    def before_rotation(self, change: Change) -> None:
        self.events.append(("keep_previous", change.key))

    def expired_old(self, change: Change) -> None:
        self.events.append(("released", change.key))

    def restore_problem(self, location: str | None, name: str) -> str | None:
        return None if self.previous else "its sink is a command"

    async def restore_previous(self, change: Change) -> tuple[str, Token | None]:
        self.events.append(("restore", change.key))
        assert self.previous is not None
        return "the previous token is back in file t", Token(self.previous)

    async def deliver(self, ticket: str, change: Change, token: Token) -> str:
        self.events.append(("deliver", ticket))
        if self.broken:
            raise HlsyncError(f"the sink command vault exited with status 1: {SECRET}")
        return "token stored in file t"


def change(action: Action, **desired: Any) -> Change:
    return Change(
        address='main.integration["bot"]',
        action=action,
        kind="integration",
        location="main",
        location_id="loc-1",
        key="bot",
        object_id=None if action == "create" else "int-1",
        desired={"name": "bot", "description": "", "scopes": [], **desired},
    )


def apply(
    one: Change, driver: Driver, custody: Custody, api: FakeApi | None = None
) -> ApplyResult:
    access = TargetAccess(
        locations={} if api is None else {"main": api},
        integrations=driver,
        seeded_by={} if api is None else {"main": "bot"},
    )
    plan = Plan("0", "d", "sandbox", (PlanLocation("main", "loc-1"),), (one,))
    return asyncio.run(apply_plan(plan, access, custody=custody))


def test_a_create_journals_first_then_delivers_and_switches_the_seeding_api() -> None:
    custody, api = Custody(), FakeApi()
    result = apply(change("create"), Driver(), custody, api)
    (outcome,) = result.outcomes
    assert outcome.status == "ok"
    assert outcome.message == (
        "created (int-1); token stored in file t; the location now uses this token"
    )
    assert custody.events == [("intent", "create"), ("deliver", "ticket-1")]
    assert api.tokens == [SECRET]


def test_a_failed_call_minted_nothing() -> None:
    custody = Custody()
    refused = ApiError("POST x -> 422: no", method="POST", path="x", status=422)
    for action in ("create", "rotate_now"):
        custody.events.clear()
        result = apply(change(action), Driver(create=refused, rotate=refused), custody)
        assert result.outcomes[0].status == "failed"
        assert custody.events == [("intent", action), ("not_minted", "ticket-1")]


def test_a_failed_sink_says_minted_not_stored_and_how_to_recover() -> None:
    custody, api = Custody(broken=True), FakeApi()
    result = apply(change("rotate"), Driver(), custody, api)
    message = result.outcomes[0].message
    assert result.outcomes[0].status == "failed"
    assert message.startswith("rotated, but the new token was minted and NOT stored")
    assert "run 'hlsync token rotate main/bot --now --force'" in message
    assert SECRET not in message and SECRET not in repr(result)
    assert api.tokens == []  # the location keeps the token it has


def test_token_verbs_without_a_token_and_delete() -> None:
    driver, custody = Driver(), Custody()
    for action in ("expire_old", "cancel_rotation", "delete"):
        assert apply(change(action), driver, custody).outcomes[0].status == "ok"
    assert [c[0] for c in driver.calls] == ["expire_old", "cancel_rotation", "delete"]
    assert custody.events == [
        ("released", "bot"),
        ("restore", "bot"),
        ("deleted", "bot"),
    ]
    gone = ApiError("POST x -> 409: no rotation", method="POST", path="x", status=409)
    result = apply(change("expire_old"), Driver(expire_old=gone), custody)
    assert result.outcomes[0].status == "ok"
    assert result.outcomes[0].message == (
        "no rotation in progress upstream: nothing left to do"
    )


def test_a_rotation_keeps_the_previous_token_before_it_mints() -> None:
    custody = Custody()
    assert apply(change("rotate"), Driver(), custody).outcomes[0].status == "ok"
    assert custody.events[:2] == [("keep_previous", "bot"), ("intent", "rotate")]


def test_a_cancelled_rotation_puts_the_previous_token_back_and_seeds_with_it() -> None:
    driver, custody, api = Driver(), Custody(), FakeApi()
    result = apply(change("cancel_rotation"), driver, custody, api)
    (outcome,) = result.outcomes
    assert outcome.status == "ok"
    assert outcome.message == (
        "the previous token is back in file t; the location now uses this token"
    )
    assert [c[0] for c in driver.calls] == ["cancel_rotation"]
    assert custody.events == [("restore", "bot")]
    assert api.tokens == [OLD]
    assert OLD not in repr(result)


def test_a_rotation_whose_previous_token_cannot_come_back_is_not_cancelled() -> None:
    driver, custody = Driver(), Custody(previous=None)
    result = apply(change("cancel_rotation"), driver, custody)
    (outcome,) = result.outcomes
    assert outcome.status == "failed"
    assert outcome.message.startswith("not cancelled: its sink is a command;")
    assert "'hlsync token expire-old main/bot --force'" in outcome.message
    assert driver.calls == []  # the upstream was never asked
