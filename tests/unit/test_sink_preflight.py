"""The sink preflight (issue 10, item 2): a sink is proven writable, or refused with a
located error naming it, before anything is minted (``sinks.disk``, ``Sink.prove``,
``routing.preflight``, ``custody.TokenCustody.before_mint``)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from hlsync.config.loader import load_config
from hlsync.core.model import SinkSpec
from hlsync.core.plan import Change, Plan
from hlsync.errors import HlsyncError
from hlsync.tokens.custody import TokenCustody
from hlsync.tokens.journal import Journal
from hlsync.tokens.sinks import disk
from hlsync.tokens.sinks.routing import preflight, prove_sink

TOKEN = "pit-11111111-2222-3333-4444-555555555555"


def _config(folder: Path, sink: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "hlsync.yaml").write_text(
        "version: 1\n"
        "locations:\n"
        "  main:\n"
        "    id: loc1\n"
        "    integrations:\n"
        "      bot:\n"
        "        scopes: [contacts.readonly]\n"
        f"        token: {{sink: {sink}}}\n"
    )
    return folder


def _create(location: str = "main", name: str = "bot") -> Change:
    return Change(
        address=f"{location}.integration[{name!r}]",
        action="create",
        kind="integration",
        location=location,
        location_id="loc1",
        key=name,
        desired={"name": name, "description": "", "scopes": ["contacts.readonly"]},
    )


def _refusal(folder: Path, sink: str) -> str:
    # --allow-path /etc gets past containment (config.containment): the preflight
    # still refuses a system path, whoever allowed it
    desired = load_config(str(_config(folder, sink)), allow=["/etc"])
    plan = Plan("0", "d" * 64, "sandbox", (), (_create(),))
    with pytest.raises(HlsyncError) as caught:
        preflight(plan, desired)
    return str(caught.value)


def _file(path: Path, base: Path) -> str | None:
    return prove_sink(SinkSpec("file", path=str(path)), base)


def _env(path: Path, base: Path) -> str | None:
    return prove_sink(SinkSpec("env_file", path=str(path), key="KEY"), base)


def test_a_system_file_is_refused_with_a_located_error_naming_the_sink(
    tmp_path: Path,
) -> None:
    config = tmp_path / "cfg"
    assert _refusal(config, "{file: /etc/passwd}") == (
        f"{config / 'hlsync.yaml'}:8:17: main.integration['bot']: its token sink "
        "cannot be used: /etc/passwd is a system path (under /etc)\n"
        "  hint: fix the sink before applying: nothing was minted"
    )


def test_a_symlink_out_to_a_system_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    config.mkdir()
    link = config / "bot.token"
    link.symlink_to("/etc/passwd")
    assert _file(link, config) == (
        f"{link} (a link to /etc/passwd) is a system path (under /etc)"
    )
    # the config resolves the link when it loads: the refusal names the target
    assert "/etc/passwd is a system path (under /etc)" in _refusal(
        config, "{file: bot.token}"
    )
    (config / "app.env").symlink_to("/etc/hostname")
    assert "/etc/hostname is a system path (under /etc)" in _refusal(
        config, "{env_file: app.env, key: BOT}"
    )


def test_devices_directories_and_loops_are_refused(tmp_path: Path) -> None:
    assert _file(Path("/dev/null"), tmp_path) == (
        "/dev/null is a system path (under /dev)"
    )
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert _file(fifo, tmp_path) == (
        f"{fifo} is not a regular file (a device, a pipe or a socket)"
    )
    assert _env(tmp_path, tmp_path) == f"{tmp_path} is a directory"
    one, two = tmp_path / "one", tmp_path / "two"
    one.symlink_to(two)
    two.symlink_to(one)
    assert _file(one, tmp_path) == f"{one} is a symlink loop"


def test_a_system_folder_holding_the_config_is_not_refused(tmp_path: Path) -> None:
    # the rule is "outside the config folder AND under a system root"
    assert disk.path_refusal(Path("/etc/hlsync/x.token"), Path("/etc/hlsync")) is None
    assert disk.path_refusal(Path("/etc/x.token"), Path("/etc/hlsync")) == (
        "/etc/x.token is a system path (under /etc)"
    )


def test_an_existing_file_hlsync_did_not_write_is_not_overwritten(
    tmp_path: Path,
) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n")
    found = _file(key, tmp_path)
    assert found == (
        f"{key} is not a token file hlsync wrote (one line of letters, digits and "
        "-._~+/=): it is not overwritten"
    )
    assert "BEGIN" not in found
    creds = tmp_path / "git-credentials"
    creds.write_text("https://me:secret@example.com\n")
    assert "is not a token file hlsync wrote" in str(_file(creds, tmp_path))
    big = tmp_path / "big.token"
    big.write_text("a" * (disk.TOKEN_FILE_MAX + 1))
    assert "is not a token file hlsync wrote" in str(_file(big, tmp_path))
    for fine in ("", TOKEN, TOKEN + "\n", "eyJh.eyJz.c2ln\r\n"):
        held = tmp_path / "held.token"
        held.write_text(fine, newline="")
        assert _file(held, tmp_path) is None, fine
    assert key.read_text().startswith("-----BEGIN")  # untouched


def test_an_env_file_must_be_a_dotenv_file(tmp_path: Path) -> None:
    env = tmp_path / "app.env"
    env.write_text("# app\n\nexport A=1\n  B = 2\nC=\n")
    assert _env(env, tmp_path) is None
    script = tmp_path / "bashrc"
    script.write_text("A=1\nif [ -n secret-value ]; then\n  B=2\nfi\n")
    found = _env(script, tmp_path)
    assert found == (
        f"{script} is not a dotenv file (line 2 is neither KEY=value nor a comment): "
        "it is not overwritten"
    )
    binary = tmp_path / "blob.env"
    binary.write_bytes(b"A=\xff\n")
    assert "is not a dotenv file (not UTF-8 text)" in str(_env(binary, tmp_path))


def test_files_and_folders_of_another_user_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "cfg"
    config.mkdir()
    mine = config / "bot.token"
    mine.write_text(TOKEN + "\n")
    owner = mine.stat().st_uid
    assert _file(mine, config) is None
    monkeypatch.setattr(os, "geteuid", lambda: owner + 4242)
    assert _file(mine, config) == f"{mine} is owned by another user (uid {owner})"
    elsewhere = tmp_path / "shared" / "bot.token"  # outside the config folder
    elsewhere.parent.mkdir()
    assert _file(elsewhere, config) == (
        f"{elsewhere} would be written in {elsewhere.parent}, owned by another user"
    )
    assert _file(config / "new" / "bot.token", config) is None  # inside: allowed


def test_the_folder_is_created_private_and_proven_without_a_token(
    tmp_path: Path,
) -> None:
    sink = tmp_path / "secrets" / "deep" / "bot.token"
    assert _file(sink, tmp_path) is None
    assert stat.S_IMODE(sink.parent.stat().st_mode) == 0o700
    assert list(sink.parent.iterdir()) == []  # the probe file is gone, no token


def test_an_unwritable_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(**kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    assert _file(tmp_path / "bot.token", tmp_path) == (
        f"the folder {tmp_path} is not writable (Permission denied)"
    )


def test_nothing_is_minted_unless_the_sink_was_proven_in_this_run(
    tmp_path: Path,
) -> None:
    config = _config(tmp_path / "cfg", "{file: secrets/bot.token}")
    desired = load_config(str(config))
    journal = Journal(config / "hlsync.tokens.journal.jsonl")
    custody = TokenCustody(desired, journal, "sha256:" + "b" * 64)
    (config / "secrets").write_text("")  # broken after the plan was made
    with pytest.raises(HlsyncError) as caught:
        custody.before_mint(_create())
    assert str(caught.value) == (
        f"main/bot: its token sink cannot be used: {config / 'secrets'} is not a "
        "directory; nothing was minted"
    )
    assert not journal.path.exists()  # no intent: nothing was asked for
    (config / "secrets").unlink()
    assert custody.before_mint(_create())  # proven now: the intent is journaled
    assert (config / "secrets").is_dir()
