"""``hlsync validate``: success output, many problems in one run, bad paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from hlsync.cli import main


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


FIVE_PROBLEMS = """\
version: 1
locations:
  main:
    id: loc1
    integrations:
      bot:
        scopes: [contacts.raed]
    custom_fields:
      visits: {name: Visits, type: NUMERICAL}
    contacts:
      - email: not-an-email
      - email: bob@example.com
        custom_fields: {visits: many}
      - phone: "+1 555 CALL"
      - email: carol@example.com
        colour: blue
"""


def test_five_problems_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "hlsync.yaml", FIVE_PROBLEMS)
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("  hint:")]
    assert lines == [
        'hlsync.yaml:7:18: unknown scope "contacts.raed"',
        'hlsync.yaml:11:16: invalid email address "not-an-email"',
        'hlsync.yaml:13:33: custom field "visits" (NUMERICAL) takes a number, got a string',
        'hlsync.yaml:14:16: phone "+1 555 CALL" has letters; hlsync does not turn '
        "them into digits",
        'hlsync.yaml:16:9: unknown key "colour"',
        "5 problems found",
    ]


def test_valid_config_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(
        tmp_path / "cfg" / "main.yml",
        "version: 1\nlocations:\n  main:\n    id: loc1\n"
        "    contacts: [{email: a@example.com}]\n",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "cfg"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == (
        "cfg: valid — 1 location, 0 integrations, 0 custom fields, 0 tags, "
        "0 custom values, 1 contact\n"
    )


def test_warnings_print_with_their_place_and_leave_exit_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(
        tmp_path / "hlsync.yaml",
        "version: 1\nlocations:\n  main:\n    id: loc1\n    contacts:\n"
        "      - {firstName: Seed, phone: '+1234567890'}\n"
        "      - {email: a@example.com, phone: '+1 555 01'}\n",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        'hlsync.yaml:6:34: warning: phone "+1234567890" is not a valid number; '
        "kept as +1234567890\n"
        "  hint: HighLevel stores it, but calls and texts may reach nobody: check "
        "the digits\n"
        'hlsync.yaml:7:39: warning: phone "+1 555 01" is not a valid number; '
        "kept as +155501\n"
        "  hint: HighLevel stores it, but calls and texts may reach nobody: check "
        "the digits\n"
    )
    assert captured.out == (
        ".: valid — 1 location, 0 integrations, 0 custom fields, 0 tags, "
        "0 custom values, 2 contacts (2 warnings)\n"
    )


def test_path_outside_cwd_is_shown_absolute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write(tmp_path / "a" / "hlsync.yaml", "version: 1\nlocations: 5\n")
    elsewhere = tmp_path / "b"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["validate", str(config)]) == 1
    err = capsys.readouterr().err
    assert (
        err == f'error: {config}:2:12: "locations": expected a mapping, got a number\n'
    )


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "error: missing: no such file or directory"),
        ("empty-dir", "error: empty-dir: no *.yaml or *.yml files in empty-dir"),
        ("binary", "error: binary.yaml:1:3: file is not UTF-8 text (binary file?)"),
        ("nul", "error: nul.yaml:2:4: file holds a NUL byte (binary file?)"),
        ("empty", "error: empty.yaml:1:1: the config is empty"),
        (
            "list",
            "error: list.yaml:1:1: a config file must be a mapping (version: 1, locations: …)",
        ),
    ],
)
def test_bad_paths_and_files(
    setup: str,
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    target = setup
    if setup == "empty-dir":
        (tmp_path / "empty-dir").mkdir()
        (tmp_path / "empty-dir" / "notes.txt").write_text("x")
    elif setup == "binary":
        (tmp_path / "binary.yaml").write_bytes(b"ve\xff\xfersion: 1\n")
        target = "binary.yaml"
    elif setup == "nul":
        (tmp_path / "nul.yaml").write_bytes(b"version: 1\nid:\x00\n")
        target = "nul.yaml"
    elif setup == "empty":
        (tmp_path / "empty.yaml").write_text("# nothing here\n")
        target = "empty.yaml"
    elif setup == "list":
        (tmp_path / "list.yaml").write_text("- version: 1\n")
        target = "list.yaml"
    assert main(["validate", target]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[0] == expected
    assert "Traceback" not in err


def test_unlistable_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cfg").mkdir()
    monkeypatch.chdir(tmp_path)

    def refuse(self: Path) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refuse)
    assert main(["validate", "cfg"]) == 1
    assert capsys.readouterr().err == (
        "error: cfg: cannot list the directory: Permission denied\n"
    )
