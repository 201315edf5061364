"""The pytest plugin: registered by the package's entry point, opt-in by fixture name,
and light — a project whose tests ask for no emulator fixture loads none of it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO

# What the emulator needs and a project that does not use it must not pay for.
HEAVY = ("hlsync.emulator", "hlsync.testing.emulator", "starlette", "uvicorn", "httpx")

CHECK = f"""
import sys
HEAVY = {HEAVY!r}

def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
"""


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HLSYNC_")}


def test_importing_the_plugin_loads_nothing_heavy(tmp_path: Path) -> None:
    probe = CHECK + "import hlsync.testing, hlsync.testing.plugin\nprint(loaded())\n"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=_environ(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"


def test_the_plugin_is_registered_by_the_entry_point() -> None:
    from importlib.metadata import entry_points

    (found,) = [ep for ep in entry_points(group="pytest11") if ep.name == "hlsync"]
    assert found.value == "hlsync.testing.plugin"
    assert 'hlsync = "hlsync.testing.plugin"' in (REPO / "pyproject.toml").read_text()


@pytest.mark.integration
def test_only_a_test_that_asks_for_the_fixture_starts_the_emulator(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_project.py").write_text(
        CHECK
        + textwrap.dedent(
            """
            def test_a_without_the_fixture():
                assert loaded() == []

            def test_b_with_the_fixture(hlsync_emulator):
                with hlsync_emulator.client() as client:
                    answer = client.get(f"/locations/{hlsync_emulator.location.id}")
                assert answer.status_code == 200
                assert "starlette" in loaded()
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
        ],
        cwd=tmp_path,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
