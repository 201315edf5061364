"""End to end against ``hlsync emulator serve``, through the installed ``hlsync`` script.

Each test starts its own emulator process on a free port; tokens reach hlsync through
the environment variables (and the token file) the copied config names.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.golden import GOLDEN, check_golden
from tests.integration.e2e_support import (
    AGENCY_LOCATIONS,
    HLSYNC,
    QUICKSTART_LOCATION,
    Served,
    apply_ok,
    assert_converged,
    change_three,
    copy_example,
    edit,
    normalize_target,
    point_at,
    run_hlsync,
    serve,
)

pytestmark = pytest.mark.integration

# Upstream's burst limit would make the agency's 238 changes take 20 s; the sandbox test
# already applies under it, so these runs lift it.
FAST = ("--burst-max", "5000")
MAIN_ID = QUICKSTART_LOCATION[1]


@pytest.fixture
def quickstart(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], Served]]:
    """examples/quickstart applied to a fresh ``hlsync emulator serve``."""
    with serve(tmp_path, (QUICKSTART_LOCATION,), *FAST) as served:
        config = copy_example("quickstart", tmp_path)
        env = point_at(config, served, (QUICKSTART_LOCATION,))
        apply_ok(config, env)
        yield config, env, served


def test_agency_applies_converges_and_plans_exactly_three_changes(
    tmp_path: Path, update_golden: bool
) -> None:
    with serve(tmp_path, AGENCY_LOCATIONS, *FAST) as served:
        config = copy_example("agency", tmp_path)
        env = point_at(config, served, AGENCY_LOCATIONS)
        # the agency's own token: its integration is the agency's access, not an
        # unmanaged one (without it, the plan would list it)
        env["HL_AGENCY_TOKEN"] = served.credentials["agency"]["token"]
        first = apply_ok(config, env)
        assert "Apply: 238 ok, 0 failed, 0 skipped" in first
        assert_converged(config, env)

        change_three(config)
        planned = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config, env=env)
        assert planned.returncode == 2, planned.stderr
        check_golden(
            GOLDEN / "e2e" / "three-changes.txt",
            normalize_target(planned.stdout),
            update_golden,
        )
        assert f"hlsync will make these changes to {served.url}:" in planned.stdout
        # the estimate is at the limit this server reports (--burst-max 5000), as
        # the golden file shows

        assert "Apply: 3 ok, 0 failed, 0 skipped" in apply_ok(config, env)
        assert_converged(config, env)
        every = [served.credentials["agency"]["token"]]
        every += [loc["token"] for loc in served.credentials["locations"]]
        assert not any(token in first + planned.stdout for token in every)


def test_drift_in_a_declared_field_shows_an_undeclared_one_does_not(
    quickstart: tuple[Path, dict[str, str], Served],
) -> None:
    config, env, served = quickstart
    ann = served.find_contact(MAIN_ID, "ann.lee@example.com")

    served.update_contact(MAIN_ID, ann["id"], {"city": "Springfield"})
    assert_converged(config, env)  # city is not declared: never compared

    served.update_contact(MAIN_ID, ann["id"], {"firstName": "Annabel"})
    drift = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config, env=env)
    assert drift.returncode == 2, drift.stderr
    assert '  ~ main.contact["ann.lee@example.com"]\n' in drift.stdout
    assert '      firstName: "Annabel" -> "Ann"\n' in drift.stdout
    assert "city" not in drift.stdout
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in drift.stdout


def test_saved_plans_refused_when_stale_applied_exactly_when_fresh(
    quickstart: tuple[Path, dict[str, str], Served],
) -> None:
    config, env, served = quickstart
    hlsync = config / "hlsync.yaml"
    edit(hlsync, "        lastName: Costa\n", "        lastName: Costa Silva\n")
    edit(hlsync, "      - firstName: Chen\n", "      - firstName: Chen Yu\n")

    saved = run_hlsync("plan", ".", "--out", "stale.json", cwd=config, env=env)
    assert saved.returncode == 0, saved.stderr
    assert (
        "To apply exactly these changes, run: hlsync apply stale.json" in saved.stdout
    )
    shown = run_hlsync("show", "stale.json", cwd=config)
    assert shown.returncode == 0, shown.stderr
    assert saved.stdout.startswith(shown.stdout)

    bruno = served.find_contact(MAIN_ID, "bruno.costa@example.org")
    chen = served.find_contact(MAIN_ID, "chen.wei@example.com")
    served.update_contact(MAIN_ID, bruno["id"], {"lastName": "Da Costa"})
    served.update_contact(MAIN_ID, chen["id"], {"city": "Chicago"})  # undeclared
    refused = run_hlsync("apply", "stale.json", cwd=config, env=env)
    assert refused.returncode == 1
    assert (
        'the plan is stale: main.contact["bruno.costa@example.org"] changed after '
        'the plan was made: lastName is now "Da Costa" (the plan saw "Costa")'
    ) in refused.stderr
    assert "chen.wei" not in refused.stderr  # its undeclared field does not count
    assert refused.stdout == ""
    assert served.find_contact(MAIN_ID, "chen.wei@example.com")["firstName"] == "Chen"

    fresh = run_hlsync("plan", ".", "--out", "fresh.json", cwd=config, env=env)
    assert fresh.returncode == 0, fresh.stderr
    plan = json.loads((config / "fresh.json").read_text())
    pending = [c["address"] for c in plan["changes"] if c["action"] != "noop"]
    assert sorted(pending) == [
        'main.contact["bruno.costa@example.org"]',
        'main.contact["chen.wei@example.com"]',
    ]
    done = run_hlsync("apply", "fresh.json", "--format", "json", cwd=config, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [o["address"] for o in result["outcomes"]] == pending
    assert {o["status"] for o in result["outcomes"]} == {"ok"}
    assert_converged(config, env)
    assert served.find_contact(MAIN_ID, "chen.wei@example.com")["city"] == "Chicago"


def test_saved_plan_from_another_config_is_refused(
    quickstart: tuple[Path, dict[str, str], Served],
) -> None:
    config, env, _ = quickstart
    hlsync = config / "hlsync.yaml"
    edit(hlsync, "        lastName: Costa\n", "        lastName: Costa Silva\n")
    assert (
        run_hlsync("plan", ".", "--out", "p.json", cwd=config, env=env).returncode == 0
    )
    edit(hlsync, "        lastName: Costa Silva\n", "        lastName: Costa Lima\n")
    refused = run_hlsync("apply", "p.json", cwd=config, env=env)
    assert refused.returncode == 1
    assert "the plan was made from a different configuration" in refused.stderr


def test_two_applies_under_search_lag_create_no_duplicate(tmp_path: Path) -> None:
    # Searches trail writes by 30 s, far longer than both applies take, so the second
    # apply's read surely misses the contacts the first one wrote (no wall-clock race);
    # neither apply waits for the index (--settle-timeout 0), as a killed one would not.
    lag = ("--search-lag-ms", "30000")
    nowait = ("--settle-timeout", "0")
    with serve(tmp_path, (QUICKSTART_LOCATION,), *FAST, *lag) as served:
        config = copy_example("quickstart", tmp_path)
        env = point_at(config, served, (QUICKSTART_LOCATION,))
        first = run_hlsync("apply", ".", "--auto-approve", *nowait, cwd=config, env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        again = run_hlsync(
            "apply",
            ".",
            "--auto-approve",
            "--format",
            "json",
            *nowait,
            cwd=config,
            env=env,
        )
        assert again.returncode == 0, again.stderr
        outcomes = json.loads(again.stdout)["outcomes"]
        # The second read missed the new contacts, so it planned them again: the
        # upserts must have found them instead of duplicating.
        creates = [o for o in outcomes if o["action"] == "create"]
        assert any("main.contact[" in o["address"] for o in creates), outcomes
        with served.client(MAIN_ID) as http:
            http.delete("/_emulator/faults").raise_for_status()  # searches catch up
            answer = http.post(
                "/contacts/search", json={"locationId": MAIN_ID, "pageLimit": 100}
            )
        answer.raise_for_status()
        contacts = answer.json()["contacts"]
        assert answer.json()["total"] == 5
        keys = [c.get("email") or c.get("phone") for c in contacts]
        assert len(set(keys)) == 5
        assert_converged(config, env)


def test_one_failing_contact_leaves_the_others_applied(
    quickstart: tuple[Path, dict[str, str], Served],
) -> None:
    config, env, served = quickstart
    hlsync = config / "hlsync.yaml"
    edit(hlsync, "      - firstName: Ann\n", "      - firstName: Anna\n")
    hlsync.write_text(
        hlsync.read_text()
        + "      - {firstName: Fay, lastName: Ng, email: fay.ng@example.org}\n"
        + "      - {firstName: Gus, lastName: Roy, email: gus.roy@example.org}\n"
    )
    # A status the client does not retry (501): a 500 would be retried with
    # upstream-sized backoff for ~5 s of idle first, and retries are the client
    # tests' business (tests/integration/test_client_emulator.py).
    rule = {"route": "PUT /contacts/{contactId}", "errorRate": 1.0, "errorStatus": 501}
    with served.client() as http:
        http.put("/_emulator/faults", json={"rules": [rule]}).raise_for_status()

    done = run_hlsync("apply", ".", "--auto-approve", cwd=config, env=env)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    failed = [line for line in lines if line.startswith("  failed ")]
    assert len(failed) == 1 and 'main.contact["ann.lee@example.com"]' in failed[0]
    assert "-> 501" in failed[0]
    assert any('ok       main.contact["fay.ng@example.org"]' in x for x in lines)
    assert any('ok       main.contact["gus.roy@example.org"]' in x for x in lines)
    assert "Apply: 2 ok, 1 failed, 0 skipped" in done.stdout

    with served.client() as http:
        http.delete("/_emulator/faults").raise_for_status()
    rest = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config, env=env)
    assert rest.returncode == 2
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in rest.stdout
    assert '~ main.contact["ann.lee@example.com"]' in rest.stdout


def test_ctrl_c_mid_apply_reports_what_was_done_and_exits_130(tmp_path: Path) -> None:
    # Contact upserts hang for 5 s: the apply is surely running them when the first
    # one reaches the emulator (its fault rule's timesLeft drops), and every change
    # they depend on (the seed-bot integration, fields, tags) has been decided. (2 s
    # was too short a window to see that and interrupt on a loaded machine.)
    rule = {"route": "POST /contacts/upsert", "latencyMs": 5000, "times": 1000}
    with serve(tmp_path, (QUICKSTART_LOCATION,), *FAST) as served:
        config = copy_example("quickstart", tmp_path)
        env = point_at(config, served, (QUICKSTART_LOCATION,))
        with served.client() as http:
            http.put("/_emulator/faults", json={"rules": [rule]}).raise_for_status()
        full = {k: v for k, v in os.environ.items() if not k.startswith("HLSYNC_")}
        with subprocess.Popen(
            [str(HLSYNC), "apply", ".", "--auto-approve"],
            cwd=config,
            env={**full, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as apply:
            deadline = time.monotonic() + 60
            with served.client() as http:
                while (
                    http.get("/_emulator/faults").json()["rules"][0]["timesLeft"]
                    == 1000
                ):
                    assert apply.poll() is None and time.monotonic() < deadline
            apply.send_signal(signal.SIGINT)
            out, err = apply.communicate(timeout=30)

    assert apply.returncode == 130, err
    report = out.partition("Plan: 10 to add, 0 to change, 0 to destroy.")[2]
    done = [
        line.split()[:2] for line in report.splitlines() if line.startswith("  ok ")
    ]
    assert ["ok", 'main.integration["seed-bot"]'] in done
    assert not any("main.contact[" in address for _, address in done)
    summary = f"Apply: {len(done)} ok, 0 failed, 0 skipped;"
    assert summary in report
    assert report.rstrip().endswith(
        "Stopped early; the remaining changes were not attempted."
    )
    # off a terminal, progress is plain lines ("[m:ss] …"; none in an apply's first
    # 10 s, hlsync.commands.progress.PLAIN_QUIET); besides them, exactly these
    progress = [line for line in err.splitlines() if line.startswith("[0:")]
    assert [line for line in err.splitlines() if line not in progress] == [
        "New integration tokens stored (0600): .hlsync/tokens/main.seed-bot.token",
        f"apply interrupted: {10 - len(done)} of 10 changes not finished (any that "
        "were running may be partly done); run 'hlsync plan' to see what is left",
    ]
