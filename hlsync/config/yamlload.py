"""Safe YAML loading with positions: plain data plus a side table of marks.

``load_yaml(path, display)`` never raises for a user's mistake; it returns a
:class:`YamlDoc` whose ``problems`` say what is wrong and where. The data is made only of
``dict`` (string keys), ``list``, ``str``, ``int``, ``float``, ``bool`` and ``None``, so the
JSON Schema and the digest see exactly what JSON would.

Why our own construction instead of ``yaml.safe_load``:

* positions: every value's start (``marks``) and every mapping key's start
  (``key_marks``) are recorded under its JSON path, e.g. ``("locations", "main", "id")``,
  so a schema error's ``absolute_path`` finds its line and column (STYLE.md §5);
* duplicate keys in a mapping are an error (PyYAML silently keeps the last one);
* YAML 1.2 core-schema scalars: only ``true``/``false`` are booleans (``country: NO`` stays
  the string "NO"), and dates stay strings;
* only the JSON-like tags are accepted (``!!str``, ``!!int``, ``!!float``, ``!!bool``,
  ``!!null``, ``!!seq``, ``!!map`` and merge keys ``<<``); anything else is refused;
* libyaml scans and parses when PyYAML has it (4x faster on large files); composition
  stays in Python so the limits below hold, and an error is re-parsed by the pure-Python
  parser whose messages and positions users see;
* absurd input is refused with the limit in the message: a file over
  :data:`MAX_FILE_BYTES`, nesting deeper than :data:`MAX_DEPTH`, more than
  :data:`MAX_ALIAS_EXPANSIONS` alias expansions (the "billion laughs" bomb), recursive
  aliases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from hlsync.errors import Location, Problem

JsonPath = tuple[str | int, ...]

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_EXPANSIONS = 1000

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (
    _TAG + t for t in ("str", "int", "float", "bool", "null")
)
SEQ, MAP, MERGE = (_TAG + t for t in ("seq", "map", "merge"))
_SCALAR_TAGS = frozenset({STR, INT, FLOAT, BOOL, NULL})

_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")


class _CoreResolver(BaseResolver):
    """YAML 1.2 core schema (minus .inf/.nan, which JSON cannot hold)."""


_CoreResolver.add_implicit_resolver(
    NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_CoreResolver.add_implicit_resolver(
    BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_CoreResolver.add_implicit_resolver(INT, _INT_RE, list("-+0123456789"))
_CoreResolver.add_implicit_resolver(FLOAT, _FLOAT_RE, list("-+.0123456789"))
_CoreResolver.add_implicit_resolver(MERGE, re.compile(r"^<<$"), ["<"])


class LimitExceeded(Exception):
    """Raised inside composition when input passes one of the limits."""

    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _DepthLimit(Composer):
    """PyYAML's composer with a depth limit; builds nodes only, never Python objects."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                parser: Any = self  # Parser or CParser supplies the events
                mark = parser.peek_event().start_mark
                raise LimitExceeded(
                    f"nesting deeper than {MAX_DEPTH} levels is not allowed", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Composer(Reader, Scanner, Parser, _DepthLimit, _CoreResolver):
    """Pure-Python scanning and parsing: slow, but its error messages are the clear ones."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _DepthLimit.__init__(self)
        _CoreResolver.__init__(self)


class _NodeSource(Protocol):
    def get_single_node(self) -> Node | None: ...
    def dispose(self) -> None: ...


_FastComposer: Callable[[str], _NodeSource] | None = None
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _CComposer(_DepthLimit, CParser, _CoreResolver):
        """libyaml scans and parses (about 4x faster), Python composes the nodes, so
        the depth limit still applies. Marks are the same as the pure-Python ones."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _DepthLimit.__init__(self)
            _CoreResolver.__init__(self)

    _FastComposer = _CComposer


def _compose(text: str) -> Node | None:
    """The document's node graph; libyaml when present, and the pure-Python parser to
    explain any error (libyaml's messages are terser and placed differently)."""
    if _FastComposer is not None:
        fast: _NodeSource = _FastComposer(text)
        try:
            node: Node | None = fast.get_single_node()
            return node
        except LimitExceeded:
            raise
        except yaml.YAMLError:
            pass
        finally:
            fast.dispose()
    slow: _NodeSource = _Composer(text)
    try:
        node = slow.get_single_node()
        return node
    finally:
        slow.dispose()


@dataclass(slots=True)
class YamlDoc:
    """One loaded file: its data (``None`` when empty or unreadable) and positions."""

    file: str
    data: Any = None
    marks: dict[JsonPath, Location] = field(default_factory=dict)
    key_marks: dict[JsonPath, Location] = field(default_factory=dict)
    styles: dict[JsonPath, str | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    failed: bool = False  # unreadable or refused: ``data`` is None and must not be used
    text: str = ""  # the file's text, for checks that read more than values (comments)

    def where(self, path: JsonPath) -> Location:
        return nearest_mark(self.marks, path, self.file)


def nearest_mark(
    marks: dict[JsonPath, Location], path: JsonPath, file: str
) -> Location:
    """The mark of ``path``, or of its nearest ancestor that has one."""
    probe = tuple(path)
    while True:
        found = marks.get(probe)
        if found is not None:
            return found
        if not probe:
            return Location(file, 1, 1)
        probe = probe[:-1]


def read_text(
    path: Path, display: str, *, limit: int | None = None
) -> tuple[str | None, Problem | None]:
    """A file's text, refusing unreadable, oversized, binary or non-UTF-8 files.

    ``limit`` is in bytes and defaults to :data:`MAX_FILE_BYTES`.
    """
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        size = path.stat().st_size
        if size > limit:
            return None, Problem(
                f"file is {size:,} bytes; the limit is {limit // (1024 * 1024)} MiB",
                Location(display),
                "split the config, or move large contact sets to a CSV file",
            )
        raw = path.read_bytes()
    except OSError as exc:
        return None, Problem(f"cannot read file: {exc.strerror}", Location(display))
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Problem(
            "file is not UTF-8 text (binary file?)", Location(display, line, column)
        )
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        return None, Problem(
            "file holds a NUL byte (binary file?)", Location(display, line, column)
        )
    return text, None


def load_yaml(path: Path, display: str) -> YamlDoc:
    """Load one YAML file (a single document) into plain data plus marks."""
    doc = YamlDoc(display)
    text, problem = read_text(path, display)
    if problem is not None or text is None:
        doc.problems.append(problem or Problem("cannot read file", Location(display)))
        doc.failed = True
        return doc
    return load_yaml_text(text, display)


def load_yaml_text(text: str, display: str) -> YamlDoc:
    """Like :func:`load_yaml` for text already in memory (``display`` names it)."""
    doc = YamlDoc(display, text=text)
    try:
        node = _compose(text)
    except LimitExceeded as exc:
        doc.problems.append(Problem(exc.message, _location(display, exc.mark)))
        doc.failed = True
        return doc
    except yaml.MarkedYAMLError as exc:
        doc.problems.append(_syntax_problem(display, exc))
        doc.failed = True
        return doc
    except yaml.YAMLError as exc:
        doc.problems.append(Problem(f"YAML error: {exc}", Location(display, 1, 1)))
        doc.failed = True
        return doc
    if node is None:
        return doc
    builder = _Builder(doc)
    try:
        data = builder.build(node, ())
    except LimitExceeded as exc:
        doc.problems.append(Problem(exc.message, _location(display, exc.mark)))
        doc.failed = True
        return doc
    if builder.fatal:
        doc.failed = True
    else:
        doc.data = data
    return doc


def _location(display: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(display, 1, 1)
    return Location(display, mark.line + 1, mark.column + 1)


def _syntax_problem(display: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    what = exc.problem or "invalid YAML"
    text = f"YAML syntax error: {what}"
    if exc.context:
        text += f" ({exc.context}"
        start = exc.context_mark
        if start is not None and mark is not None and start.line != mark.line:
            text += f" started at line {start.line + 1}"
        text += ")"
    hint = None
    if "expected a single document" in (exc.context or ""):
        text = "a config file holds one YAML document; found a second '---'"
        hint = "split the documents into separate files of a directory config"
    elif "found character '\\t'" in what:
        hint = "YAML indentation uses spaces, not tabs"
    return Problem(text, _location(display, mark), hint)


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


class _Builder:
    """Turns a node graph into plain data, recording marks and enforcing the limits."""

    def __init__(self, doc: YamlDoc) -> None:
        self.doc = doc
        self.fatal = False  # an unsupported tag: the whole document is refused
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.expansions = 0

    def problem(self, message: str, node: Node, hint: str | None = None) -> None:
        self.doc.problems.append(
            Problem(message, _location(self.doc.file, node.start_mark), hint)
        )

    def build(self, node: Node, path: JsonPath) -> Any:
        ident = id(node)
        if ident in self.active:
            raise LimitExceeded(
                "recursive YAML alias (a node contains itself)", node.start_mark
            )
        if ident in self.seen and not isinstance(node, ScalarNode):
            self.expansions += 1
            if self.expansions > MAX_ALIAS_EXPANSIONS:
                raise LimitExceeded(
                    f"more than {MAX_ALIAS_EXPANSIONS} alias expansions "
                    "(an alias bomb?); refusing the document",
                    node.start_mark,
                )
        self.seen.add(ident)
        self.doc.marks[path] = _location(self.doc.file, node.start_mark)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        self.active.add(ident)
        try:
            if isinstance(node, SequenceNode):
                if node.tag != SEQ:
                    self._bad_tag(node)
                return [
                    self.build(item, (*path, i)) for i, item in enumerate(node.value)
                ]
            if isinstance(node, MappingNode):
                if node.tag != MAP:
                    self._bad_tag(node)
                return self._mapping(node, path)
        finally:
            self.active.discard(ident)
        self.problem("unsupported YAML node", node)
        return None

    def _bad_tag(self, node: Node) -> None:
        self.fatal = True
        self.problem(
            f"unsupported YAML tag {_tag_name(node.tag)}; refusing the document",
            node,
            "only plain YAML values are allowed (strings, numbers, booleans, "
            "null, lists, mappings)",
        )

    def _scalar(self, node: ScalarNode, path: JsonPath) -> Any:
        tag, value = node.tag, node.value
        if tag not in _SCALAR_TAGS:
            self._bad_tag(node)
            return None
        if tag == STR:
            self.doc.styles[path] = node.style or None  # libyaml says "" for plain
            return value
        if tag == NULL:
            return None
        if tag == BOOL:
            if value.lower() in ("true", "false"):
                return value.lower() == "true"
        elif tag == INT and _INT_RE.match(value):
            if value.startswith(("0o", "0x")):
                return int(value[2:], 8 if value[1] == "o" else 16)
            return int(value)
        elif tag == FLOAT and _FLOAT_RE.match(value):
            return float(value)
        self.fatal = True
        self.problem(f"{value!r} is not a valid {_tag_name(tag)}", node)
        return None

    def _key(self, node: Node) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag not in _SCALAR_TAGS:
            self.problem("mapping keys must be plain strings", node)
            return None
        if node.tag == NULL:
            self.problem("empty mapping key", node)
            return None
        return str(node.value)

    def _mapping(self, node: MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        merged_marks: dict[str, tuple[Location, Location]] = {}
        first_seen: dict[str, Location] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                self._merge(value_node, path, merged, merged_marks)
                continue
            key = self._key(key_node)
            if key is None:
                continue
            key_loc = _location(self.doc.file, key_node.start_mark)
            if key in first_seen:
                self.problem(
                    f'duplicate key "{key}" (first defined at line '
                    f"{first_seen[key].line})",
                    key_node,
                    "remove one of them; YAML keeps only one value per key",
                )
                continue
            first_seen[key] = key_loc
            self.doc.key_marks[(*path, key)] = key_loc
            result[key] = self.build(value_node, (*path, key))
            if not isinstance(value_node, ScalarNode):
                # a mapping or list is placed at its key: "main:" rather than the
                # first line inside it
                self.doc.marks[(*path, key)] = key_loc
        for key, value in merged.items():
            if key not in result:
                result[key] = value
                key_loc, value_loc = merged_marks[key]
                self.doc.key_marks.setdefault((*path, key), key_loc)
                self.doc.marks.setdefault((*path, key), value_loc)
        return result

    def _merge(
        self,
        value: Node,
        path: JsonPath,
        merged: dict[str, Any],
        marks: dict[str, tuple[Location, Location]],
    ) -> None:
        """``<<: *base`` or ``<<: [*a, *b]``; earlier sources win, explicit keys win."""
        sources = value.value if isinstance(value, SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, MappingNode):
                self.problem(
                    "a merge key '<<' needs a mapping or a list of them", source
                )
                continue
            scratch = YamlDoc(self.doc.file)
            sub = _Builder(scratch)
            sub.seen, sub.active, sub.expansions = (
                self.seen,
                self.active,
                self.expansions,
            )
            data = sub.build(source, ())
            self.expansions = sub.expansions
            self.doc.problems.extend(scratch.problems)
            for key, item in data.items():
                if key in merged:
                    continue
                merged[key] = item
                marks[key] = (scratch.key_marks[(key,)], scratch.marks[(key,)])
                for sub_path, loc in scratch.marks.items():
                    if sub_path[:1] == (key,) and len(sub_path) > 1:
                        self.doc.marks.setdefault((*path, *sub_path), loc)
                for sub_path, loc in scratch.key_marks.items():
                    if sub_path[:1] == (key,) and len(sub_path) > 1:
                        self.doc.key_marks.setdefault((*path, *sub_path), loc)
