"""``${VAR}`` and ``${VAR:-default}`` in config strings, from the environment.

Substitution applies to string *values* (never to mapping keys) after YAML is parsed, so
a variable can never inject YAML structure. ``$${`` writes a literal ``${``. An unset
variable without a default is a problem at the exact line and column of its ``${`` (for
plain and quoted one-line scalars; for block scalars the scalar's start is used).
``${VAR:-default}`` also uses the default when the variable is set but empty, as in POSIX
shells.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hlsync.config.yamlload import JsonPath, nearest_mark
from hlsync.errors import Location, Problem

_REF = re.compile(
    r"\$\$\{|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}|\$\{"
)


def expand_string(
    text: str, env: Mapping[str, str]
) -> tuple[str, list[tuple[int, str, str | None]]]:
    """Expand one string; returns the result and ``(offset, message, hint)`` problems."""
    if "${" not in text:
        return text, []
    problems: list[tuple[int, str, str | None]] = []

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        name = match.group("name")
        if name is None:
            problems.append(
                (
                    match.start(),
                    "malformed variable reference: expected ${NAME} or "
                    "${NAME:-default}",
                    "write $${ for a literal ${",
                )
            )
            return token
        value = env.get(name)
        default = match.group("default")
        if default is not None and not value:
            return default
        if value is None:
            problems.append(
                (
                    match.start(),
                    f"environment variable {name} is not set",
                    f"export {name}=…, or give a default: ${{{name}:-value}}",
                )
            )
            return token
        return value

    return _REF.sub(replace, text), problems


def expand_tree(
    data: Any,
    marks: Mapping[JsonPath, Location],
    styles: Mapping[JsonPath, str | None],
    env: Mapping[str, str],
    file: str,
) -> tuple[Any, list[tuple[JsonPath, Problem]]]:
    """Expand every string value in ``data``; returns the new tree and the problems,
    each with the JSON path of the value it is about."""
    problems: list[tuple[JsonPath, Problem]] = []

    def walk(node: Any, path: JsonPath) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, (*path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*path, i)) for i, v in enumerate(node)]
        if isinstance(node, str):
            result, found = expand_string(node, env)
            for offset, message, hint in found:
                where = _position(marks, styles, path, file, node, offset)
                problems.append((path, Problem(message, where, hint)))
            return result
        return node

    return walk(data, ()), problems


def _position(
    marks: Mapping[JsonPath, Location],
    styles: Mapping[JsonPath, str | None],
    path: JsonPath,
    file: str,
    text: str,
    offset: int,
) -> Location:
    start = nearest_mark(dict(marks), path, file) if path not in marks else marks[path]
    style = styles.get(path)
    if style in ("|", ">") or "\n" in text[:offset] or path not in marks:
        return start
    quote = 1 if style in ("'", '"') else 0
    return Location(start.file, start.line, start.column + quote + offset)
