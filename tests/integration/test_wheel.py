"""The built wheel carries its schemas and scope catalog and runs outside the checkout.

Uses the wheel built and installed into a private folder by ``installed_wheel``
(tests/wheel_fixtures.py) and runs `python -m hlsync` from a directory outside the
repository with only that folder (plus the current environment's third-party packages)
on the path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSYNC_")}
    # the installed copy first; the checkout itself must not be importable from here
    env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-P", "-m", "hlsync", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_installed_package_finds_catalog_and_schemas(
    installed_wheel: Path, tmp_path: Path
) -> None:
    probe = (
        "import hlsync, hlsync.resources as r, hlsync.core.catalog as c;"
        "print(hlsync.__file__); print(r.schema_path('config.schema.json'));"
        "print(len(c.load_catalog()))"
    )
    env = {"PYTHONPATH": str(installed_wheel), "PATH": os.environ.get("PATH", "")}
    out = subprocess.run(
        [sys.executable, "-P", "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0].startswith(str(installed_wheel))
    assert out[1].startswith(str(installed_wheel))
    assert out[2] == "91"


def test_installed_cli_help_and_scopes(installed_wheel: Path, tmp_path: Path) -> None:
    result = _run(installed_wheel, tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "validate" in result.stdout or "scopes" in result.stdout
    result = _run(installed_wheel, tmp_path, "scopes", "contacts.write")
    assert result.returncode == 0, result.stderr
    assert "POST /contacts/" in result.stdout


@pytest.mark.parametrize("example", ["quickstart", "agency"])
def test_installed_cli_validates_the_examples(
    installed_wheel: Path, tmp_path: Path, example: str
) -> None:
    result = _run(
        installed_wheel, tmp_path, "validate", str(REPO / "examples" / example)
    )
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_installed_init_writes_the_kit_and_points_at_the_installed_schema(
    installed_wheel: Path, tmp_path: Path
) -> None:
    result = _run(
        installed_wheel, tmp_path, "init", "--location=main=x1", "--ci=gitlab"
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".gitlab-ci.yml").read_text().startswith("# hlsync in GitLab")
    modeline = (tmp_path / "hlsync.yaml").read_text().splitlines()[0]
    schema = (tmp_path / modeline.split("$schema=")[1]).resolve()
    assert (
        schema
        == (installed_wheel / "hlsync" / "schemas" / "config.schema.json").resolve()
    )
    result = _run(installed_wheel, tmp_path, "validate")
    assert result.returncode == 0, result.stderr
