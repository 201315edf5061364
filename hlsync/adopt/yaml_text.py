"""Config data as YAML text, the same bytes for the same data: what ``hlsync export``
writes and a reviewer diffs.

Block style only (one key or list item a line, two spaces a level), keys in the order
the data gives them (the exporter orders them), and a string written plain only when
no YAML reader could take it for anything else; otherwise in double quotes with the
escapes YAML and JSON share. So the text loads back, with hlsync's YAML 1.2 core
loader (and with YAML 1.1 readers such as editors), to exactly the data written:
``country: "NO"`` stays the string "NO", ``"2023-04-17"`` a string, ``"0o17"`` too.

:func:`escape_variables` makes upstream text safe from ``${VAR}`` substitution
(``hlsync.config.envsubst``): every ``${`` becomes ``$${``, which the loader turns back
into ``${``. Data carried over from a source config as written (:class:`Verbatim`) keeps
its ``${VAR}`` references.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from hlsync.kinds.base import Verbatim

INDENT = "  "
# Text safe to write plain: starts with a letter or "_", then letters, digits and
# ". _ @ / + -", single spaces between words, no ": " or " #" (they cannot occur).
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.@/+-]*(?: [A-Za-z0-9_.@/+()-]+)*")
# Words some YAML reader takes for a boolean or null (YAML 1.1 included).
_RESERVED = frozenset(
    {"y", "yes", "n", "no", "true", "false", "on", "off", "null", "nan", "inf"}
)
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\x00": "\\0",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
    "\ufeff": "\\uFEFF",
}


def dump(data: Mapping[str, Any]) -> str:
    """A mapping as a YAML document (no ``---``), ending in a newline."""
    lines = list(_mapping(data, 0))
    return "\n".join(lines) + "\n" if lines else "{}\n"


def escape_variables(value: Any) -> Any:
    """``value`` with ``${`` written ``$${`` in every string value (not in keys), so
    upstream text is not taken for a variable; :class:`Verbatim` parts are left as
    they are."""
    if isinstance(value, Verbatim):
        return value
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, Mapping):
        return {k: escape_variables(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_variables(v) for v in value]
    return value


def scalar(value: Any) -> str:
    """One scalar as YAML text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no YAML form hlsync reads back")
        text = repr(value)
        return text if "." in text or "e" in text else text + ".0"
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"no YAML form for {type(value).__name__}")


def _string(text: str) -> str:
    if _PLAIN.fullmatch(text) and text.casefold() not in _RESERVED:
        return text
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            out.append(f"\\x{ord(char):02X}")
        elif 0xD800 <= ord(char) <= 0xDFFF:
            raise ValueError("a lone surrogate has no YAML form")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _empty(value: Any) -> str | None:
    if isinstance(value, Mapping) and not value:
        return "{}"
    if isinstance(value, list | tuple) and not value:
        return "[]"
    return None


def _mapping(data: Mapping[str, Any], depth: int) -> Iterator[str]:
    pad = INDENT * depth
    for key, value in data.items():
        head = f"{pad}{_string(str(key))}:"
        yield from _entry(head, value, depth)


def _entry(head: str, value: Any, depth: int) -> Iterator[str]:
    empty = _empty(value)
    if empty is not None:
        yield f"{head} {empty}"
    elif isinstance(value, Mapping):
        yield head
        yield from _mapping(value, depth + 1)
    elif isinstance(value, list | tuple):
        yield head
        yield from _sequence(value, depth + 1)
    else:
        yield f"{head} {scalar(value)}"


def _sequence(items: list[Any] | tuple[Any, ...], depth: int) -> Iterator[str]:
    pad = INDENT * depth
    for item in items:
        empty = _empty(item)
        if empty is not None:
            yield f"{pad}- {empty}"
        elif isinstance(item, Mapping):
            lines = list(_mapping(item, depth + 1))
            yield f"{pad}- {lines[0].lstrip()}"
            yield from lines[1:]
        elif isinstance(item, list | tuple):
            yield f"{pad}-"
            yield from _sequence(item, depth + 1)
        else:
            yield f"{pad}- {scalar(item)}"
