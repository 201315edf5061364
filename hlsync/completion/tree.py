"""The ``hlsync`` command line as plain data, read from the argparse parser itself.

Every completion script (:mod:`hlsync.completion.bash`, ``zsh``, ``fish``) is rendered
from the :class:`Node` tree that :func:`command_tree` builds out of
``hlsync.cli.build_parser()``: a command, flag or choice added to the parser appears in
every shell's completion without anyone touching these modules, so they cannot drift
from the CLI.

What a value completes to is read from the argparse action: its ``choices``; else a
folder when its metavar names a ``DIR``; else a file when it is a ``Path`` or its
metavar (or name) says ``FILE`` or ``PATH``; else nothing (a name, a number, an id).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ValueKind = Literal["choices", "file", "dir", "text"]


@dataclass(frozen=True, slots=True)
class Value:
    """What an option's value or a positional argument completes to."""

    kind: ValueKind
    choices: tuple[str, ...] = ()
    label: str = "VALUE"


@dataclass(frozen=True, slots=True)
class Option:
    """One flag with its spellings (``-h``, ``--help``); ``value`` is None for a flag
    that takes none; ``repeatable`` for ``action="append"``."""

    flags: tuple[str, ...]
    help: str
    value: Value | None
    repeatable: bool

    @property
    def exclusive(self) -> bool:
        """``--help`` and ``--version`` end the command line: nothing follows them."""
        return any(flag in {"-h", "--help", "--version"} for flag in self.flags)


@dataclass(frozen=True, slots=True)
class Positional:
    name: str
    help: str
    value: Value
    optional: bool


@dataclass(frozen=True, slots=True)
class Node:
    """A command (``("hlsync", "token", "rotate")``), its flags, positionals and
    subcommands, in the parser's order."""

    path: tuple[str, ...]
    help: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]
    children: tuple[Node, ...]

    @property
    def words(self) -> str:
        """The path as typed: ``hlsync token rotate``."""
        return " ".join(self.path)

    def walk(self) -> tuple[Node, ...]:
        """This node and every node under it, depth first, in the parser's order."""
        nodes: list[Node] = [self]
        for child in self.children:
            nodes.extend(child.walk())
        return tuple(nodes)

    def value_flags(self) -> tuple[str, ...]:
        """Every spelling of the flags that take a value."""
        return tuple(f for o in self.options if o.value is not None for f in o.flags)


def command_tree(parser: argparse.ArgumentParser, name: str = "hlsync") -> Node:
    """The tree of ``parser`` (the root is ``name``)."""
    return _node(parser, (name,), parser.description or "")


def _node(parser: argparse.ArgumentParser, path: tuple[str, ...], text: str) -> Node:
    options: list[Option] = []
    positionals: list[Positional] = []
    children: list[Node] = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for word, child in action.choices.items():
                children.append(_node(child, (*path, word), helps.get(word, "")))
        elif action.option_strings:
            options.append(
                Option(
                    flags=tuple(action.option_strings),
                    help=_first_sentence(action.help),
                    value=_value(action) if action.nargs != 0 else None,
                    repeatable=isinstance(action, argparse._AppendAction),
                )
            )
        else:
            positionals.append(
                Positional(
                    name=action.dest,
                    help=_first_sentence(action.help),
                    value=_value(action),
                    optional=action.nargs in ("?", "*"),
                )
            )
    return Node(
        path,
        _first_sentence(text),
        tuple(options),
        tuple(positionals),
        tuple(children),
    )


_SAFE = re.compile(r"[A-Za-z0-9_.:/+=@-]+")


def shell_word(word: str) -> str:
    """``word`` when it is safe to paste into any shell's script unquoted (command
    names, flags and choices are); a name that is not is a bug in hlsync's parser."""
    if not _SAFE.fullmatch(word):
        raise ValueError(f"completion: {word!r} is not a plain word")
    return word


def _value(action: argparse.Action) -> Value:
    label = str(action.metavar or action.dest).upper()
    if action.choices is not None:
        return Value("choices", tuple(str(c) for c in action.choices), label)
    if "DIR" in label:
        return Value("dir", label=label)
    if action.type is Path or "FILE" in label or "PATH" in label:
        return Value("file", label=label)
    return Value("text", label=label)


def _first_sentence(text: str | None) -> str:
    """The help up to its first sentence's end, on one line (a completion menu shows
    one short line per entry)."""
    if not text:
        return ""
    flat = " ".join(text.split())
    for end in (". ", "; "):
        if end in flat:
            flat = flat[: flat.index(end)]
    return flat.rstrip(".")
