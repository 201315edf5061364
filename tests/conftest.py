"""Shared fixtures: a hermetic environment and no traffic beyond the loopback."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.signals import interruptible_children

pytest_plugins = ["tests.emulator_fixtures", "tests.wheel_fixtures"]

# Property tests run the same examples on every machine (a CI failure reproduces
# locally), write no example database into the checkout, and are not timed: a loaded
# 2-core CI machine must not turn a slow example into a failure.
settings.register_profile("hlsync", derandomize=True, database=None, deadline=None)
settings.load_profile("hlsync")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def under_ci() -> bool:
    """True when ``CI=true`` (``.ci/run`` sets it)."""
    return os.environ.get("CI") == "true"


def require_shared(path: Path, reason: str, ci: bool) -> None:
    """Skip with ``reason`` when the file ``path`` (from ../shared) is missing; under CI
    fail instead: CI always has ../shared, so a skip there would hide a lost check."""
    if path.is_file():
        return
    if ci:
        pytest.fail(reason + " (required under CI=true)")
    pytest.skip(reason)


_PYCACHE = "_HLSYNC_TEST_PYCACHE"  # set by the controlling process only
_own_pycache = pytest.StashKey[str]()  # the directory this process made and removes


def pytest_configure(config: pytest.Config) -> None:
    """The ``hlsync`` subprocesses of the end-to-end tests can be interrupted
    (:func:`tests.signals.interruptible_children`) and share compiled bytecode.

    Where ``PYTHONDONTWRITEBYTECODE`` is set (as on this team's machines), every
    ``hlsync`` run would compile the whole package from source again (~0.1 s of CPU a
    run, hundreds of runs). The controlling process points every child at one bytecode
    directory outside the checkout (``PYTHONPYCACHEPREFIX``), removed at the end;
    the xdist workers and their subprocesses inherit it.
    """
    interruptible_children()
    if hasattr(config, "workerinput") or _PYCACHE in os.environ:
        return
    folder = tempfile.mkdtemp(prefix="hlsync-test-pycache-")
    config.stash[_own_pycache] = folder
    os.environ[_PYCACHE] = os.environ["PYTHONPYCACHEPREFIX"] = folder
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if config.getoption("numprocesses", None) and not config.option.collectonly:
        _fill_bytecode_cache(config)


def _fill_bytecode_cache(config: pytest.Config) -> None:
    """Compile once, before the xdist workers start, what each would compile alone.

    The workers start together on the empty bytecode directory: each would compile
    pytest, hlsync and their dependencies and rewrite the assertions of every test
    module (~4 s of CPU a worker under coverage, the run's first ~8 s on 2 cores).
    Collections without coverage here, one per core on a share of the test files
    (~3 s in all), fill the directory; the workers then collect in ~1 s of CPU each.
    Their failures are left to the workers to report.
    """
    shares = _shares(config, _cores())
    collections = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n0", "--no-cov"]
            + ["-p", "no:cacheprovider", *share],
            cwd=config.invocation_params.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for share in shares
    ]
    for collection in collections:
        collection.wait()


def _shares(config: pytest.Config, count: int) -> list[list[str]]:
    """The run's test arguments, with directories split into their test files, dealt
    into ``count`` shares (fewer when there are fewer files)."""
    items: list[str] = []
    for arg in config.args:
        folder = Path(config.invocation_params.dir, arg)
        if folder.is_dir():
            items += sorted(str(path) for path in folder.rglob("test_*.py"))
        else:
            items.append(arg)
    return [share for share in (items[n::count] for n in range(count)) if share]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_own_pycache, None)
    if folder is None:
        return
    for name in (_PYCACHE, "PYTHONPYCACHEPREFIX"):
        if os.environ.get(name) == folder:
            del os.environ[name]
    shutil.rmtree(folder, ignore_errors=True)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (the default) runs two workers per core: the end-to-end tests spend
    more than half their time waiting (for ``hlsync`` subprocesses, served emulators,
    locks), so a second worker per core fills those waits. Measured on 2 cores when
    the suite took ~150 s of CPU: its wall time dropped from ~115 s to ~85 s."""
    return 2 * _cores()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/* from the current output; review the diff like code",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden", default=False))


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No HLSYNC_* setting or colour preference leaks in from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("HLSYNC_") or name in {"NO_COLOR", "FORCE_COLOR"}:
            monkeypatch.delenv(name, raising=False)


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
    else:
        return True  # AF_UNIX and friends
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any connection to an address outside 127.0.0.0/8 or ::1 fails loudly."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise RuntimeError(
                f"test tried to reach {address!r}: only loopback allowed"
            )
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield
