"""Every broken config in tests/data/invalid/ fails with exactly its one expected problem.

Each case is a file, or a directory holding a directory config; the first line of the
case file (of the first YAML file for a directory) reads::

    # expect: [FILE:]LINE:COLUMN: message  [# hint: text]

FILE (relative to a directory case) is omitted when the problem is in the case file
itself. The test runs ``hlsync validate`` on the case from the repository root and checks
the exit code, the exact ``file:line:column: message`` line, the hint, and that nothing
printed is a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from hlsync.cli import main
from tests.conftest import REPO

INVALID = REPO / "tests" / "data" / "invalid"
_EXPECT = re.compile(
    r"^# expect: (?P<where>(?:[^:\s]+:)?\d+:\d+): (?P<message>.*?)(?:  # hint: (?P<hint>.*))?$"
)


@dataclass(frozen=True)
class Case:
    path: Path
    where: str
    message: str
    hint: str | None


def _cases() -> list[Case]:
    cases = []
    for path in sorted(INVALID.iterdir()):
        header = sorted(path.glob("*.yaml"))[0] if path.is_dir() else path
        first = header.read_text(encoding="utf-8").splitlines()[0]
        match = _EXPECT.match(first)
        if match is None:
            raise AssertionError(f"{header}: first line is not '# expect: …'")
        relative = path.relative_to(REPO).as_posix()
        where = match["where"]
        if path.is_dir():
            where = f"{relative}/{where}"
        else:
            where = f"{relative}:{where}"
        cases.append(Case(path, where, match["message"], match["hint"]))
    return cases


CASES = _cases()


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.path.name for c in CASES])
def test_invalid_config(
    case: Case, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code = main(["validate", case.path.relative_to(REPO).as_posix()])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    # one problem: cli.main prints it as "error: file:line:column: message"
    assert lines[0] == f"error: {case.where}: {case.message}"
    assert not any(line.endswith("problems found") for line in lines)
    if case.hint is not None:
        assert len(lines) == 2
        assert lines[1].startswith("  hint: ")
        assert case.hint in lines[1]


def _directory_config(tmp_path: Path) -> Path:
    config = tmp_path / "conf"
    config.mkdir()
    (config / "main.yaml").write_text(
        "version: 1\nlocations:\n  main:\n    id: loc_main\n", encoding="utf-8"
    )
    return config


def _validate(config: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code = main(["validate", config.name])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    return err.splitlines()


def test_dangling_symlinked_yaml_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _directory_config(tmp_path)
    (config / "fields.yaml").symlink_to(tmp_path / "gone.yaml")
    monkeypatch.chdir(tmp_path)
    lines = _validate(config, capsys)
    assert lines[0] == (
        "error: conf/fields.yaml: broken symbolic link "
        f"(its target {tmp_path / 'gone.yaml'} does not exist)"
    )
    assert lines[1].startswith("  hint: point the link at a config file")


def test_every_yaml_entry_that_is_not_a_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _directory_config(tmp_path)
    (config / "a.yml").symlink_to("missing.yml")
    (config / "b.yaml").mkdir()
    (config / "linked.yaml").symlink_to(config / "main.yaml")  # a file: fine
    (config / ".hidden.yaml").symlink_to("missing.yml")  # hidden: ignored
    monkeypatch.chdir(tmp_path)
    lines = _validate(config, capsys)
    assert [line for line in lines if not line.startswith("  ")] == [
        "conf/a.yml: broken symbolic link (its target missing.yml does not exist)",
        "conf/b.yaml: is a directory, not a config file",
        "2 problems found",
    ]
