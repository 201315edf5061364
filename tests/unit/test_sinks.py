"""The token file sink: 0600 files in a 0700 folder, written atomically."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from hlsync.errors import HlsyncError
from hlsync.integrations import Token
from hlsync.plan import Change
from hlsync.sinks import TokenFileSink, write_secret

SECRET = "pit-11111111-2222-3333-4444-555555555555"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _change(location: str | None, name: str) -> Change:
    return Change(
        address=f"{location or 'agency'}.integration[{name!r}]",
        action="create",
        kind="integration",
        location=location,
        location_id=None if location is None else "loc1",
        key=name,
        desired={"name": name, "description": "", "scopes": ["contacts.readonly"]},
    )


def test_deliver_writes_one_private_file_per_integration(tmp_path: Path) -> None:
    sink = TokenFileSink(tmp_path / ".hlsync" / "tokens")
    asyncio.run(sink.deliver(_change("main", "seed-bot"), Token(SECRET)))
    asyncio.run(sink.deliver(_change(None, "reporting"), Token(SECRET + "x")))
    main = tmp_path / ".hlsync" / "tokens" / "main.seed-bot.token"
    agency = tmp_path / ".hlsync" / "tokens" / "agency.reporting.token"
    assert sink.written == [main, agency]
    assert main.read_text() == SECRET + "\n"
    assert agency.read_text() == SECRET + "x\n"
    assert _mode(main) == 0o600 and _mode(agency) == 0o600
    assert _mode(main.parent) == 0o700
    assert (main.parent / ".gitignore").read_text().splitlines()[-1] == "*"
    assert SECRET not in repr(sink)
    leftovers = [p.name for p in main.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_an_existing_file_is_replaced_and_made_private(tmp_path: Path) -> None:
    path = tmp_path / "tokens" / "main.bot.token"
    path.parent.mkdir(mode=0o755)
    path.write_text("old\n")
    path.chmod(0o644)
    write_secret(path, SECRET)
    assert path.read_text() == SECRET + "\n"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700


def test_a_failed_write_says_the_token_was_not_stored_without_showing_it(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "tokens"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(HlsyncError) as caught:
        write_secret(blocker / "main.bot.token", SECRET)
    assert "cannot create the token directory" in str(caught.value)
    assert SECRET not in str(caught.value)

    folder = tmp_path / "locked"
    folder.mkdir()
    target = folder / "main.bot.token"
    target.mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(HlsyncError) as caught:
        write_secret(target, SECRET)
    assert "minted but not stored" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []
