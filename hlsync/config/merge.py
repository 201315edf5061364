"""Merging config data while keeping every value's position.

Two merges, two rules:

* **files of a directory** (:func:`merge_documents`): mappings merge key by key; a key
  path holding a non-mapping value in two files is an error naming both places (an equal
  ``version`` in every file is allowed);
* **templates** (:func:`overlay`): a deep merge where the later layer wins: mappings merge
  key by key, the lists named in :data:`JOINED` (``tags``, ``contacts``,
  ``contacts_from``) are joined, anything else is replaced.

Positions travel with the data as ``Marks`` (JSON path -> Location), relative to the
merged value, so a problem found after a merge still points at the line where the value
was written (in the template or in the location).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from hlsync.config.yamlload import JsonPath, YamlDoc
from hlsync.errors import Location, Problem

Marks = dict[JsonPath, Location]
JOINED = frozenset({"tags", "contacts", "contacts_from"})


def merge_documents(
    docs: Iterable[YamlDoc],
) -> tuple[dict[str, Any], Marks, Marks, list[Problem]]:
    """Merge the files of a directory config, in the order given."""
    data: dict[str, Any] = {}
    marks: Marks = {}
    key_marks: Marks = {}
    problems: list[Problem] = []
    for doc in docs:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(
                Problem(
                    "a config file must be a mapping (version: 1, locations: …)",
                    doc.where(()),
                )
            )
            doc.failed = True
            continue
        _merge_into(data, doc.data, (), doc, key_marks, problems)
        for path, loc in doc.marks.items():
            marks.setdefault(path, loc)
        for path, loc in doc.key_marks.items():
            key_marks.setdefault(path, loc)
    return data, marks, key_marks, problems


def _merge_into(
    target: dict[str, Any],
    source: dict[str, Any],
    path: JsonPath,
    doc: YamlDoc,
    key_marks: Marks,
    problems: list[Problem],
) -> None:
    for key, value in source.items():
        here = (*path, key)
        if key not in target:
            target[key] = value
            continue
        old = target[key]
        if isinstance(old, dict) and isinstance(value, dict):
            _merge_into(old, value, here, doc, key_marks, problems)
            continue
        if here == ("version",) and old == value:
            continue
        first = key_marks.get(here)
        dotted = ".".join(str(p) for p in here)
        problems.append(
            Problem(
                f'"{dotted}" is defined twice; first at {first}',
                doc.key_marks.get(here) or doc.where(here),
                "define each key in one file only",
            )
        )


def relative(marks: Mapping[JsonPath, Location], prefix: JsonPath) -> Marks:
    """The marks under ``prefix``, with ``prefix`` removed from their paths."""
    size = len(prefix)
    return {p[size:]: loc for p, loc in marks.items() if p[:size] == prefix}


class _Index:
    """Marks grouped by their first path element, so copying a subtree is cheap."""

    def __init__(self, marks: Marks) -> None:
        self.root = marks.get(())
        self.groups: dict[str | int, list[tuple[JsonPath, Location]]] = defaultdict(
            list
        )
        for path, loc in marks.items():
            if path:
                self.groups[path[0]].append((path, loc))

    def copy(self, prefix: JsonPath, out: Marks, shift: int = 0) -> None:
        """Copy marks under ``prefix``; ``shift`` moves list indices right after it."""
        if not prefix:
            return
        size = len(prefix)
        for path, loc in self.groups.get(prefix[0], ()):
            if path[:size] != prefix:
                continue
            if shift and len(path) > size:
                index = path[size]
                if isinstance(index, int):
                    path = (*prefix, index + shift, *path[size + 1 :])
            out[path] = loc


def overlay(
    base: dict[str, Any], base_marks: Marks, over: dict[str, Any], over_marks: Marks
) -> tuple[dict[str, Any], Marks]:
    """Deep-merge ``over`` onto ``base`` (see the module docstring); ``over`` wins."""
    out: Marks = {}
    bi, oi = _Index(base_marks), _Index(over_marks)
    root = oi.root or bi.root
    if root is not None:
        out[()] = root
    data = _overlay(base, over, (), bi, oi, out)
    return data, out


def _overlay(
    base: dict[str, Any],
    over: dict[str, Any],
    path: JsonPath,
    bi: _Index,
    oi: _Index,
    out: Marks,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key in (*base, *(k for k in over if k not in base)):
        here = (*path, key)
        if key not in over:
            result[key] = base[key]
            bi.copy(here, out)
            continue
        if key not in base:
            result[key] = over[key]
            oi.copy(here, out)
            continue
        old, new = base[key], over[key]
        if isinstance(old, dict) and isinstance(new, dict):
            loc = _exact(oi, here) or _exact(bi, here)
            if loc is not None:
                out[here] = loc
            result[key] = _overlay(old, new, here, bi, oi, out)
        elif not path and key in JOINED:
            old_list = old if isinstance(old, list) else [old]
            new_list = new if isinstance(new, list) else [new]
            result[key] = [*old_list, *new_list]
            if isinstance(old, list):
                bi.copy(here, out)
            else:
                _copy_scalar(bi, here, out, 0)
            if isinstance(new, list):
                oi.copy(here, out, shift=len(old_list))
            else:
                _copy_scalar(oi, here, out, len(old_list))
            out[here] = _exact(oi, here) or out.get(here) or _fallback(out)
        else:
            result[key] = new
            oi.copy(here, out)
    return result


def _exact(index: _Index, path: JsonPath) -> Location | None:
    for candidate, loc in index.groups.get(path[0], ()):
        if candidate == path:
            return loc
    return None


def _copy_scalar(index: _Index, path: JsonPath, out: Marks, position: int) -> None:
    """A single value (``contacts_from: a.csv``) joined into a list sits at ``position``."""
    loc = _exact(index, path)
    if loc is not None:
        out[(*path, position)] = loc


def _fallback(out: Marks) -> Location:
    return out.get(()) or Location("<config>", 1, 1)
