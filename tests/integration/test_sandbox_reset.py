"""``hlsync sandbox reset``: everything sandbox runs left is removed, or listed as kept."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from hlsync.cli import main
from hlsync.targets.sandbox_reset import reset, shown
from tests.examples_copy import copy_example

pytestmark = pytest.mark.integration


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_reset_removes_what_the_quickstart_runs_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = copy_example("quickstart", tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["apply", "quickstart", "--auto-approve"]) == 0
    rotate = ["token", "rotate", "main/seed-bot", "quickstart", "--auto-approve"]
    assert main(rotate) == 0
    capsys.readouterr()
    assert _files(config) == [
        ".hlsync",
        ".hlsync/locks",
        ".hlsync/locks/main.lock",
        ".hlsync/sandbox.sqlite3",
        ".hlsync/tokens",
        ".hlsync/tokens/.gitignore",
        ".hlsync/tokens/main.seed-bot.token",
        ".hlsync/tokens/main.seed-bot.token.previous",
        "hlsync.journal.jsonl",
        "hlsync.yaml",
    ]
    journal = config / "hlsync.journal.jsonl"
    records = len(journal.read_text().splitlines())
    assert records == 4  # intent and delivered, for the create and the rotation

    assert main(["sandbox", "reset", "quickstart"]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == (
        "sandbox reset: removed quickstart/.hlsync/sandbox.sqlite3\n"
        "sandbox reset: removed quickstart/.hlsync/tokens/main.seed-bot.token\n"
        "sandbox reset: removed "
        "quickstart/.hlsync/tokens/main.seed-bot.token.previous\n"
        "sandbox reset: removed 4 token journal records from "
        "quickstart/hlsync.journal.jsonl\n",
        "",
    )
    assert _files(config) == ["hlsync.yaml"]  # as committed
    assert main(["sandbox", "reset", "quickstart"]) == 0
    assert capsys.readouterr().out == (
        "no sandbox at quickstart/.hlsync/sandbox.sqlite3; nothing to reset\n"
    )
    assert main(["apply", "quickstart", "--auto-approve"]) == 0  # starts over
    assert "Apply: 10 ok, 0 failed" in capsys.readouterr().out


def test_reset_lists_what_it_keeps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hlsync.yaml").write_text(
        "version: 1\n"
        "locations:\n"
        "  main:\n"
        "    id: locResetKeeps0000001\n"
        "    token: {env: MAIN_TOKEN}\n"
        "    integrations:\n"
        "      app:\n"
        "        scopes: [contacts.readonly]\n"
        "        token: {sink: {env_file: app.env, key: APP_TOKEN}}\n"
        "      vault:\n"
        "        scopes: [contacts.readonly]\n"
        "        token: {sink: {command: [cat]}}\n"
        "      linked:\n"
        "        scopes: [contacts.readonly]\n"
        "        token: {sink: {file: linked.token}}\n"
    )
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "real.token").write_text("minted\n")
    (tmp_path / "linked.token").symlink_to(Path("secrets") / "real.token")
    (tmp_path / "app.env").write_text("OTHER=1\nAPP_TOKEN=minted\n")
    (tmp_path / "app.env.APP_TOKEN.previous").write_text("older\n")
    tokens = tmp_path / ".hlsync" / "tokens"
    tokens.mkdir(parents=True)
    (tokens / ".gitignore").write_text("*\n")
    (tokens / "gone.bot.token").write_text("left by an integration since removed\n")
    mine = {"event": "baseline", "integration": "main/app", "generation": 0}
    theirs = {"event": "baseline", "integration": "gone/bot", "generation": 0}
    journal = tmp_path / "hlsync.journal.jsonl"
    journal.write_text(f"{json.dumps(mine)}\n{json.dumps(theirs)}\n{{torn\n")
    monkeypatch.chdir(tmp_path)

    assert main(["sandbox", "reset"]) == 0
    assert capsys.readouterr().out == (
        "sandbox reset: removed app.env.APP_TOKEN.previous\n"
        "sandbox reset: removed secrets/real.token\n"  # through linked.token
        "sandbox reset: removed 1 token journal record from hlsync.journal.jsonl\n"
        "sandbox reset: kept app.env (APP_TOKEN): an env-file sink; hlsync does not "
        "edit it here (remove the entry by hand if nothing else uses it)\n"
        "sandbox reset: kept what the command sink 'cat' received: hlsync cannot take "
        "it back\n"
        "sandbox reset: kept .hlsync/tokens/gone.bot.token: not the token file of an "
        "integration this config declares\n"
    )
    assert journal.read_text() == f"{json.dumps(theirs)}\n{{torn\n"
    assert (tmp_path / "app.env").read_text() == "OTHER=1\nAPP_TOKEN=minted\n"
    assert _files(tmp_path) == [
        ".hlsync",
        ".hlsync/tokens",
        ".hlsync/tokens/.gitignore",
        ".hlsync/tokens/gone.bot.token",
        "app.env",
        "hlsync.journal.jsonl",
        "hlsync.yaml",
        "linked.token",  # the link stays, for the next run to write through
        "secrets",
    ]
    assert (tmp_path / "linked.token").is_symlink()


@pytest.mark.parametrize(
    ("config", "why"),
    [
        (
            "version: 1\ntarget: {url: 'http://127.0.0.1:9'}\n",
            "the config's target is url, not the sandbox",
        ),
        (
            "version: 1\nlocations: [not, a, mapping]\n",
            "the config does not load, so which are the sandbox's is not known",
        ),
    ],
)
def test_reset_keeps_tokens_that_may_be_real(
    config: str,
    why: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "hlsync.yaml").write_text(config)
    token = tmp_path / ".hlsync" / "tokens" / "main.bot.token"
    token.parent.mkdir(parents=True)
    token.write_text("real\n")
    (tmp_path / "hlsync.journal.jsonl").write_text('{"integration": "main/bot"}\n')
    monkeypatch.chdir(tmp_path)
    assert main(["sandbox", "reset", "hlsync.yaml"]) == 0
    assert capsys.readouterr().out == (
        "no sandbox at .hlsync/sandbox.sqlite3; nothing to reset\n"
        f"sandbox reset: kept .hlsync/tokens: {why}\n"
        f"sandbox reset: kept hlsync.journal.jsonl: {why}\n"
    )
    assert token.read_text() == "real\n"


def test_reset_keeps_the_lock_of_a_running_apply(tmp_path: Path) -> None:
    config = copy_example("quickstart", tmp_path)
    locks = config / ".hlsync" / "locks"
    locks.mkdir(parents=True)
    (locks / "main.lock").write_text("")
    (locks / "agency.lock").write_text("")
    held = os.open(locks / "main.lock", os.O_RDWR)
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running apply does
        report = reset(config)
    finally:
        os.close(held)
    assert report.kept == (f"{shown(locks / 'main.lock')}: held by a running hlsync",)
    assert sorted(p.name for p in locks.iterdir()) == ["main.lock"]
    reset(config)  # released now: the lock file and its folder go
    assert not locks.exists()
