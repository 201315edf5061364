"""The hlsync wheel, built from this checkout and installed into a private folder.

``installed_wheel`` (session) builds the wheel with pip and the declared backend (as
``pip install .`` does), checks that it carries the schemas and the scope catalog, and
installs it without dependencies into a folder of its own. Put that folder first on
``PYTHONPATH`` (and run Python with ``-P``) to run the installed copy, not the checkout.
Registered from ``tests/conftest.py`` with ``pytest_plugins``.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    wheels = work / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            # the backend pyproject names is a test dependency; an isolated build
            # (what `pip install -e .` in .ci/run does) would first install it again
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("hlsync-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "hlsync/schemas/config.schema.json" in names
    assert "hlsync/data/scopes.json" in names
    for template in ("github-workflow.yml", "gitlab-ci.yml", "pre-commit-config.yaml"):
        assert f"hlsync/scaffold/templates/{template}" in names
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return target
