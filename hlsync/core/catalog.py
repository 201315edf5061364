"""The scope catalog: every OAuth / Private Integration scope HighLevel knows.

Built once from ``data/scopes.json`` (see ``catalog_build``) into immutable objects;
``load_catalog()`` is cached, and nothing registers into it at run time.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Literal

from hlsync.resources import data_path

Level = Literal["agency", "sub-account"]
LEVELS: tuple[Level, ...] = ("agency", "sub-account")


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    path: str
    method: str
    access: tuple[Level, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True, order=True)
class Scope:
    name: str
    access: tuple[Level, ...]
    endpoints: tuple[Endpoint, ...]
    webhook_events: tuple[str, ...]

    def allows(self, level: Level) -> bool:
        return level in self.access

    @property
    def is_write(self) -> bool:
        """A scope that can change data (anything not ``.readonly``)."""
        return not self.name.endswith(".readonly")


@dataclass(frozen=True, slots=True)
class Catalog:
    scopes: tuple[Scope, ...]
    by_name: Mapping[str, Scope] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = MappingProxyType({s.name: s for s in self.scopes})
        object.__setattr__(self, "by_name", by_name)

    def __iter__(self) -> Iterator[Scope]:
        return iter(self.scopes)

    def __len__(self) -> int:
        return len(self.scopes)

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def get(self, name: str) -> Scope | None:
        return self.by_name.get(name)

    def suggest(self, name: str, limit: int = 3) -> tuple[str, ...]:
        """Close matches for a misspelt scope name, best first."""
        names = [s.name for s in self.scopes]
        close = difflib.get_close_matches(name, names, n=limit, cutoff=0.6)
        if not close and "." not in name:
            close = [n for n in names if n.startswith(name + ".")][:limit]
        return tuple(close)

    def select(
        self, *, level: Level | None = None, pattern: str | None = None
    ) -> tuple[Scope, ...]:
        """Scopes usable at ``level`` whose name starts with (or globs) ``pattern``."""
        found = []
        for scope in self.scopes:
            if level is not None and not scope.allows(level):
                continue
            if pattern is not None:
                glob = any(ch in pattern for ch in "*?[")
                if glob and not fnmatch.fnmatchcase(scope.name, pattern):
                    continue
                if not glob and not scope.name.startswith(pattern):
                    continue
            found.append(scope)
        return tuple(found)


def _level(value: str) -> Level:
    if value == "agency":
        return "agency"
    if value == "sub-account":
        return "sub-account"
    raise ValueError(f"unknown access level {value!r} in the scope catalog")


@cache
def load_catalog() -> Catalog:
    """The catalog shipped inside the package."""
    raw = json.loads(data_path("scopes.json").read_text(encoding="utf-8"))
    scopes = []
    for entry in raw["scopes"]:
        endpoints = tuple(
            Endpoint(
                path=e["path"],
                method=e["method"],
                access=tuple(_level(a) for a in e["access"]),
            )
            for e in entry["endpoints"]
        )
        scopes.append(
            Scope(
                name=entry["name"],
                access=tuple(_level(a) for a in entry["access"]),
                endpoints=endpoints,
                webhook_events=tuple(entry["webhook_events"]),
            )
        )
    return Catalog(tuple(scopes))
