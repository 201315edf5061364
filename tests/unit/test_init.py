"""``hlsync init``: the files, where they go, what the flags and answers may be, and
that nothing is half-written or overwritten (in-process; the end-to-end run of the
kit it writes is tests/integration/test_ci_kit.py)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hlsync.config.loader import load_config
from hlsync.resources import schema_path
from hlsync.scaffold.ci_kit import KITS, render_kit
from hlsync.scaffold.settings import InitSettings, Site
from tests.ci_kit_files import (
    GITHUB,
    GITLAB,
    github_scripts,
    github_triggers,
    gitlab_scripts,
    load,
)
from tests.init_support import files_under, run_init


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO())


@pytest.mark.usefixtures("no_terminal")
def test_flags_write_a_config_that_validates(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_init(
        Path("cfg"), "--location", "main=ve9EPM428h8vShlRW1KT", capsys=capsys
    )
    assert (code, err) == (0, "")
    assert files_under(tmp_path) == [
        "cfg/.github/workflows/hlsync.yml",
        "cfg/.gitignore",
        "cfg/.pre-commit-config.yaml",
        "cfg/hlsync.yaml",
    ]
    assert out.splitlines()[:6] == [
        "hlsync init wrote:",
        "  cfg/hlsync.yaml",
        "  cfg/.gitignore",
        "  cfg/.github/workflows/hlsync.yml",
        "  cfg/.pre-commit-config.yaml",
        "Next:",
    ]
    assert "HL_MAIN_TOKEN, HL_MAIN_SEED_BOT_TOKEN" in out
    text = (tmp_path / "cfg" / "hlsync.yaml").read_text()
    modeline = text.splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert modeline.startswith(prefix)
    schema = (tmp_path / "cfg" / modeline.removeprefix(prefix)).resolve()
    assert schema == schema_path("config.schema.json").resolve()
    assert (tmp_path / "cfg" / ".gitignore").read_text().splitlines()[-1] == ".hlsync/"

    state = load_config(tmp_path / "cfg", env={})
    (site,) = state.locations
    assert (site.name, site.id, state.target.kind) == (
        "main",
        "ve9EPM428h8vShlRW1KT",
        "sandbox",
    )
    (bot,) = site.integrations
    assert bot.name == "seed-bot"
    assert sorted(bot.scopes) == ["contacts.readonly", "contacts.write"]
    assert (site.auth_integration, site.auth_fallback) == ("seed-bot", False)


@pytest.mark.usefixtures("no_terminal")
@pytest.mark.parametrize(
    ("target", "kind"),
    [("leadconnector", "leadconnector"), ("http://127.0.0.1:8765", "url")],
)
def test_other_targets_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, kind: str
) -> None:
    code, _, err = run_init(
        tmp_path,
        "--location=a-1=idA",
        "--location=b_2=idB",
        f"--target={target}",
        "--ci=none",
        capsys=capsys,
    )
    assert (code, err) == (0, "")
    assert files_under(tmp_path) == [".gitignore", "hlsync.yaml"]
    state = load_config(tmp_path, env={})
    assert state.target.kind == kind
    assert [(s.name, s.id) for s in state.locations] == [("a-1", "idA"), ("b_2", "idB")]


@pytest.mark.usefixtures("no_terminal")
def test_ci_files_go_to_the_top_of_the_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    config = tmp_path / "infra" / "hlsync"
    code, _, err = run_init(
        config, "--location=main=x1", "--ci=gitlab", "--ci=github", capsys=capsys
    )
    assert (code, err) == (0, "")
    assert files_under(tmp_path) == [
        ".github/workflows/hlsync.yml",
        ".gitlab-ci.yml",
        "infra/hlsync/.gitignore",
        "infra/hlsync/hlsync.yaml",
    ]
    workflow = load(tmp_path / GITHUB)
    assert workflow["env"]["HLSYNC_CONFIG"] == "infra/hlsync"
    paths = ["infra/hlsync/**", GITHUB]
    triggers = github_triggers(workflow)
    assert triggers["pull_request"]["paths"] == paths
    assert triggers["push"]["paths"] == paths
    pipeline = load(tmp_path / GITLAB)
    assert pipeline["variables"]["HLSYNC_CONFIG"] == "infra/hlsync"
    assert pipeline["workflow"]["rules"][0]["changes"] == ["infra/hlsync/**/*", GITLAB]
    sinks = next(s for s in gitlab_scripts(pipeline) if "umask 077" in s.text)
    assert (
        "printf '%s\\n' \"$HL_MAIN_SEED_BOT_TOKEN\" > "
        '"$HLSYNC_CONFIG/.hlsync/tokens/main.seed-bot.token"'
    ) in sinks.text


def test_pre_commit_hook_watches_the_config_folder() -> None:
    settings = InitSettings(Path("x"), "sandbox", (Site("main", "x1"),), ())
    kit = next(k for k in KITS if k.name == "pre-commit")
    (hook,) = load_text(render_kit(kit, settings, "infra/hl.sync"))["repos"][0]["hooks"]
    assert hook["args"] == ["infra/hl.sync"]
    assert hook["files"] == r"^infra/hl\.sync/.*\.(ya?ml|csv|jsonl)$"
    assert hook["additional_dependencies"][0].startswith("hlsync==")
    (hook,) = load_text(render_kit(kit, settings, "."))["repos"][0]["hooks"]
    assert hook["files"] == r"\.(ya?ml|csv|jsonl)$"


def load_text(text: str) -> Any:
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


@pytest.mark.usefixtures("no_terminal")
def test_the_github_workflow_guards_secrets_and_concurrency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fork pull requests get no plan and no secret, no script pastes an expression
    (values come in through env), each job that touches the account has a concurrency
    group, and on merge the saved plan is what is applied."""
    code, _, err = run_init(tmp_path, "--location=main=x1", capsys=capsys)
    assert (code, err) == (0, "")
    workflow = load(tmp_path / GITHUB)
    triggers = github_triggers(workflow)
    assert sorted(triggers) == ["pull_request", "push", "schedule", "workflow_dispatch"]
    assert workflow["permissions"] == {"contents": "read"}
    jobs = workflow["jobs"]
    assert "head.repo.full_name == github.repository" in jobs["plan"]["if"]
    assert "secrets." not in str(jobs["validate"])
    for name in ("plan", "apply", "apply-main", "drift"):
        assert jobs[name]["concurrency"]["group"].startswith("hlsync-")
        assert jobs[name]["env"] == {"HL_MAIN_TOKEN": "${{ secrets.HL_MAIN_TOKEN }}"}
    for script in github_scripts(workflow):
        assert "${{" not in script.text, script.where
    applied = [
        line
        for script in github_scripts(workflow)
        if script.where.startswith("github apply/")
        for line in script.commands()
    ]
    assert applied == ['hlsync apply "$HLSYNC_PLAN" --lock-timeout 300']
    planned = [
        line
        for script in github_scripts(workflow)
        if script.where.startswith("github plan/")
        for line in script.commands()
    ]
    assert planned == [
        'hlsync plan "$HLSYNC_CONFIG" --format markdown --out "$HLSYNC_PLAN" > plan.md'
    ]
    uploaded = next(
        s for s in jobs["plan"]["steps"] if s.get("name", "").startswith("Save")
    )
    assert "${{ env.HLSYNC_PLAN }}" in uploaded["with"]["path"]


