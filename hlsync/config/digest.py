"""The config digest: sha256 of the canonical JSON of the resolved model.

``config_digest(state, root_dir)`` hashes the JSON (sorted keys, no whitespace) of every
``compare=True`` field of :class:`~hlsync.core.model.DesiredState`, with file paths
relative to the config root, so the same config gives the same digest wherever it is
checked out. The JSON is a generic walk of the model's dataclasses, not written out by
hand, so a new field or a new kind is in the digest the day it is added
(``tests/unit/test_config_digest.py``).

The text is fed to the hash a piece at a time as it is encoded, dataclasses and
sequences walked in place, so the digest of 100,000 seed contacts never holds a JSON
copy of them (nor the text) in memory: its bytes are exactly those of
``json.dumps(tree, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from hlsync.config.durations import format_duration
from hlsync.core.model import DesiredState

# DesiredState's own bookkeeping, not config: the digest itself, and where it was loaded
_NOT_CONFIG = frozenset({"config_digest", "root"})
_LONG = 64  # a sequence longer than this is encoded an item at a time
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False
).encode


def config_digest(state: DesiredState, root_dir: Path) -> str:
    """sha256 of the canonical JSON of the resolved model (positions left out).

    Left out: fields declared ``compare=False`` (``source``, a position in a file:
    equality ignores them for the same reason) and ``_NOT_CONFIG``."""
    digest = hashlib.sha256()

    def write(text: str) -> None:
        digest.update(text.encode("utf-8"))

    names = sorted(
        f.name
        for f in dataclasses.fields(state)
        if f.compare and f.name not in _NOT_CONFIG
    )
    _write_object(state, names, str(root_dir), write)
    return digest.hexdigest()


def _write_object(
    value: object, names: list[str], root: str, write: Callable[[str], None]
) -> None:
    write("{")
    for index, name in enumerate(names):
        write(("," if index else "") + _CANONICAL(name) + ":")
        _write(getattr(value, name), root, write)
    write("}")


def _write(value: object, root: str, write: Callable[[str], None]) -> None:
    """Encode ``value`` as :func:`_jsonable` makes it: a long sequence (or a dataclass
    holding one) piece by piece, ``_LONG`` items at a time; anything else in one go."""
    if not _big(value):
        write(_CANONICAL(_jsonable(value, root)))
    elif isinstance(value, tuple | list):
        write("[")
        for start in range(0, len(value), _LONG):
            chunk = value[start : start + _LONG]
            if start:
                write(",")
            if any(_big(item) for item in chunk):
                for index, item in enumerate(chunk):
                    if index:
                        write(",")
                    _write(item, root, write)
            else:  # the chunk's items as a list, less its brackets
                write(_CANONICAL([_jsonable(item, root) for item in chunk])[1:-1])
        write("]")
    else:
        _write_object(value, sorted(_compared(type(value))), root, write)


def _big(value: object) -> bool:
    """A long sequence, or a sequence or dataclass holding one."""
    if isinstance(value, tuple | list):
        return len(value) > _LONG or any(_big(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_big(getattr(value, name)) for name in _compared(type(value)))
    return False


_NAMES: dict[type, tuple[str, ...]] = {}


def _compared(cls: type) -> tuple[str, ...]:
    """The names of a dataclass's ``compare=True`` fields."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if f.compare
        )
    return names


def _jsonable(value: object, root: str) -> Any:
    """A part of the model as JSON-native data: a dataclass as an object of its
    ``compare=True`` fields by name, tuples as lists, durations as config writes them,
    and a string naming a path inside the config root (``/…/cfg/tokens/a``) relative
    to it (``tokens/a``), so the digest does not depend on where the config is checked
    out. A value of any other type is a bug in hlsync: TypeError, never a silent skip."""
    if isinstance(value, str):
        if value == root or value.startswith(root.rstrip(os.sep) + os.sep):
            return Path(value).relative_to(root).as_posix()
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            name: _jsonable(getattr(value, name), root)
            for name in _compared(type(value))
        }
    if isinstance(value, tuple | list):
        return [_jsonable(item, root) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item, root) for key, item in value.items()}
    if isinstance(value, timedelta):
        return format_duration(value)
    raise TypeError(f"config digest: no JSON form for {type(value).__name__}")
