"""The command registry: every command is registered, and its module loads only when
it runs (``hlsync --version`` and ``hlsync validate`` never import the web stack)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import hlsync.commands
from hlsync.cli import main
from hlsync.commands import COMMANDS, token
from hlsync.commands.arguments import TOKEN_VERBS

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("uvicorn", "starlette", "httpx", "jsonschema", "deepdiff")
# runs main(argv) in a fresh interpreter, then prints the modules it imported
WRAPPER = """
import json, sys
from hlsync.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
HELPERS = {
    "__init__",
    "_common",
    "arguments",
    "progress",
    "read_progress",
    "token_verbs",
}  # not commands


def _modules_after(*argv: str) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    last = done.stdout.strip().splitlines()[-1]
    report = json.loads(last)
    return report["code"], set(report["modules"])


def test_version_imports_no_command_and_no_heavy_dependency() -> None:
    code, modules = _modules_after("--version")
    assert code == 0
    assert "uvicorn" not in modules
    assert "starlette" not in modules
    assert [name for name in HEAVY if name in modules] == []
    loaded = {m for m in modules if m.startswith("hlsync.commands.")}
    assert loaded == {"hlsync.commands.arguments"}


def test_validate_imports_neither_uvicorn_nor_starlette() -> None:
    code, modules = _modules_after("validate", "examples/quickstart")
    assert code == 0
    assert "uvicorn" not in modules
    assert "starlette" not in modules
    assert "hlsync.commands.validate" in modules  # the command did run
    assert "hlsync.commands.apply" not in modules


def test_a_usage_error_imports_no_command() -> None:
    code, modules = _modules_after("plan", "--nope")
    assert code == 1
    assert "hlsync.commands.plan" not in modules
    assert [name for name in HEAVY if name in modules] == []


def test_every_command_module_is_registered_with_a_run() -> None:
    folder = Path(hlsync.commands.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")} - HELPERS
    names = [command.module for command in COMMANDS]
    assert sorted(names) == sorted(modules)
    for command in COMMANDS:
        assert callable(command.runner())


def test_every_token_verb_has_a_run() -> None:
    assert [name for name, _, _ in TOKEN_VERBS] == list(token.RUNS)


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        # a long name (force-unlock) puts its help on the next line
        assert f"    {command.name} " in out or f"    {command.name}\n" in out
        assert command.help[:40] in " ".join(out.split())


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bogus"]) == 1
    err = capsys.readouterr().err
    assert "error: hlsync: argument COMMAND: invalid choice: 'bogus'" in err
    assert "hint: see 'hlsync --help'" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "--contacts"], "the following arguments are required: --out"),
        (
            ["export", "--out", "x", "--contacts", "--contacts-filter", "colour=red"],
            "--contacts-filter: must be FIELD=VALUE with FIELD one of",
        ),
        (["export", "--out", "x", "--contacts", "--limit", "0"], "--limit: must be"),
        (
            ["export", "--out", "x", "--contacts-filter", "tags=vip"],
            "--contacts-filter and --limit need --contacts",
        ),
    ],
)
def test_export_flags_are_checked_before_anything_is_read(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*argv[:1], str(tmp_path / "missing.yaml"), *argv[1:]]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
