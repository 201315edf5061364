"""``hlsync confirm`` on a shared ledger: its time and its lock (issue 13, item 5).

The time is the upstream's (the emulator's settable clock stands in for it) or, when
the API cannot be reached, the local one, and the output and the ledger say which.
Load, change and write happen under the ledger's lock: two confirms started together
through the installed command are both recorded, and a confirm that had to wait loads
the ledger as the other run left it.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from hlsync.cli import main
from hlsync.live.ledger import load_ledger
from hlsync.live.ledger_lock import LOCK_FILE, hold_ledger
from hlsync.live.manual import URL_ENV
from hlsync.locks.guard import whoami
from hlsync.locks.lockfile import LocalLock
from tests.emulator_fixtures import LOCATION_A, LiveEmulator
from tests.integration.e2e_support import HLSYNC, hermetic_env

pytestmark = pytest.mark.integration

CONFIG = f"""\
version: 1
target: leadconnector
locations:
  main:
    id: {LOCATION_A}
    token: {{env: MAIN_TOKEN}}
    integrations:
      alpha:
        scopes: [contacts.readonly]
      bravo:
        scopes: [locations/tags.readonly]
"""


@pytest.fixture
def live(
    emulator: LiveEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    folder = tmp_path / "live"
    folder.mkdir()
    (folder / "hlsync.yaml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv(URL_ENV, emulator.base_url)
    monkeypatch.setenv("MAIN_TOKEN", emulator.token(LOCATION_A))
    return folder


def _ledger_events(folder: Path) -> dict[str, list[tuple[str, str | None, str]]]:
    ledger = load_ledger(folder / "hlsync.ledger.json")
    return {
        key: [(e.event, e.clock, e.at) for e in entry.history]
        for key, entry in ledger.entries.items()
    }


def test_confirm_stamps_the_upstream_time_and_says_so(
    live: Path, emulator: LiveEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator.client() as admin:
        admin.post("/_emulator/clock", json={"set": "2031-01-02T03:04:05Z"})
    assert main(["confirm", "main/alpha", str(live), "--by", "ann"]) == 0
    out = capsys.readouterr().out
    assert "by ann, at 2031-01-02T03:04:05Z on the upstream's clock (Date of " in out
    assert _ledger_events(live) == {
        "main/alpha": [("create", "upstream", "2031-01-02T03:04:05Z")]
    }


def test_unreachable_upstream_the_local_clock_is_used_and_said(
    live: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv(URL_ENV, closed)
    assert main(["confirm", "main/alpha", str(live), "--by", "ann"]) == 0
    out = capsys.readouterr().out
    assert f"on this machine's clock: {closed} did not answer (ConnectError)." in out
    ((event, clock, _),) = _ledger_events(live)["main/alpha"]
    assert (event, clock) == ("create", "local")


def test_the_ledger_lock_is_refused_while_held_and_names_the_holder(
    live: Path,
) -> None:
    other = LocalLock(live / LOCK_FILE, "the ledger")
    other.acquire(whoami(), 0)
    try:
        with pytest.raises(Exception) as caught, hold_ledger(live, timeout=0):
            pass
        message = str(caught.value)
        assert "the ledger is locked on this machine by" in message
        assert "nothing was recorded" in message
    finally:
        other.release()
    with hold_ledger(live, timeout=0):  # free again
        pass


def _confirm(folder: Path, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(HLSYNC), "confirm", name, ".", "--by", name.split("/")[1]],
        cwd=folder,
        env=hermetic_env(
            {URL_ENV: os.environ[URL_ENV], "MAIN_TOKEN": os.environ["MAIN_TOKEN"]}
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_confirms_started_together_are_both_recorded(live: Path) -> None:
    runs = [_confirm(live, "main/alpha"), _confirm(live, "main/bravo")]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, out + err
        assert "Recorded in hlsync.ledger.json: create of" in out
    events = _ledger_events(live)
    assert sorted(events) == ["main/alpha", "main/bravo"]
    assert all(e[0][:2] == ("create", "upstream") for e in events.values())


def test_a_confirm_that_waited_loads_the_ledger_the_other_run_wrote(
    live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with hold_ledger(live):
        run = _confirm(live, "main/bravo")
        assert run.stderr is not None
        waiting = run.stderr.readline()  # it is waiting for us now
        assert "the ledger is locked on this machine by" in waiting
        assert "waiting up to 60 s" in waiting
        # the other run's write, made while it holds the lock
        (live / "hlsync.ledger.json").write_text(_alpha_ledger(live), "utf-8")
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, out + err
    assert sorted(_ledger_events(live)) == ["main/alpha", "main/bravo"]


def test_a_delivery_that_waited_keeps_what_the_other_run_wrote(live: Path) -> None:
    assert main(["confirm", "main/alpha", str(live), "--by", "ann"]) == 0
    with subprocess.Popen(
        [str(HLSYNC), "token", "deliver", "main/alpha", ".", "--by", "ann"],
        cwd=live,
        env=hermetic_env({URL_ENV: os.environ[URL_ENV]}),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as run:
        assert run.stdin and run.stdout and run.stderr
        with hold_ledger(live):
            run.stdin.write(TOKEN + "\n")
            run.stdin.close()  # the token is read first, then the lock is waited for
            assert "the ledger is locked on this machine by" in run.stderr.readline()
            with_bravo = _confirmed_elsewhere(live, "main/bravo")
            (live / "hlsync.ledger.json").write_text(with_bravo, "utf-8")
        out, err = run.stdout.read(), run.stderr.read()
        assert run.wait(timeout=120) == 0, out + err
    events = _ledger_events(live)
    assert [e[0] for e in events["main/alpha"]] == ["create", "token_delivered"]
    assert [e[0] for e in events["main/bravo"]] == ["create"]
    assert TOKEN not in out + err + (live / "hlsync.ledger.json").read_text("utf-8")


TOKEN = "pit-00000000-1111-2222-3333-444444444444"


def _alpha_ledger(live: Path) -> str:
    return _confirmed_elsewhere(live, "main/alpha")


def _confirmed_elsewhere(live: Path, name: str) -> str:
    """``live``'s ledger plus a confirmed ``name``, made in a scratch copy of the
    folder (as another operator's run would write it)."""
    scratch = live.parent / "scratch"
    scratch.mkdir()
    (scratch / "hlsync.yaml").write_text(CONFIG, encoding="utf-8")
    ledger = live / "hlsync.ledger.json"
    if ledger.exists():
        (scratch / ledger.name).write_text(ledger.read_text("utf-8"), "utf-8")
    assert main(["confirm", name, str(scratch), "--by", "other"]) == 0
    return (scratch / ledger.name).read_text(encoding="utf-8")
