"""The CI kit cannot drift from the CLI: ``hlsync init`` in an empty folder, then every
``hlsync`` command line of the files it wrote, run as the pipelines run them, through
the installed script, against the sandbox.

The order is a change's: validate and plan (the pull request), apply the saved plan
(the merge), the drift check; then GitLab's lines and the pre-commit hooks. Each line
runs once (the same line in two files is the same command) and must exit 0: a flag
the CLI does not know exits 1, a drift check after the apply exits 2. Then a fresh
runner: the committed files and the account, but no ``.hlsync/tokens``; the kit's
"token sinks from secrets" step, given the secret, makes the drift check clean, and
without the secret the drift check reports the token's repair (exit 2).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.ci_kit_files import (
    GITHUB,
    GITLAB,
    PRE_COMMIT,
    Script,
    github_scripts,
    gitlab_scripts,
    load,
    pre_commit_command,
)
from tests.conftest import REPO
from tests.integration.e2e_support import HLSYNC, hermetic_env, run_hlsync

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SITES = ("main=kitMain0000000000001", "shop-two=kitShopTwo0000000002")
SEED_SECRETS = ("HL_MAIN_SEED_BOT_TOKEN", "HL_SHOP_TWO_SEED_BOT_TOKEN")


def _bash(
    script: str, cwd: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """``script`` as a CI runner's shell runs it, the venv's hlsync first on PATH."""
    full = hermetic_env(env)
    full["PATH"] = f"{HLSYNC.parent}{os.pathsep}{full.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _tokens(folder: Path) -> dict[str, str]:
    tokens = folder / ".hlsync" / "tokens"
    return {p.name: p.read_text().strip() for p in sorted(tokens.glob("*.token"))}


def test_init_then_every_hlsync_line_of_the_ci_kit_runs(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()  # empty: no config, no .git (the CI files go beside the config)
    init = run_hlsync(
        "init",
        *(f"--location={site}" for site in SITES),
        *("--ci=github", "--ci=gitlab", "--ci=pre-commit"),
        cwd=repo,
    )
    assert init.returncode == 0, init.stderr
    written = sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file())
    assert written == sorted([".gitignore", GITHUB, GITLAB, PRE_COMMIT, "hlsync.yaml"])

    workflow = load(repo / GITHUB)
    pipeline = load(repo / GITLAB)
    scripts: list[Script] = [*github_scripts(workflow), *gitlab_scripts(pipeline)]
    for hook in load(repo / PRE_COMMIT)["repos"][0]["hooks"]:
        scripts.append(Script("pre-commit config", pre_commit_command(hook), {}))
    for hook in load(REPO / ".pre-commit-hooks.yaml"):
        scripts.append(Script("hlsync's hook", pre_commit_command(hook), {}))

    outputs: list[str] = []
    ran: list[str] = []
    for script in scripts:
        syntax = subprocess.run(
            ["bash", "-n", "-c", script.text], capture_output=True, text=True
        )
        assert syntax.returncode == 0, f"{script.where}: {syntax.stderr}"
        for line in script.commands():
            if line in ran:
                continue
            ran.append(line)
            done = _bash(line, repo, script.env)
            outputs += [done.stdout, done.stderr]
            assert done.returncode == 0, f"{script.where}: {line}\n{done.stderr}"
    subcommands = {line.split()[1] for line in ran}
    assert subcommands == {"validate", "plan", "apply"}, ran
    assert len(ran) == 8, ran  # two validates, four plans, one apply, the hook's

    plan_md = (repo / "plan.md").read_text()
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan_md
    assert (repo / "drift.md").read_text() == (
        "## hlsync plan\n\nNo changes. The account matches the configuration.\n"
    )
    tokens = _tokens(repo)
    assert sorted(tokens) == ["main.seed-bot.token", "shop-two.seed-bot.token"]
    journal = (repo / "hlsync.journal.jsonl").read_text()
    files = [plan_md, journal, (repo / "hlsync-plan.json").read_text()]
    for value in tokens.values():
        assert value.startswith("pit-")
        assert all(value not in text for text in outputs + files)

    # A fresh runner: what git holds (config, journal) and the account (the sandbox
    # database stands in for it), but none of the token files.
    fresh = tmp_path / "fresh"
    shutil.copytree(repo, fresh, ignore=shutil.ignore_patterns("tokens"))
    steps = {s.where: s for s in github_scripts(workflow)}
    sinks = steps["github drift/Token sinks from secrets"]
    drift = steps["github drift/Drift check"]
    summary = tmp_path / "step-summary.md"  # what the runner gives a step
    drift_env = {**drift.env, "GITHUB_STEP_SUMMARY": str(summary)}
    secrets = dict(zip(SEED_SECRETS, tokens.values(), strict=True))
    restored = _bash(sinks.text, fresh, {**sinks.env, **secrets})
    assert restored.returncode == 0, restored.stderr
    assert _tokens(fresh) == tokens
    for path in (fresh / ".hlsync" / "tokens").glob("*.token"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    clean = _bash(drift.text, fresh, drift_env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No changes." in summary.read_text()

    # The same runner without the secrets: the drift check shows the repairs.
    shutil.rmtree(fresh / ".hlsync" / "tokens")
    assert _bash(sinks.text, fresh, sinks.env).returncode == 0
    repair = _bash(drift.text, fresh, drift_env)
    assert repair.returncode == 2, repair.stderr
    assert repair.stdout.count("holds no token; a new token now, into the sink") == 2
    assert "::error title=hlsync drift::" in repair.stdout
