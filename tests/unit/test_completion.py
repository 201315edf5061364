"""``hlsync completion SHELL``: scripts generated from the argparse tree.

The tree must hold every command and flag of the parser (walked here independently);
bash's script is exercised in bash itself (the words of a command line in, the
completions out); zsh and fish are syntax-checked, and fish's completions asked for,
where those shells are installed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hlsync.cli import build_parser, main
from hlsync.commands.completion import script
from hlsync.completion.tree import Node, command_tree


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("hlsync",)
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def test_the_tree_holds_every_command_and_flag_of_the_parser() -> None:
    tree = {node.path: node for node in command_tree(build_parser()).walk()}
    parsers = dict(_parsers(build_parser()))
    assert set(tree) == set(parsers)
    assert len(tree) == 21  # 14 commands, 4 token verbs, serve, reset and the root
    for path, parser in parsers.items():
        node = tree[path]
        assert {f for o in node.options for f in o.flags} == _flags(parser), path


def test_values_complete_to_choices_files_and_folders() -> None:
    tree = {n.words: n for n in command_tree(build_parser()).walk()}

    def value(words: str, flag: str) -> tuple[str, tuple[str, ...]]:
        (option,) = [o for o in tree[words].options if flag in o.flags]
        assert option.value is not None
        return option.value.kind, option.value.choices

    assert value("hlsync plan", "--format") == (
        "choices",
        ("text", "markdown", "json"),
    )
    assert value("hlsync plan", "--out") == ("file", ())
    assert value("hlsync plan", "--allow-path") == ("dir", ())
    assert value("hlsync plan", "--location") == ("text", ())
    assert value("hlsync init", "--ci")[1] == ("github", "gitlab", "pre-commit", "none")
    assert [p.value.kind for p in tree["hlsync init"].positionals] == ["dir"]
    assert [p.value.kind for p in tree["hlsync apply"].positionals] == ["file"]
    assert [p.value.choices for p in tree["hlsync completion"].positionals] == [
        ("bash", "zsh", "fish")
    ]
    assert [
        o.value for o in tree["hlsync plan"].options if "--no-color" in o.flags
    ] == [None]


def test_the_command_prints_each_script(capsys: pytest.CaptureFixture[str]) -> None:
    for shell in ("bash", "zsh", "fish"):
        assert main(["completion", shell]) == 0
        assert capsys.readouterr().out == script(shell)
    assert main(["completion", "tcsh"]) == 1
    assert "invalid choice: 'tcsh'" in capsys.readouterr().err


def _every_word(root: Node) -> set[str]:
    words = set()
    for node in root.walk():
        words |= {c.path[-1] for c in node.children}
        words |= {f for o in node.options for f in o.flags}
    return words


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_script_names_every_command_and_flag(shell: str) -> None:
    text = script(shell)
    for word in _every_word(command_tree(build_parser())):
        if shell == "fish" and word.startswith("-"):
            word = f"-l {word[2:]}" if word.startswith("--") else f"-s {word[1:]}"
        assert word in text, (shell, word)


# (words on the command line, the last being completed) -> completions offered
BASH_CASES = [
    (
        ["hlsync", ""],
        "init validate plan show apply export force-unlock confirm token verify "
        "scopes emulator sandbox completion",
    ),
    (["hlsync", "pl"], "plan"),
    (["hlsync", "plan", "--fo"], "--format"),
    (["hlsync", "plan", "--format", ""], "text markdown json"),
    (["hlsync", "plan", "--format", "=", "j"], "json"),  # --format=j, split at '='
    (["hlsync", "plan", "--out", "x.json", "--detailed-exitcode", "--ti"], "--timeout"),
    (["hlsync", "token", ""], "deliver rotate cancel-rotation expire-old"),
    (["hlsync", "token", "rotate", "--n"], "--now --no-color"),
    (["hlsync", "--version", "comp"], "completion"),
    (["hlsync", "completion", ""], "bash zsh fish"),
    (["hlsync", "init", "--ci", "p"], "pre-commit"),
    (["hlsync", "init", "--location", ""], ""),
    (["hlsync", "scopes", "--level", "s"], "sub-account"),
    (["hlsync", "emulator", "serve", "--po"], "--port"),
    (["hlsync", "plan", "cfg", ""], ""),  # PATH given: nothing more to complete
    (["hlsync", "apply", "co"], "config.yaml"),
    (["hlsync", "init", "s"], "sub dir"),
]


def test_bash_completes_commands_flags_and_values(tmp_path: Path) -> None:
    (tmp_path / "hlsync-completion.bash").write_text(script("bash"))
    (tmp_path / "config.yaml").write_text("")
    (tmp_path / "sub dir").mkdir()
    lines = ["source ./hlsync-completion.bash"]
    for words, _ in BASH_CASES:
        quoted = " ".join(f"'{w}'" for w in words)
        lines.append(
            f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMPREPLY=(); "
            '_hlsync; echo "${COMPREPLY[*]}"'
        )
    done = subprocess.run(
        ["bash", "-c", "\n".join(lines)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stderr == ""
    got = done.stdout.split("\n")[: len(BASH_CASES)]
    assert got == [expected for _, expected in BASH_CASES]


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_script_parses_in_its_shell(shell: str, tmp_path: Path) -> None:
    path = tmp_path / f"hlsync.{shell}"
    path.write_text(script(shell))
    done = subprocess.run(
        [_shell(shell), "-n", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_fish_completes_commands_flags_and_values(tmp_path: Path) -> None:
    fish = _shell("fish")
    path = tmp_path / "hlsync.fish"
    path.write_text(script("fish"))
    probes = ["hlsync pl", "hlsync plan --fo", "hlsync plan --format ", "hlsync token "]
    probes += ["hlsync token rotate --n", "hlsync completion "]
    commands = [f"source {path}"]
    commands += [
        f"complete -C '{p}' | cut -f1 | sort | string join ' '" for p in probes
    ]
    done = subprocess.run(
        [fish, "--no-config", "-c", "; ".join(commands)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "plan",
        "--format",
        "json markdown text",
        "cancel-rotation deliver expire-old rotate",
        "--no-color --now",
        "bash fish zsh",
    ]
