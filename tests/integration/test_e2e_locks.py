"""One apply per location at a time, and duplicate integrations healed (issue 9, items
1 and 2), through the installed ``hlsync`` against ``hlsync emulator serve``.

Two copies of a config stand for two machines (each has its own local lock file, so
only the lease in the account stands between them); one copy run twice is one machine.
The emulator's latency fault makes each apply last a few seconds, so runs overlap.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.e2e_support import (
    HLSYNC,
    QUICKSTART_LOCATION,
    Served,
    apply_ok,
    copy_example,
    point_at,
    run_hlsync,
    serve,
)

pytestmark = pytest.mark.integration

MAIN_ID = QUICKSTART_LOCATION[1]
SLOW = ("--burst-max", "5000", "--latency-ms", "150")
LEASE = "hlsync lock"


def _start(config: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("HLSYNC_")}
    full.update(env)
    return subprocess.Popen(
        [str(HLSYNC), "apply", ".", "--auto-approve", *extra],
        cwd=config,
        env=full,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def _integrations(served: Served) -> list[dict[str, Any]]:
    with served.client() as http:
        answer = http.get("/_emulator/integrations", params={"locationId": MAIN_ID})
        answer.raise_for_status()
    return list(answer.json()["integrations"])


def _named(served: Served, name: str) -> int:
    return sum(1 for i in _integrations(served) if i["name"] == name)


def _lease(served: Served) -> dict[str, Any] | None:
    with served.client(MAIN_ID) as http:
        answer = http.get(f"/locations/{MAIN_ID}/customValues")
        answer.raise_for_status()
    for item in answer.json()["customValues"]:
        if item["name"] == LEASE:
            return dict(json.loads(item["value"]))
    return None


def _wait_for(check: Any, what: str, seconds: float = 30) -> Any:
    """Bounded polling until ``check()`` is truthy."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path, (QUICKSTART_LOCATION,), *SLOW) as served:
        yield served


def _copy(tmp_path: Path, served: Served, name: str) -> tuple[Path, dict[str, str]]:
    (tmp_path / name).mkdir()
    config = copy_example("quickstart", tmp_path / name)
    return config, point_at(config, served, (QUICKSTART_LOCATION,))


def test_two_applies_started_together_on_two_machines_one_runs_one_names_the_holder(
    tmp_path: Path, slow: Served
) -> None:
    (a, env_a), (b, env_b) = _copy(tmp_path, slow, "a"), _copy(tmp_path, slow, "b")
    first, second = _start(a, env_a), _start(b, env_b)
    results = sorted([_finish(first), _finish(second)])
    assert [code for code, _, _ in results] == [0, 1], results
    _, ran, _ = results[0]
    _, _, refused = results[1]
    assert " 0 failed, 0 skipped" in ran
    assert "error: location 'main' is locked in the account by " in refused
    assert " since 20" in refused and "hlsync force-unlock main" in refused
    assert "Traceback" not in refused
    assert _named(slow, "seed-bot") == 1
    assert _lease(slow) is None  # released at the end


def test_on_one_machine_the_second_apply_waits_for_the_lock_file_then_runs(
    tmp_path: Path, slow: Served
) -> None:
    """This test process holds the lock file as a run on this machine would (the
    flock, and its label), so the wait and its end are deterministic."""
    config, env = _copy(tmp_path, slow, "one")
    lock = config / ".hlsync" / "locks" / "main.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        holder = {"owner": f"ci@here pid {os.getpid()}", "run": "r1", "started": "x"}
        held.write(json.dumps(holder))
        held.flush()
        refused = run_hlsync("apply", ".", "--auto-approve", cwd=config, env=env)
        assert refused.returncode == 1
        assert (
            f"error: location 'main' is locked on this machine by ci@here pid "
            f"{os.getpid()} (run r1) since x\n"
        ) in refused.stderr
        waiter = _start(config, env, "--lock-timeout", "60")
        assert waiter.stderr is not None
        line = waiter.stderr.readline()  # bounded: the waiter says it waits at once
        assert line.startswith("waiting: location 'main' is locked on this machine")
    # the file is closed: the flock is gone, and the waiter goes on
    code, out, err = _finish(waiter)
    assert code == 0, out + err
    assert "location 'main': took the lock after waiting for another run" in err
    assert " 0 failed, 0 skipped" in out
    assert _named(slow, "seed-bot") == 1


