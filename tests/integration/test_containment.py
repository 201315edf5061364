"""A secret behind a symbolic link out of the config folder reaches no output (issue 10).

A random secret is planted in files outside the config folder; the config reaches them
only through symbolic links inside it (a seed file, a file sink, an env-file sink).
The installed ``hlsync`` runs ``validate``, ``plan`` (sandbox) and ``plan --out FILE``
in subprocesses: each refuses the links, and the secret is in no stdout, stderr or
plan file. A control run with ``--allow-path`` lets hlsync read the seed file, whose
unknown CSV column is then quoted: the same search finds the secret there, so it would
find a leak.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.integration.e2e_support import run_hlsync

pytestmark = pytest.mark.integration

CONFIG = """\
version: 1
locations:
  main:
    id: loc1
    contacts_from: people.csv
    integrations:
      bot:
        scopes: [contacts.readonly]
        token:
          sink: {file: bot.token}
      hook:
        scopes: [contacts.readonly]
        token:
          sink: {env_file: app.env, key: HOOK_TOKEN}
"""


def _planted(tmp_path: Path) -> tuple[Path, Path, str]:
    """The config folder, the folder outside it, and the secret planted there."""
    secret = "planted-" + secrets.token_hex(16)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "people.csv").write_text(f"{secret},email\nAnn,ann@example.com\n")
    (outside / "bot.token").write_text(secret + "\n")
    (outside / "app.env").write_text(f"HOOK_TOKEN={secret}\n")
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "hlsync.yaml").write_text(CONFIG)
    for name in ("people.csv", "bot.token", "app.env"):
        (config / name).symlink_to(Path("..") / "outside" / name)
    return config, outside, secret


def test_a_secret_behind_a_symlink_is_in_no_output(tmp_path: Path) -> None:
    config, outside, secret = _planted(tmp_path)
    plan_file = tmp_path / "plan.json"
    runs = {
        "validate": run_hlsync("validate", "cfg", cwd=tmp_path),
        "plan": run_hlsync("plan", "cfg", cwd=tmp_path),
        "plan --out": run_hlsync("plan", "cfg", "--out", str(plan_file), cwd=tmp_path),
        "plan --format json": run_hlsync(
            "plan", "cfg", "--format", "json", cwd=tmp_path
        ),
    }
    for name, done in runs.items():
        assert done.returncode == 1, name
        printed = done.stdout + done.stderr
        assert secret not in printed, name
        assert str(outside) not in printed, name  # where a refused link leads: unsaid
        assert "Traceback" not in printed, name
        assert done.stderr.splitlines()[:6:2] == [
            'cfg/hlsync.yaml:5:20: contacts file "people.csv" leads outside the '
            "config folder (through a symbolic link)",
            'cfg/hlsync.yaml:10:24: token sink file "bot.token" leads outside the '
            "config folder (through a symbolic link)",
            'cfg/hlsync.yaml:14:28: token sink env_file "app.env" leads outside the '
            "config folder (through a symbolic link)",
        ], name
    assert not plan_file.exists()
    written = sorted(p for p in tmp_path.rglob("*") if not p.is_dir())
    links = [config / name for name in ("app.env", "bot.token", "people.csv")]
    planted = [outside / name for name in ("app.env", "bot.token", "people.csv")]
    # no plan file, no sandbox, no token: only what the test made
    assert written == sorted([*links, config / "hlsync.yaml", *planted])

    # the control: allowed, the seed file is read and its unknown column quoted
    allowed = run_hlsync("validate", "cfg", "--allow-path", "outside", cwd=tmp_path)
    assert allowed.returncode == 1
    assert f'unknown column "{secret}"' in allowed.stderr
