"""The token file sink: 0600 files in a 0700 folder, written atomically."""

from __future__ import annotations

import asyncio
import stat
import sys
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
from hlsync.core.plan import Change, Plan
from hlsync.errors import HlsyncError
from hlsync.targets.drivers import Token
from hlsync.tokens.custody import TokenCustody
from hlsync.tokens.journal import Journal
from hlsync.tokens.sinks import command
from hlsync.tokens.sinks.command import run_command_sink
from hlsync.tokens.sinks.env_file import write_env_entry
from hlsync.tokens.sinks.file import TokenFileSink, write_secret
from hlsync.tokens.sinks.registry import sink_of
from hlsync.tokens.sinks.routing import (
    describe_sink,
    preflight,
    prove_sink,
    read_sink_token,
    sink_for,
)

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


# Configurable sinks (issue 5): env_file, command, configured file; preflight; custody.

TOKEN = "pit-99999999-8888-7777-6666-555555555555"


def _desired(root: Path, sink: SinkSpec | None, name: str = "bot") -> DesiredState:
    spec = LocationSpec(
        name="main",
        id="loc1",
        integrations=(Integration(name, token=TokenPolicy(sink=sink)),),
    )
    return DesiredState(Target(), AgencySpec(), (spec,), "d" * 64, str(root))


def _python(code: str, *args: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code, *args)


def test_env_file_entry_is_replaced_in_place_and_nothing_else_moves(
    tmp_path: Path,
) -> None:
    env = tmp_path / "app.env"
    before = (
        b"# secrets\r\nOTHER=1\r\nexport HL_TOKEN=old\r\n\r\nHL_TOKEN_2=x\r\n"
        b"  HL_TOKEN = older\r\nLAST=z"
    )
    env.write_bytes(before)
    env.chmod(0o644)
    write_env_entry(env, "HL_TOKEN", TOKEN)
    after = env.read_bytes()
    assert after == before.replace(b"old\r", TOKEN.encode() + b"\r", 1).replace(
        b"  HL_TOKEN = older", b"HL_TOKEN=" + TOKEN.encode()
    )
    assert after.startswith(
        b"# secrets\r\nOTHER=1\r\nexport HL_TOKEN=" + TOKEN.encode()
    )
    assert _mode(env) == 0o600
    spec = SinkSpec("env_file", path=str(env), key="HL_TOKEN")
    assert read_sink_token(spec) == TOKEN
    assert read_sink_token(SinkSpec("env_file", path=str(env), key="NOPE")) is None


def test_env_file_and_entry_are_created_when_missing(tmp_path: Path) -> None:
    env = tmp_path / "new" / ".env"
    write_env_entry(env, "HL_TOKEN", TOKEN)
    assert env.read_text() == f"HL_TOKEN={TOKEN}\n"
    env.write_text("A=1")  # no final newline
    write_env_entry(env, "HL_TOKEN", TOKEN)
    assert env.read_text() == f"A=1\nHL_TOKEN={TOKEN}\n"
    assert [p.name for p in env.parent.iterdir()] == [".env"]


def test_command_sink_gets_the_token_on_stdin_only(tmp_path: Path) -> None:
    out = tmp_path / "got.txt"
    code = (
        "import os, sys; open(sys.argv[1], 'w').write("
        "sys.stdin.read() + '|' + os.environ['HLSYNC_INTEGRATION'] + '|' "
        "+ ' '.join(sys.argv))"
    )
    asyncio.run(run_command_sink(_python(code, str(out)), TOKEN, "main/bot"))
    stdin, integration, argv = out.read_text().split("|")
    assert stdin == TOKEN + "\n" and integration == "main/bot"
    assert TOKEN not in argv


def test_a_failing_command_sink_shows_its_stderr_without_the_token() -> None:
    code = (
        "import sys; t = sys.stdin.read().strip(); "
        "sys.stderr.write('vault refused ' + t); sys.exit(3)"
    )
    with pytest.raises(HlsyncError) as caught:
        asyncio.run(run_command_sink(_python(code), TOKEN, "main/bot"))
    text = str(caught.value)
    assert "exited with status 3: vault refused ***" in text
    assert TOKEN not in text


def test_a_command_sink_that_hangs_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "COMMAND_TIMEOUT", 0.3)
    with pytest.raises(HlsyncError, match="did not finish"):
        asyncio.run(
            run_command_sink(_python("import time; time.sleep(5)"), TOKEN, "main/bot")
        )


def test_sink_problems_found_before_minting(tmp_path: Path) -> None:
    def problem(spec: SinkSpec) -> str | None:
        return prove_sink(spec, tmp_path)

    assert problem(SinkSpec("command", argv=("no-such-program-hlsync",))) == (
        "the command 'no-such-program-hlsync' is not found on PATH"
    )
    script = tmp_path / "deliver.sh"
    assert "does not exist" in str(problem(SinkSpec("command", argv=(str(script),))))
    script.write_text("#!/bin/sh\ncat >/dev/null\n")
    script.chmod(0o644)
    assert "is not executable" in str(problem(SinkSpec("command", argv=(str(script),))))
    script.chmod(0o755)
    assert problem(SinkSpec("command", argv=(str(script),))) is None
    assert problem(SinkSpec("file", path=str(tmp_path))) == f"{tmp_path} is a directory"
    blocker = tmp_path / "plain-file"
    blocker.write_text("")
    found = problem(SinkSpec("file", path=str(blocker / "a" / "t.token")))
    assert found == (f"the folder {blocker / 'a'} cannot be created (Not a directory)")
    assert problem(SinkSpec("file", path=str(tmp_path / "x" / "y.token"))) is None
    assert _mode(tmp_path / "x") == 0o700  # made by the preflight, left empty
    assert list((tmp_path / "x").iterdir()) == []


