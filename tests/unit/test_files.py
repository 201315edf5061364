"""``files.atomic_write``: the one atomic writer, and the modules that write with it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hlsync import files
from hlsync.commands import _common
from hlsync.core.plan import Plan
from hlsync.live import ledger, manual
from hlsync.tokens import custody, sinks
from hlsync.tokens.sinks import disk, env_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_it_replaces_a_file_with_the_mode_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old\n")
    path.chmod(0o644)
    files.atomic_write(path, "new\r\nline\n", 0o600)
    assert path.read_bytes() == b"new\r\nline\n"  # newlines as given
    assert _mode(path) == 0o600
    files.atomic_write(path, "public\n", 0o644)
    assert _mode(path) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_parents_are_made_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "out.txt"
    with pytest.raises(FileNotFoundError):
        files.atomic_write(path, "x", 0o644)
    files.atomic_write(path, "x", 0o644, make_parents=True)
    assert path.read_text() == "x"


def test_a_failed_replace_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    blocker = tmp_path / "dir"
    blocker.mkdir()
    (blocker / "keep").write_text("kept")
    with pytest.raises(OSError):
        files.atomic_write(blocker, "x", 0o644)  # os.replace onto a directory fails
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]
    assert (blocker / "keep").read_text() == "kept"


def test_every_writer_goes_through_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger, runbook, saved-plan and sink writers each call ``atomic_write``."""
    calls: list[tuple[str, int]] = []

    def spy(path: Path, data: str, mode: int, *, make_parents: bool = False) -> None:
        calls.append((path.name, mode))

    for module in (ledger, manual, _common, disk):
        monkeypatch.setattr(module, "atomic_write", spy)
    ledger.save_ledger(tmp_path / "hlsync.ledger.json", ledger.Ledger())
    manual.write_runbook(Plan("0", "d" * 64, "sandbox", (), ()), tmp_path)
    _common.write_text_atomic(tmp_path / "plan.json", "{}")
    env_file.write_env_entry(tmp_path / "app.env", "KEY", "value")
    assert calls == [
        ("hlsync.ledger.json", 0o644),
        ("runbook.txt", 0o644),
        ("runbook.md", 0o644),
        ("plan.json", 0o644),
        ("app.env", 0o600),
    ]
    assert list(tmp_path.iterdir()) == []


def test_token_custody_lives_in_its_own_module() -> None:
    assert custody.TokenCustody.__module__ == "hlsync.tokens.custody"
    assert not hasattr(sinks, "TokenCustody")
    assert not hasattr(custody.TokenCustody, "sink_label")  # it had no caller


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    secrets = tmp_path / "mounted"
    secrets.mkdir()
    target = secrets / "app.env"
    target.write_text("OLD=1\n")
    link = tmp_path / "config" / "app.env"
    link.parent.mkdir()
    link.symlink_to(Path("..") / "mounted" / "app.env")  # relative, as mounts often are
    files.atomic_write(link, "NEW=2\n", 0o600)
    assert link.is_symlink()
    assert target.read_text() == "NEW=2\n"
    assert _mode(target) == 0o600
    assert [p.name for p in secrets.iterdir()] == ["app.env"]  # no temporary left
    assert [p.name for p in link.parent.iterdir()] == ["app.env"]


def test_a_dangling_symlink_gets_its_target_created(tmp_path: Path) -> None:
    link = tmp_path / "ledger.json"
    link.symlink_to(tmp_path / "real.json")
    files.atomic_write(link, "{}", 0o644)
    assert link.is_symlink()
    assert (tmp_path / "real.json").read_text() == "{}"


def test_a_symlink_loop_is_refused_and_left_alone(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.symlink_to(two)
    two.symlink_to(one)
    with pytest.raises(OSError, match="symbolic links"):
        files.atomic_write(one, "x", 0o600)
    assert one.is_symlink() and two.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]


def test_the_folder_is_fsynced_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[tuple[Path, bool]] = []
    real_fsync_dir = files.fsync_dir
    target = tmp_path / "real" / "out.txt"
    target.parent.mkdir()
    link = tmp_path / "out.txt"
    link.symlink_to(target)

    def spy(folder: Path) -> None:
        synced.append((folder, target.exists()))  # after the rename
        real_fsync_dir(folder)

    monkeypatch.setattr(files, "fsync_dir", spy)
    files.atomic_write(link, "x", 0o644)
    assert synced == [(target.parent, True)]  # the folder the rename happened in