def test_every_kit_renders_without_a_marker_left() -> None:
    for sites in ((Site("main", "x1"),), (Site("a", "1"), Site("b-c", "2"))):
        settings = InitSettings(Path("x"), "leadconnector", sites, ())
        for kit in KITS:
            text = render_kit(kit, settings, "cfg")
            assert "@@" not in text
            assert load_text(text) is not None


@pytest.mark.usefixtures("no_terminal")
def test_existing_files_are_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".gitignore").write_text("mine\n")
    os.symlink(tmp_path / "nowhere", tmp_path / ".pre-commit-config.yaml")
    code, out, err = run_init(tmp_path, "--location=main=x1", capsys=capsys)
    assert (code, out) == (1, "")
    assert err == (
        f"error: hlsync init does not overwrite files: {tmp_path}/.gitignore, "
        f"{tmp_path}/.pre-commit-config.yaml already exist\n"
        "  hint: nothing was written; move them away, choose another folder, or "
        "leave a CI file out with --ci\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".gitignore",
        ".pre-commit-config.yaml",
    ]
    assert (tmp_path / ".gitignore").read_text() == "mine\n"


@pytest.mark.usefixtures("no_terminal")
@pytest.mark.parametrize("interrupt", [False, True], ids=["disk-full", "ctrl-c"])
def test_a_failed_write_leaves_nothing_behind(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    interrupt: bool,
) -> None:
    real_link = os.link
    calls: list[str] = []

    def link_twice_then_fail(source: str, target: Path) -> None:
        calls.append(str(target))
        if len(calls) == 3:
            if interrupt:
                raise KeyboardInterrupt
            raise OSError(28, "No space left on device", str(target))
        real_link(source, target)

    monkeypatch.setattr(os, "link", link_twice_then_fail)
    folder = tmp_path / "new" / "cfg"
    code, out, err = run_init(folder, "--location=main=x1", capsys=capsys)
    assert len(calls) == 3
    assert list(tmp_path.iterdir()) == []  # files, folders and temporary files gone
    if interrupt:
        assert (code, out, err) == (130, "", "interrupted\n")
        return
    assert (code, out) == (1, "")
    assert err.startswith(f"error: cannot write {folder}/.github/workflows/hlsync.yml")
    assert "No space left on device" in err
    assert "hint: nothing was written" in err


