"""End to end on the embedded sandbox, through the installed ``hlsync`` script.

The sandbox paces requests like upstream (100 per 10 s per location); these runs raise
its burst budget (``e2e_support.FAST_SANDBOX``), else the first apply of examples/agency
(about 210 calls in its busiest location) would spend some 20 seconds waiting.
"""

from __future__ import annotations

import os
import pty
import stat
import subprocess
from pathlib import Path

import pytest

from tests.golden import GOLDEN, check_golden
from tests.integration.e2e_support import (
    HLSYNC,
    apply_ok,
    assert_converged,
    change_three,
    copy_example,
    hermetic_env,
    normalize_target,
    run_hlsync,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_agency_applies_converges_and_plans_exactly_three_changes(
    tmp_path: Path, update_golden: bool
) -> None:
    config = copy_example("agency", tmp_path)
    first = apply_ok(config)
    assert "Apply: 238 ok, 0 failed, 0 skipped" in first
    assert_converged(config)

    change_three(config)
    planned = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config)
    assert planned.returncode == 2, planned.stderr
    # the estimate is at the limit the sandbox reports (raised by the suite's
    # FAST_SANDBOX to 5000 / 10 s), as the golden file shows
    check_golden(
        GOLDEN / "e2e" / "three-changes.txt",
        normalize_target(planned.stdout),
        update_golden,
    )

    applied = apply_ok(config)
    assert "Apply: 3 ok, 0 failed, 0 skipped" in applied
    assert_converged(config)

    tokens = config / ".hlsync" / "tokens"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o700
    files = sorted(p.name for p in tokens.glob("*.token"))
    assert files == [
        "agency.franchise-reporting.token",
        "downtown.member-sync.token",
        "lakeside.member-sync.token",
        "uptown.door-access.token",
        "uptown.member-sync.token",
    ]
    for path in tokens.glob("*.token"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        value = path.read_text().strip()
        assert value.startswith("pit-")
        assert value not in first + applied + planned.stdout + planned.stderr


def test_apply_off_a_terminal_needs_auto_approve(tmp_path: Path) -> None:
    config = copy_example("quickstart", tmp_path)
    done = run_hlsync("apply", ".", cwd=config)
    assert done.returncode == 1
    assert "stdin is not a terminal" in done.stderr
    assert "--auto-approve" in done.stderr
    assert done.stdout == ""
    assert not (config / ".hlsync").exists()  # refused before the account was read


def test_apply_reports_a_broken_config_before_asking_for_approval(
    tmp_path: Path,
) -> None:
    config = copy_example("quickstart", tmp_path)
    (config / "broken.yaml").write_text("version: 2\n")
    done = run_hlsync("apply", ".", cwd=config)
    assert done.returncode == 1
    assert "broken.yaml:1:" in done.stderr
    assert "stdin is not a terminal" not in done.stderr
    assert not (config / ".hlsync").exists()


def _apply_on_terminal(config: Path, answer: str) -> subprocess.CompletedProcess[str]:
    """``hlsync apply`` with a pseudo-terminal as stdin, answering ``answer``."""
    controller, terminal = pty.openpty()
    try:
        with subprocess.Popen(
            [str(HLSYNC), "apply", "."],
            cwd=config,
            env=hermetic_env(),
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            os.close(terminal)
            terminal = -1
            os.write(controller, answer.encode() + b"\n")
            out, err = process.communicate(timeout=60)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)


def test_apply_on_a_terminal_asks_and_only_yes_applies(tmp_path: Path) -> None:
    config = copy_example("quickstart", tmp_path)
    refused = _apply_on_terminal(config, "y")
    assert refused.returncode == 1
    assert "Only 'yes' will be accepted" in refused.stderr
    assert "Apply cancelled." in refused.stderr
    assert "Plan: 10 to add, 0 to change, 0 to destroy." in refused.stdout
    assert "Apply:" not in refused.stdout

    still = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config)
    assert still.returncode == 2

    approved = _apply_on_terminal(config, "yes")
    assert approved.returncode == 0, approved.stderr
    assert "Apply: 10 ok, 0 failed, 0 skipped" in approved.stdout
    assert_converged(config)


def test_targeting_reads_only_the_named_locations(tmp_path: Path) -> None:
    config = copy_example("agency", tmp_path)
    only = run_hlsync("plan", ".", "--location", "uptown", cwd=config)
    assert only.returncode == 0, only.stderr
    assert "uptown (agUptown0000000000003)" in only.stdout
    assert "downtown" not in only.stdout and "agency.integration" not in only.stdout

    left_out = run_hlsync(
        "plan", ".", "--exclude", "downtown", "--exclude", "agency", cwd=config
    )
    assert left_out.returncode == 0, left_out.stderr
    assert "lakeside (" in left_out.stdout and "uptown (" in left_out.stdout
    assert "downtown" not in left_out.stdout
    assert "agency.integration" not in left_out.stdout

    unknown = run_hlsync("plan", ".", "--location", "midtown", cwd=config)
    assert unknown.returncode == 1
    assert "'midtown' is not in the config" in unknown.stderr
    assert "known names: downtown, lakeside, uptown, agency" in unknown.stderr
