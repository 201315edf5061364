"""Token custody across a rotation: the previous token is kept, then put back or let go."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from hlsync.core.model import (
    AgencySpec,
    DesiredState,
    Integration,
    LocationSpec,
    SinkSpec,
    Target,
    TokenPolicy,
)
from hlsync.core.plan import Action, Change
from hlsync.errors import HlsyncError
from hlsync.targets.drivers import Token
from hlsync.tokens.custody import TokenCustody, previous_path
from hlsync.tokens.journal import Journal
from hlsync.tokens.sinks.routing import read_sink_token

OLD = "pit-11111111-2222-3333-4444-555555555555"
NEW = "pit-99999999-8888-7777-6666-555555555555"


def _desired(root: Path, sink: SinkSpec) -> DesiredState:
    spec = LocationSpec(
        name="main",
        id="loc1",
        integrations=(Integration("bot", token=TokenPolicy(sink=sink)),),
    )
    return DesiredState(Target(), AgencySpec(), (spec,), "d" * 64, str(root))


def _change(action: Action) -> Change:
    return Change(
        address='main.integration["bot"]',
        action=action,
        kind="integration",
        location="main",
        location_id="loc1",
        key="bot",
        object_id="int-1",
        desired={"name": "bot"},
    )


def _rotated(tmp_path: Path, sink: SinkSpec) -> tuple[TokenCustody, SinkSpec]:
    """``OLD`` in the sink, then a rotation (later) that delivered ``NEW``."""
    custody = TokenCustody(
        _desired(tmp_path, sink), Journal(tmp_path / "j.jsonl"), "sha256:" + "b" * 64
    )
    first = _change("create")
    asyncio.run(custody.deliver(custody.before_mint(first), first, Token(OLD)))
    rotate = _change("rotate")
    custody.before_rotation(rotate)
    asyncio.run(custody.deliver(custody.before_mint(rotate), rotate, Token(NEW)))
    return custody, sink


@pytest.mark.parametrize("kind", ["file", "env_file"])
def test_a_cancelled_rotation_gets_the_previous_token_back(
    tmp_path: Path, kind: str
) -> None:
    if kind == "file":
        sink = SinkSpec("file", path=str(tmp_path / "tokens" / "bot.token"))
    else:
        sink = SinkSpec("env_file", path=str(tmp_path / "app.env"), key="BOT")
    custody, spec = _rotated(tmp_path, sink)
    side = previous_path(spec)
    assert side is not None and side.parent == Path(spec.path or "").parent
    assert read_sink_token(spec) == NEW
    assert side.read_text() == OLD + "\n"
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    assert custody.restore_problem("main", "bot") is None
    note, token = asyncio.run(custody.restore_previous(_change("cancel_rotation")))
    assert note.startswith("the previous token is back in ")
    assert token.reveal() == OLD and OLD not in note
    assert read_sink_token(spec) == OLD
    assert not side.exists()
    assert custody.restore_problem("main", "bot") is not None  # nothing held now
    journal = (tmp_path / "j.jsonl").read_text()
    assert OLD not in journal and NEW not in journal


@pytest.mark.parametrize("action", ["expire_old", "rotate_now", "delete"])
def test_the_kept_token_goes_when_the_old_token_ends(
    tmp_path: Path, action: Action
) -> None:
    custody, spec = _rotated(tmp_path, SinkSpec("file", path=str(tmp_path / "t")))
    side = previous_path(spec)
    assert side is not None and side.exists()
    change = _change(action)
    if action == "expire_old":
        custody.expired_old(change)
    elif action == "delete":
        custody.deleted(change)
    else:
        asyncio.run(custody.deliver(custody.before_mint(change), change, Token(NEW)))
    assert not side.exists()


def test_a_command_sink_has_no_previous_token_to_restore(tmp_path: Path) -> None:
    sink = SinkSpec("command", argv=("true",))
    custody = TokenCustody(_desired(tmp_path, sink), None, "")
    assert previous_path(sink) is None
    custody.before_rotation(_change("rotate"))  # nothing to read back: nothing kept
    problem = custody.restore_problem("main", "bot")
    assert problem is not None and "cannot be read back" in problem
    with pytest.raises(HlsyncError, match="cannot take the previous token back"):
        asyncio.run(custody.restore_previous(_change("cancel_rotation")))


def test_a_rotation_that_minted_nothing_keeps_no_copy(tmp_path: Path) -> None:
    custody, spec = _rotated(tmp_path, SinkSpec("file", path=str(tmp_path / "t")))
    rotate = _change("rotate")
    custody.before_rotation(rotate)
    custody.not_minted(custody.before_mint(rotate), rotate)
    side = previous_path(spec)
    assert side is not None and not side.exists()
    assert read_sink_token(spec) == NEW  # still the current token