@pytest.mark.usefixtures("no_terminal")
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], "hlsync init: no --location given, and no terminal to ask on"),
        (["--location=main"], "--location 'main': expected NAME=ID"),
        (["--location=Main=x"], "--location: location name 'Main' is not allowed"),
        (["--location=main=x y"], "--location: 'x y' is not a HighLevel location id"),
        (["--location=a=1", "--location=a=2"], "'a' and 'a' are the same name"),
        (
            ["--location=a-b=1", "--location=a_b=2"],
            "'a-b' and 'a_b' would share the token variable HL_A_B_TOKEN",
        ),
        (["--location=a=1", "--target=prod"], "--target 'prod': not a target"),
        (
            ["--location=a=1", "--ci=none", "--ci=github"],
            "--ci none cannot be combined with other kits",
        ),
        (
            ["--location=main=x1", "--contacts"],
            "hlsync init: --contacts needs --from-export",
        ),
        (
            ["--location=main=x1", "--from-export"],
            "hlsync init --from-export: no --target given",
        ),
        (
            ["--location=main=x1", "--from-export", "--target=sandbox"],
            "--target sandbox: --from-export adopts an existing account, and the "
            "sandbox of a new config is empty",
        ),
        (
            ["--location=main=x1", "--from-export", "--target=http://127.0.0.1:9"],
            "hlsync init --from-export: HL_MAIN_TOKEN is not set",
        ),
    ],
)
def test_bad_flags_are_one_error_and_nothing_is_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    message: str,
) -> None:
    monkeypatch.delenv("HL_MAIN_TOKEN", raising=False)
    code, out, err = run_init(tmp_path / "cfg", *flags, capsys=capsys)
    assert (code, out) == (1, "")
    assert err.startswith("error: ") and message in err.splitlines()[0]
    assert list(tmp_path.iterdir()) == []


def _answers(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    """A terminal that answers ``answers`` in turn; the prompts are returned."""
    monkeypatch.setattr("sys.stdin", _Terminal())
    prompts: list[str] = []
    queue: Iterator[str] = iter(answers)

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        try:
            return next(queue)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", ask)
    return prompts


def test_on_a_terminal_init_asks_and_asks_again_after_a_bad_answer(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prompts = _answers(
        monkeypatch,
        [
            "",
            "",
            "",
            "main",
            "dup",
            "Shop",
            "shop",
            "bad id!",
            "shopId01",
            "",
            "gitlab",
        ],
    )
    code, _, err = run_init(tmp_path, capsys=capsys)
    assert code == 0, err
    assert prompts == [
        "Target: sandbox (try it, no account), leadconnector (your HighLevel account) "
        "or an emulator URL [sandbox]: ",
        "Location name, as plans will show it [main]: ",
        "HighLevel location id of main [sandbox-main]: ",
        "Another location name (empty when done): ",
        "HighLevel location id of main [sandbox-main]: ",
        "Another location name (empty when done): ",
        "Another location name (empty when done): ",
        "HighLevel location id of shop [sandbox-shop]: ",
        "HighLevel location id of shop [sandbox-shop]: ",
        "Another location name (empty when done): ",
        "CI files: github, gitlab, pre-commit or none, comma-separated "
        "[github, pre-commit]: ",
    ]
    assert "location name: 'main' and 'main' are the same name" in err
    assert "location name: location name 'Shop' is not allowed" in err
    assert "location id: 'bad id!' is not a HighLevel location id" in err
    state = load_config(tmp_path, env={})
    assert [(s.name, s.id) for s in state.locations] == [
        ("main", "sandbox-main"),
        ("shop", "shopId01"),
    ]
    assert files_under(tmp_path) == [".gitignore", ".gitlab-ci.yml", "hlsync.yaml"]


def test_input_that_ends_early_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _answers(monkeypatch, ["leadconnector", "main"])
    code, _, err = run_init(tmp_path / "cfg", capsys=capsys)
    assert code == 1
    assert "the input ended before every question was answered" in err
    assert list(tmp_path.iterdir()) == []
