"""Private Integration registry, token hashing and ``require`` (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from hlsync.emulator.app import create_app
from hlsync.emulator.auth import (
    AuthRegistry,
    Principal,
    hash_token,
    require,
)
from hlsync.emulator.clock import Clock
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.persist import MemoryPersistence, SqlitePersistence
from hlsync.emulator.state import EmulatorState
from hlsync.errors import HlsyncError
from tests.emulator_fixtures import (
    COMPANY_ID,
    LOCATION_A,
    LOCATION_B,
    provisioned_state,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _registry() -> tuple[AuthRegistry, Clock, MemoryPersistence]:
    clock = Clock(T0)
    persistence = MemoryPersistence()
    registry = AuthRegistry(persistence, clock)
    registry.add_agency(COMPANY_ID, "Agency")
    return registry, clock, persistence


def _sub_account(registry: AuthRegistry, scopes: list[str]) -> tuple[str, str]:
    integration, token = registry.create_integration(
        name="crm",
        description="",
        scopes=scopes,
        level="sub-account",
        company_id=COMPANY_ID,
        location_id=LOCATION_A,
    )
    return integration.id, token


def test_token_shape_and_only_hash_persisted() -> None:
    registry, _, persistence = _registry()
    integration_id, token = _sub_account(registry, ["contacts.readonly"])
    assert token.startswith("pit-") and len(token) == 40
    stored = repr(persistence.load("token")) + repr(persistence.load("integration"))
    assert token not in stored
    assert hash_token(token) in stored
    principal = registry.resolve(token)
    assert principal is not None
    assert principal.integration_id == integration_id
    assert principal.scopes == frozenset({"contacts.readonly"})
    assert registry.resolve(token + "x") is None
    assert token not in repr(registry.to_json(registry.get(integration_id)))


def test_scopes_checked_against_catalog_and_level() -> None:
    registry, _, _ = _registry()
    with pytest.raises(EmulatorError) as caught:
        _sub_account(registry, ["contacts.red", "locations.write", "contacts.write"])
    assert caught.value.status == 422
    messages = caught.value.body["message"]
    assert any("contacts.red is unknown" in m and "did you mean" in m for m in messages)
    assert any("locations.write is not available to sub-account" in m for m in messages)
    assert len(messages) == 2
    with pytest.raises(EmulatorError) as agency_error:
        registry.create_integration(
            name="a",
            description="",
            scopes=["contacts.write"],
            level="agency",
            company_id=COMPANY_ID,
            location_id=None,
        )
    assert "not available to agency" in agency_error.value.body["message"][0]


def test_edit_keeps_token_and_changes_scopes() -> None:
    registry, _, _ = _registry()
    integration_id, token = _sub_account(registry, ["contacts.readonly"])
    registry.update(
        integration_id, name="renamed", scopes=["contacts.write", "contacts.readonly"]
    )
    principal = registry.resolve(token)
    assert principal is not None
    assert principal.scopes == {"contacts.write", "contacts.readonly"}
    assert registry.get(integration_id).name == "renamed"


def test_rotate_later_overlap_then_only_new() -> None:
    registry, clock, _ = _registry()
    integration_id, old = _sub_account(registry, ["contacts.readonly"])
    new = registry.rotate(integration_id, later=True)
    assert registry.resolve(old) is not None and registry.resolve(new) is not None
    with pytest.raises(EmulatorError) as twice:
        registry.rotate(integration_id, later=True)
    assert twice.value.status == 409
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert registry.resolve(old) is not None
    clock.advance(timedelta(seconds=1))
    assert registry.resolve(old) is None
    assert registry.resolve(new) is not None
    assert len(registry.live_tokens(integration_id)) == 1


def test_cancel_rotation_reverts_and_expire_old_ends_overlap() -> None:
    registry, clock, _ = _registry()
    integration_id, old = _sub_account(registry, ["contacts.readonly"])
    with pytest.raises(EmulatorError):
        registry.cancel_rotation(integration_id)
    new = registry.rotate(integration_id, later=True)
    registry.cancel_rotation(integration_id)
    clock.advance(timedelta(days=30))
    assert registry.resolve(old) is not None
    assert registry.resolve(new) is None
    newer = registry.rotate(integration_id, later=True)
    registry.expire_old(integration_id)
    assert registry.resolve(old) is None
    assert registry.resolve(newer) is not None


def test_rotate_now_and_delete() -> None:
    registry, _, _ = _registry()
    integration_id, old = _sub_account(registry, ["contacts.readonly"])
    new = registry.rotate(integration_id, later=False)
    assert registry.resolve(old) is None and registry.resolve(new) is not None
    registry.delete(integration_id)
    assert registry.resolve(new) is None
    with pytest.raises(EmulatorError) as gone:
        registry.get(integration_id)
    assert gone.value.status == 404


def test_registry_survives_sqlite_reopen(tmp_path: Path) -> None:
    db = tmp_path / "emu.sqlite3"
    state = EmulatorState.open_sqlite(db)
    _, agency_token = state.provision_agency(COMPANY_ID, "Agency")
    _, token = state.provision_location(COMPANY_ID, "Alpha", LOCATION_A)
    state.close()
    assert token.encode() not in db.read_bytes()
    reopened = EmulatorState.open_sqlite(db)
    try:
        assert reopened.store.get_location(LOCATION_A) is not None
        principal = reopened.auth.resolve(token)
        assert principal is not None and principal.location_id == LOCATION_A
        fresh = reopened.remint_bootstrap(COMPANY_ID, LOCATION_A)
        assert reopened.auth.resolve(token) is None
        assert reopened.auth.resolve(fresh) is not None
        assert reopened.auth.resolve(agency_token) is not None
    finally:
        reopened.close()


def test_sqlite_refuses_foreign_and_locked_files(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    foreign.write_bytes(b"this is not sqlite at all, just text" * 100)
    with pytest.raises(HlsyncError, match="not an hlsync emulator database"):
        SqlitePersistence(foreign)
    db = tmp_path / "emu.sqlite3"
    first = SqlitePersistence(db)
    try:
        with pytest.raises(HlsyncError, match="in use by another process"):
            SqlitePersistence(db)
    finally:
        first.close()
    SqlitePersistence(db).close()


def test_sqlite_commit_is_buffered(tmp_path: Path) -> None:
    db = tmp_path / "emu.sqlite3"
    persistence = SqlitePersistence(db)
    persistence.put("contact", "a", {"n": 1})
    persistence.put("contact", "b", {"n": 2})
    persistence.delete("contact", "b")
    assert persistence.load("contact") == [("a", {"n": 1})]
    persistence.close()
    again = SqlitePersistence(db)
    try:
        assert again.load("contact") == [("a", {"n": 1})]
    finally:
        again.close()


def _request(state: EmulatorState, principal: Principal | None) -> Request:
    app = create_app(state)
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "app": app,
        "state": {} if principal is None else {"principal": principal},
    }
    return Request(scope)


def _principal(state: EmulatorState, token: str) -> Principal:
    principal = state.auth.resolve(token)
    assert principal is not None
    return principal


def test_require_scope_level_and_location() -> None:
    p = provisioned_state()
    state = p.state
    sub = _principal(state, p.location_tokens[LOCATION_A])
    agency = _principal(state, p.agency_token)

    request = _request(state, sub)
    assert require(request, "contacts.write", location_id=LOCATION_A) == sub
    with pytest.raises(EmulatorError) as other:
        require(request, "contacts.write", location_id=LOCATION_B)
    assert other.value.status == 403
    assert other.value.body == {
        "statusCode": 403,
        "message": "The token does not have access to this location",
    }

    agency_request = _request(state, agency)
    with pytest.raises(EmulatorError) as level:
        require(agency_request, "contacts.readonly", location_id=LOCATION_A)
    assert level.value.body == {
        "statusCode": 401,
        "message": "The token is not authorized for this scope.",
    }
    levels = ("sub-account", "agency")
    found = require(
        agency_request, "locations.readonly", location_id=LOCATION_A, levels=levels
    )
    assert found == agency
    state.provision_agency("compOtherAgency00002", "Other")
    state.provision_location("compOtherAgency00002", "Theirs", "locOtherAgency000003")
    with pytest.raises(EmulatorError) as foreign:
        require(
            agency_request,
            "locations.readonly",
            location_id="locOtherAgency000003",
            levels=levels,
        )
    assert foreign.value.status == 403

    with pytest.raises(EmulatorError) as anonymous:
        require(_request(state, None), "contacts.readonly", location_id=None)
    assert anonymous.value.body == {"statusCode": 401, "message": "Invalid JWT"}


def test_require_without_scope_is_401() -> None:
    p = provisioned_state()
    integration, token = p.state.auth.create_integration(
        name="read only",
        description="",
        scopes=["contacts.readonly"],
        level="sub-account",
        company_id=COMPANY_ID,
        location_id=LOCATION_A,
    )
    request = _request(p.state, _principal(p.state, token))
    with pytest.raises(EmulatorError) as caught:
        require(request, "contacts.write", location_id=LOCATION_A)
    assert caught.value.status == 401
    assert integration.scopes == ("contacts.readonly",)
