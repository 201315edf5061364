"""Pipeline consistency end to end against ``hlsync emulator serve`` (issue 9, items 4
and 5): the next plan after an apply is clean under search lag, a plan saved then still
applies, and one lost tag create does not skip the contacts that use it.

Search lag follows the emulator clock once it is set: the clock is frozen and moves only
while an apply that waits for the index runs (:func:`ticking`, ten times the pace of
real time), so "a plan right after an apply" sees exactly the index the apply left
behind, however slow this machine is; the request log shows that the apply did wait
(searched again after its last write).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.e2e_support import (
    QUICKSTART_LOCATION,
    Served,
    assert_converged,
    copy_example,
    edit,
    point_at,
    run_hlsync,
    serve,
)

pytestmark = pytest.mark.integration

FAST = ("--burst-max", "5000")
MAIN_ID = QUICKSTART_LOCATION[1]
LAG = {"route": "POST /contacts/search", "searchLagMs": 3000}
FAY = "      - {firstName: Fay, lastName: Ng, email: fay.ng@example.org}\n"


@contextmanager
def ticking(served: Served) -> Iterator[None]:
    """The emulator clock runs (ten times the pace of real time) only inside the block."""
    stop = threading.Event()

    def tick() -> None:
        with served.client() as admin:
            while not stop.wait(0.1):
                admin.post("/_emulator/clock", json={"advance": 1.0})

    worker = threading.Thread(target=tick)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()


WRITES = {
    "POST /contacts/upsert",
    "PUT /contacts/{contactId}",
    "POST /contacts/{contactId}/tags",
}


def searches_after_last_write(served: Served) -> int:
    """Contact searches the last apply made after its last contact write."""
    with served.client() as admin:
        entries = admin.get("/_emulator/requests").json()["requests"]
        admin.delete("/_emulator/requests").raise_for_status()
    last = max(e["seq"] for e in entries if e["route"] in WRITES)
    return sum(
        1 for e in entries if e["route"] == "POST /contacts/search" and e["seq"] > last
    )


def advance(served: Served, seconds: float) -> None:
    with served.client() as admin:
        admin.post("/_emulator/clock", json={"advance": seconds}).raise_for_status()


def test_the_plan_right_after_an_apply_is_clean_under_search_lag(
    tmp_path: Path,
) -> None:
    with serve(tmp_path, (QUICKSTART_LOCATION,), *FAST) as served:
        config = copy_example("quickstart", tmp_path)
        env = point_at(config, served, (QUICKSTART_LOCATION,))
        with served.client() as admin:
            now = datetime.now(UTC).isoformat()
            admin.post("/_emulator/clock", json={"set": now}).raise_for_status()
            admin.put("/_emulator/faults", json={"rules": [LAG]}).raise_for_status()
        apply = ("apply", ".", "--auto-approve")

        # Control: without the wait, the index hides what the apply just wrote.
        done = run_hlsync(*apply, "--settle-timeout", "0", cwd=config, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert searches_after_last_write(served) == 0
        lied = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config, env=env)
        assert lied.returncode == 2, lied.stdout + lied.stderr
        advance(served, 3)  # the index catches up

        hlsync = config / "hlsync.yaml"
        edit(hlsync, "      - firstName: Ann\n", "      - firstName: Anna\n")
        hlsync.write_text(hlsync.read_text() + FAY)
        with ticking(served):
            done = run_hlsync(*apply, cwd=config, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Warning" not in done.stderr
        assert searches_after_last_write(served) >= 2  # unseen at first: it waited
        assert_converged(config, env)

        # A plan saved right after the apply, applied after a review (the index has
        # caught up meanwhile): its fingerprints are those of the apply's own writes.
        edit(hlsync, FAY, FAY.replace("Fay", "Faye"))
        saved = run_hlsync("plan", ".", "--out", "p.json", cwd=config, env=env)
        assert saved.returncode == 0, saved.stdout + saved.stderr
        assert "Plan: 0 to add, 1 to change, 0 to destroy." in saved.stdout
        advance(served, 3)
        with ticking(served):
            done = run_hlsync("apply", "p.json", cwd=config, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert searches_after_last_write(served) >= 2
        assert_converged(config, env)
        assert served.find_contact(MAIN_ID, "fay.ng@example.org")["firstName"] == (
            "Faye"
        )


def test_one_lost_tag_create_is_retried_and_its_contacts_applied(
    tmp_path: Path,
) -> None:
    rule = {
        "route": "POST /locations/{locationId}/tags",
        "errorRate": 1,
        "errorStatus": 503,
        "times": 1,
    }
    with serve(tmp_path, (QUICKSTART_LOCATION,), *FAST) as served:
        config = copy_example("quickstart", tmp_path)
        env = point_at(config, served, (QUICKSTART_LOCATION,))
        with served.client() as admin:
            admin.put("/_emulator/faults", json={"rules": [rule]}).raise_for_status()
        done = run_hlsync("apply", ".", "--auto-approve", cwd=config, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Apply: 10 ok, 0 failed, 0 skipped" in done.stdout
        assert "created after 1 lost try (each re-read found none)" in done.stdout
        with served.client() as admin:
            assert admin.get("/_emulator/faults").json()["rules"] == []  # it fired
        with served.client(MAIN_ID) as http:
            answer = http.get(f"/locations/{MAIN_ID}/tags")
        answer.raise_for_status()
        names = sorted(t["name"] for t in answer.json()["tags"])
        assert names == ["newsletter", "vip"]
        for email in ("ann.lee@example.com", "eve.martin@example.org"):
            assert "vip" in served.find_contact(MAIN_ID, email)["tags"]
        assert (
            "newsletter"
            in served.find_contact(MAIN_ID, "bruno.costa@example.org")["tags"]
        )
        assert_converged(config, env)