def test_preflight_names_each_integration_whose_sink_cannot_work(
    tmp_path: Path,
) -> None:
    desired = _desired(tmp_path, SinkSpec("command", argv=("no-such-program-hlsync",)))
    change = _change("main", "bot")
    plan = Plan("0", "d" * 64, "sandbox", (), (change,))
    with pytest.raises(HlsyncError) as caught:
        preflight(plan, desired)
    assert str(caught.value).startswith(
        "main.integration['bot']: its token sink cannot be used: the command"
    )
    preflight(Plan("0", "d" * 64, "sandbox", (), ()), desired)


def test_custody_journals_and_stores_a_configured_file(tmp_path: Path) -> None:
    target = tmp_path / "secrets" / "bot.token"
    desired = _desired(tmp_path, SinkSpec("file", path=str(target)))
    journal = Journal(tmp_path / ".hlsync" / "journal.jsonl")
    custody = TokenCustody(desired, journal, "sha256:" + "b" * 64)
    change = _change("main", "bot")
    note = asyncio.run(
        custody.deliver(custody.before_mint(change), change, Token(TOKEN))
    )
    assert note == "token stored in file secrets/bot.token"
    assert target.read_text() == TOKEN + "\n"
    assert _mode(target) == 0o600 and _mode(target.parent) == 0o700
    assert not (target.parent / ".gitignore").exists()
    assert custody.stored == [target]
    assert journal.history().generations == {"main/bot": 0}
    assert TOKEN not in journal.path.read_text()
    assert TOKEN not in repr(custody)


def test_custody_records_a_failed_command_and_raises_without_the_token(
    tmp_path: Path,
) -> None:
    code = "import sys; sys.stderr.write(sys.stdin.read()); sys.exit(1)"
    desired = _desired(tmp_path, SinkSpec("command", argv=_python(code)))
    journal = Journal(tmp_path / ".hlsync" / "journal.jsonl")
    custody = TokenCustody(desired, journal, "sha256:" + "b" * 64)
    change = _change("main", "bot")
    ticket = custody.before_mint(change)
    with pytest.raises(HlsyncError) as caught:
        asyncio.run(custody.deliver(ticket, change, Token(TOKEN)))
    assert "exited with status 1: ***" in str(caught.value)
    (problem,) = journal.history().problems["main/bot"]
    assert "was not stored in command" in problem
    assert TOKEN not in journal.path.read_text() and TOKEN not in problem


def test_the_default_sink_and_reading_it_back(tmp_path: Path) -> None:
    desired = _desired(tmp_path / "hlsync.yaml", None)
    (tmp_path / "hlsync.yaml").write_text("version: 1\n")
    spec = sink_for(desired, "main", "bot")
    assert spec == SinkSpec(
        "file", path=str(tmp_path / ".hlsync/tokens/main.bot.token")
    )
    assert describe_sink(spec, tmp_path) == "file .hlsync/tokens/main.bot.token"
    assert read_sink_token(spec) is None
    write_secret(Path(spec.path or ""), TOKEN)
    assert read_sink_token(spec) == TOKEN
    with pytest.raises(HlsyncError, match="cannot be read back"):
        read_sink_token(SinkSpec("command", argv=("true",)))
    assert describe_sink(SinkSpec("command", argv=("vault", "put x")), tmp_path) == (
        "command vault 'put x'"
    )


def test_a_stored_token_stays_ok_when_the_journal_cannot_record_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desired = _desired(tmp_path, SinkSpec("file", path=str(tmp_path / "t" / "bot")))
    journal = Journal(tmp_path / ".hlsync" / "journal.jsonl")
    custody = TokenCustody(desired, journal, "sha256:" + "b" * 64)
    change = _change("main", "bot")
    ticket = custody.before_mint(change)

    def full(*args: object) -> None:
        raise HlsyncError("journal.jsonl: cannot write the token journal (No space)")

    monkeypatch.setattr(journal, "delivered", full)
    note = asyncio.run(custody.deliver(ticket, change, Token(TOKEN)))
    assert note.startswith("token stored in file t/bot, but the journal could not")
    assert (tmp_path / "t" / "bot").read_text() == TOKEN + "\n"
    assert "never recorded" in journal.history().problems["main/bot"][0]


def test_a_token_held_elsewhere_is_never_minted_read_or_stored(
    tmp_path: Path,
) -> None:
    """``held_by``: an adopted integration's token lives with whoever uses it, so a
    plan that would mint one (a create, a rotation) is refused by the preflight."""
    spec = SinkSpec("held_by", holder="Zapier (CRM sync)")
    sink = sink_of(spec)
    assert not sink.readable and sink.claim() is None
    assert sink.label(tmp_path) == "held_by Zapier (CRM sync)"
    assert "held by Zapier (CRM sync), outside hlsync" in str(
        prove_sink(spec, tmp_path)
    )
    with pytest.raises(HlsyncError, match="cannot be used for seeding"):
        read_sink_token(spec)
    with pytest.raises(HlsyncError, match="give the integration a file"):
        asyncio.run(sink.store(SECRET, "main/zap", base=tmp_path))
    plan = Plan("0", "d" * 64, "sandbox", (), (_change("main", "bot"),))
    with pytest.raises(HlsyncError, match="its token sink cannot be used: the token"):
        preflight(plan, _desired(tmp_path, spec))
    assert list(tmp_path.iterdir()) == []
