"""Typed reading of a JSON document we wrote ourselves (a saved plan), path by path.

``json.load`` gives ``Any``; these accessors check each value's type as it is read and
raise :class:`JsonShapeError` naming the JSON path (``changes[3].action``), so loading a
damaged file fails with one clear sentence instead of a ``KeyError`` deep in the
applier. The caller turns the error into an ``HlsyncError`` naming the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

T = TypeVar("T", bound=str)


class JsonShapeError(ValueError):
    """A value is missing or has the wrong type; the message starts with its path."""


class JsonObject:
    """One JSON object and where it sits in the document."""

    __slots__ = ("data", "path")

    def __init__(self, data: Any, path: str = "") -> None:
        if not isinstance(data, dict):
            where = path or "the document"
            raise JsonShapeError(f"{where}: expected an object, found {_kind(data)}")
        self.data: dict[str, Any] = data
        self.path = path

    def _at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def value(self, name: str) -> Any:
        if name not in self.data:
            raise JsonShapeError(f"{self._at(name)}: missing")
        return self.data[name]

    def text(self, name: str) -> str:
        value = self.value(name)
        if not isinstance(value, str):
            raise JsonShapeError(
                f"{self._at(name)}: expected a string, found {_kind(value)}"
            )
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self.value(name) is None else self.text(name)

    def integer(self, name: str) -> int:
        value = self.value(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise JsonShapeError(
                f"{self._at(name)}: expected an integer, found {_kind(value)}"
            )
        return value

    def boolean(self, name: str) -> bool:
        value = self.value(name)
        if not isinstance(value, bool):
            raise JsonShapeError(
                f"{self._at(name)}: expected true or false, found {_kind(value)}"
            )
        return value

    def choice(self, name: str, choices: tuple[T, ...]) -> T:
        value = self.text(name)
        for option in choices:
            if value == option:
                return option
        allowed = ", ".join(choices)
        raise JsonShapeError(f"{self._at(name)}: {value!r} is not one of {allowed}")

    def optional_choice(self, name: str, choices: tuple[T, ...]) -> T | None:
        return None if self.value(name) is None else self.choice(name, choices)

    def _list(self, name: str) -> list[Any]:
        value = self.value(name)
        if not isinstance(value, list):
            raise JsonShapeError(
                f"{self._at(name)}: expected a list, found {_kind(value)}"
            )
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        items = self._list(name)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise JsonShapeError(
                    f"{self._at(name)}[{i}]: expected a string, found {_kind(item)}"
                )
        return tuple(items)

    def integers(self, name: str) -> tuple[int, ...]:
        items = self._list(name)
        for i, item in enumerate(items):
            if isinstance(item, bool) or not isinstance(item, int):
                raise JsonShapeError(
                    f"{self._at(name)}[{i}]: expected an integer, found {_kind(item)}"
                )
        return tuple(items)

    def objects(self, name: str) -> Iterator[JsonObject]:
        for i, item in enumerate(self._list(name)):
            yield JsonObject(item, f"{self._at(name)}[{i}]")

    def obj(self, name: str) -> JsonObject:
        return JsonObject(self.value(name), self._at(name))

    def optional_obj(self, name: str) -> JsonObject | None:
        return None if self.value(name) is None else self.obj(name)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