def _killed_run(tmp_path: Path, served: Served) -> tuple[Path, dict[str, str], int]:
    """A run on another machine SIGKILLed while it held the lease."""
    dead, dead_env = _copy(tmp_path, served, "dead")
    process = _start(dead, dead_env)
    _wait_for(lambda: _lease(served), "the lease")
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert _lease(served) is not None
    with served.client() as http:  # what follows need not overlap: full speed
        http.delete("/_emulator/faults").raise_for_status()
    config, env = _copy(tmp_path, served, "alive")
    return config, env, process.pid


def test_force_unlock_releases_the_lease_of_a_killed_run(
    tmp_path: Path, slow: Served
) -> None:
    config, env, pid = _killed_run(tmp_path, slow)
    refused = run_hlsync("apply", ".", "--auto-approve", cwd=config, env=env)
    assert refused.returncode == 1
    assert (
        f"pid {pid} (run " in refused.stderr
        and "; the lease expires at" in refused.stderr
    )

    asked = run_hlsync("force-unlock", "main", cwd=config, env=env)
    assert asked.returncode == 1 and "--auto-approve" in asked.stderr
    assert _lease(slow) is not None

    done = run_hlsync("force-unlock", "main", "--auto-approve", cwd=config, env=env)
    assert done.returncode == 0, done.stderr
    assert f"pid {pid} (run " in done.stdout
    assert "Released the apply lock of location 'main'." in done.stdout
    assert _lease(slow) is None
    apply_ok(config, env)
    again = run_hlsync("force-unlock", "main", "--auto-approve", cwd=config, env=env)
    assert again.stdout == "location 'main' holds no apply lock.\n"


def test_an_expired_lease_is_taken_over_with_a_warning(
    tmp_path: Path, slow: Served
) -> None:
    config, env, pid = _killed_run(tmp_path, slow)
    with slow.client() as http:
        http.post("/_emulator/clock", json={"advance": 120}).raise_for_status()
    done = run_hlsync("apply", ".", "--auto-approve", cwd=config, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning: location 'main': took over an expired lock of " in done.stderr
    assert f"pid {pid} (run " in done.stderr
    assert _lease(slow) is None


def test_plan_takes_no_lock(tmp_path: Path, slow: Served) -> None:
    config, env = _copy(tmp_path, slow, "p")
    first = _start(config, env)
    _wait_for(lambda: _lease(slow), "the lease")
    planned = run_hlsync("plan", ".", cwd=config, env=env)
    assert planned.returncode == 0, planned.stderr
    assert _finish(first)[0] == 0


def test_duplicate_integrations_plan_the_repair_and_apply_force_heals(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, (QUICKSTART_LOCATION,), "--burst-max", "5000") as served:
        config = copy_example("quickstart", tmp_path)
        env = point_at(config, served, (QUICKSTART_LOCATION,))
        apply_ok(config, env)
        (kept,) = [i for i in _integrations(served) if i["name"] == "seed-bot"]
        with served.client() as http:
            answer = http.post(
                "/_emulator/integrations",
                json={
                    "name": "seed-bot",
                    "description": "made twice",
                    "scopes": ["contacts.readonly"],
                    "locationId": MAIN_ID,
                },
            )
            answer.raise_for_status()
        extra = answer.json()["integration"]["id"]
        address = f'main.integration["seed-bot#{extra}"]'

        planned = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config, env=env)
        assert planned.returncode == 2, planned.stdout + planned.stderr
        assert f"  - {address}\n" in planned.stdout
        # the newer one is deleted: the sink holds the older one's token
        assert (
            "why: a second Private Integration named 'seed-bot'; hlsync keeps "
            f"{kept['id']} (the one whose token the sink holds, else the newest)"
        ) in planned.stdout
        shown = run_hlsync("plan", ".", "--format", "json", cwd=config, env=env)
        changes = json.loads(shown.stdout)["changes"]
        assert len({c["address"] for c in changes}) == len(changes)
        (repair,) = [c for c in changes if c["action"] != "noop"]
        assert (repair["address"], repair["object_id"], repair["gate"]) == (
            address,
            extra,
            "delete",
        )

        held = run_hlsync("apply", ".", "--auto-approve", cwd=config, env=env)
        assert held.returncode == 1 and "--force" in held.stderr
        healed = run_hlsync(
            "apply", ".", "--auto-approve", "--force", cwd=config, env=env
        )
        assert healed.returncode == 0, healed.stdout + healed.stderr
        found = [i["id"] for i in _integrations(served) if i["name"] == "seed-bot"]
        assert found == [kept["id"]]
        after = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config, env=env)
        assert after.returncode == 0, after.stdout + after.stderr
