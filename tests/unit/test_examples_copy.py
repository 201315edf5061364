"""tests/examples_copy.py: test copies of examples/ hold the committed files only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import examples_copy
from tests.examples_copy import copy_example, example_files, tracked_files

STATE = (
    ".hlsync/sandbox.sqlite3",
    ".hlsync/tokens/main.bot.token",
    "hlsync.journal.jsonl",
    "tokens/bot.token.previous",
    "secrets/app.env",
)


def _example(folder: Path) -> Path:
    """An example folder with two committed-looking files and a run's local state."""
    (folder / "contacts").mkdir(parents=True)
    (folder / "hlsync.yaml").write_text("version: 1\n")
    (folder / "contacts" / "people.csv").write_text("email\n")
    for name in STATE:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("state\n")
    return folder


def test_in_a_git_checkout_only_tracked_files_count(tmp_path: Path) -> None:
    folder = _example(tmp_path / "repo" / "examples" / "demo")
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    subprocess.run(
        ["git", "-C", str(folder), "add", "hlsync.yaml", "contacts/people.csv"],
        check=True,
    )
    assert tracked_files(folder) == [
        folder / "contacts" / "people.csv",
        folder / "hlsync.yaml",
    ]
    (folder / "hlsync.yaml").unlink()  # tracked but gone: nothing to copy
    assert tracked_files(folder) == [folder / "contacts" / "people.csv"]


def test_outside_a_checkout_local_state_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = tmp_path / "examples"
    folder = _example(examples / "demo")
    assert tracked_files(folder) is None  # not in a git checkout
    monkeypatch.setattr(examples_copy, "EXAMPLES", examples)
    assert example_files("demo") == [
        folder / "contacts" / "people.csv",
        folder / "hlsync.yaml",
    ]
    copy = copy_example("demo", tmp_path / "out", "copied")
    assert copy == tmp_path / "out" / "copied"
    found = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*"))
    assert found == ["contacts", "contacts/people.csv", "hlsync.yaml"]


def test_the_quickstart_copy_is_the_committed_example(tmp_path: Path) -> None:
    copy = copy_example("quickstart", tmp_path)
    assert [p.name for p in copy.iterdir()] == ["hlsync.yaml"]
    source = examples_copy.EXAMPLES / "quickstart" / "hlsync.yaml"
    assert (copy / "hlsync.yaml").read_bytes() == source.read_bytes()
