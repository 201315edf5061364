"""An env-file sink that is a symlink into a mounted secrets folder, end to end on the
embedded sandbox through the installed ``hlsync`` script (issue 10, item 7): a create
and two rotations (later, then now) write the new token into the link's target; the link
stays a link and neither folder holds a stray file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.integration.e2e_support import run_hlsync

pytestmark = pytest.mark.integration

CONFIG = """\
version: 1
target: sandbox
locations:
  main:
    id: symLinkLocation000001
    integrations:
      bot:
        scopes: [contacts.readonly]
        token:
          generation: {generation}
          sink: {{env_file: app.env, key: BOT_TOKEN}}
"""


def _token(env: Path) -> str:
    lines = env.read_text().splitlines()
    assert lines[0] == "# mounted by the platform" and lines[1] == "OTHER=kept"
    (entry,) = [line for line in lines if line.startswith("BOT_TOKEN=")]
    return entry.partition("=")[2]


def test_a_symlinked_env_file_stays_a_link_across_rotations(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"  # a mounted secrets folder, outside the config
    secrets.mkdir(mode=0o700)
    target = secrets / "app.env"
    target.write_text("# mounted by the platform\nOTHER=kept\n")
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "hlsync.yaml").write_text(CONFIG.format(generation=0))
    link = config / "app.env"
    link.symlink_to(Path("..") / "secrets" / "app.env")

    allow = ("--allow-path", str(secrets))  # the mount, allowed by whoever runs it
    first_apply = run_hlsync("apply", ".", "--auto-approve", *allow, cwd=config)
    assert first_apply.returncode == 0, first_apply.stdout + first_apply.stderr
    first = _token(target)
    assert first.startswith("pit-")

    rotated = run_hlsync(
        "token", "rotate", "main/bot", ".", "--auto-approve", *allow, cwd=config
    )
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    second = _token(target)
    assert second not in (first, "")
    kept = secrets / "app.env.BOT_TOKEN.previous"  # for a cancellation, 0600
    assert sorted(p.name for p in secrets.iterdir()) == ["app.env", kept.name]
    assert kept.read_text().strip() == first

    (config / "hlsync.yaml").write_text(CONFIG.format(generation=1))
    now = run_hlsync("apply", ".", "--auto-approve", "--force", *allow, cwd=config)
    assert now.returncode == 0, now.stdout + now.stderr
    third = _token(target)
    assert third not in (first, second, "")

    assert link.is_symlink() and link.resolve() == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in secrets.iterdir()] == ["app.env"]  # no temporary left
    assert [p.name for p in config.iterdir() if p.name.startswith("app.env")] == [
        "app.env"
    ]
    for value in (first, second, third):
        assert value not in rotated.stdout + rotated.stderr + now.stdout + now.stderr
