"""examples/testing-your-client runs its own tests against the emulator through the
hlsync_emulator fixture of the *installed wheel*, not of this checkout.

The sample's committed files are copied outside the repository; pytest runs there with
the wheel's folder first on ``PYTHONPATH`` and ``-P`` (no current directory on the
path), so ``hlsync`` — and the pytest plugin its entry point names — comes from the
wheel. The environment's third-party packages (httpx, starlette…) serve both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.examples_copy import copy_example

pytestmark = pytest.mark.integration


def _environ(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HLSYNC_")}
    env["PYTHONPATH"] = str(site)
    return env


def test_the_sample_project_passes_with_the_installed_wheel(
    installed_wheel: Path, tmp_path: Path
) -> None:
    project = copy_example("testing-your-client", tmp_path)
    env = _environ(installed_wheel)
    probe = (
        "import importlib.metadata as m, hlsync.testing.plugin as p;"
        "(ep,) = [e for e in m.entry_points(group='pytest11') if e.name == 'hlsync'];"
        "print(p.__file__); print(ep.dist.locate_file(''))"
    )
    where = subprocess.run(
        [sys.executable, "-P", "-c", probe],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert all(line.startswith(str(installed_wheel)) for line in where), where
    result = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:cov",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "4 passed" in result.stdout
