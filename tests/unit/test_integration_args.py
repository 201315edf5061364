"""NAME, PATH and --by: one definition shared by every command that names an integration."""

from __future__ import annotations

import argparse

import pytest

from hlsync.cli import build_parser
from hlsync.commands.arguments import add_integration_args

COMMANDS = [
    ["confirm"],
    ["verify"],
    ["token", "deliver"],
    ["token", "rotate"],
    ["token", "cancel-rotation"],
    ["token", "expire-old"],
]


def _actions(parser: argparse.ArgumentParser) -> dict[str, tuple[object, ...]]:
    return {
        a.dest: (a.metavar, a.default, a.nargs, a.help)
        for a in parser._actions
        if a.dest in ("name", "path", "by")
    }


def _subparser(words: list[str]) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in words:
        (sub,) = [
            a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
        ]
        parser = sub.choices[word]
    return parser


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_command_takes_them_from_the_one_helper(words: list[str]) -> None:
    shared = argparse.ArgumentParser()
    by = {"confirm": "who made the change", "deliver": "who delivers it"}.get(words[-1])
    add_integration_args(shared, by=by)
    assert _actions(_subparser(words)) == _actions(shared)
    args = _subparser(words).parse_args(["main/bot"])
    assert (args.name, args.path) == ("main/bot", ".")


def test_by_is_added_only_when_asked() -> None:
    bare, with_by = argparse.ArgumentParser(), argparse.ArgumentParser()
    add_integration_args(bare)
    add_integration_args(with_by, by="who did it")
    assert "by" not in _actions(bare)
    assert _actions(with_by)["by"] == (
        "WHO",
        None,
        None,
        "who did it, for the ledger's history (default: $USER)",
    )
