"""The ``env_file`` sink: one ``KEY=value`` entry of a dotenv file.

``{env_file: path, key: NAME}`` in the config. The entry is replaced in place (every
line defining KEY, ``export KEY=`` kept as such), every other byte stays as it was, the
entry is appended when missing and the file created when absent; written atomically,
mode 0600 (:func:`.disk.write_private`). A symlink (into a mounted secrets folder, say)
is written through: its target gets the new content, the link stays a link. An existing
file must be a dotenv file (every line blank, a comment or ``KEY=value``:
:func:`.disk.dotenv_refusal`), so no other kind of file is ever rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlsync.core.model import SinkSpec
from hlsync.errors import HlsyncError, Location
from hlsync.tokens.sinks.base import Claim, Resolve
from hlsync.tokens.sinks.disk import (
    dotenv_refusal,
    path_refusal,
    prove_folder,
    read_held,
    relative,
    write_private,
)

_KEY_LINE = "^[ \\t]*(export[ \\t]+)?{key}[ \\t]*="


@dataclass(frozen=True, slots=True)
class EnvFileSink:
    """The entry ``key`` of the dotenv file ``path`` (module docstring)."""

    path: Path
    key: str | None
    source: Location | None = None

    @classmethod
    def from_spec(cls, spec: SinkSpec) -> EnvFileSink:
        return cls(Path(spec.path or ""), spec.key, spec.source)

    @classmethod
    def parse(
        cls, raw: Mapping[str, Any], resolve: Resolve, source: Location | None
    ) -> SinkSpec:
        path = resolve(("env_file",), raw["env_file"])
        return SinkSpec("env_file", path=str(path), key=raw.get("key"), source=source)

    @property
    def noun(self) -> str:
        return "an env file"

    @property
    def readable(self) -> bool:
        return True

    def label(self, base: Path) -> str:
        return f"env_file {relative(self.path, base)} ({self.key})"

    def prove(self, base: Path) -> str | None:
        if not self.key:
            return f"the env file {self.path} has no key to set"
        return (
            path_refusal(self.path, base)
            or prove_folder(self.path)
            or dotenv_refusal(self.path)
        )

    async def store(self, value: str, integration: str, *, base: Path) -> Path | None:
        write_env_entry(self.path, self.key or "", value)
        return self.path

    def read(self) -> str | None:
        text = read_held(self.path, self.source)
        if text is None:
            return None
        pattern = re.compile(_KEY_LINE.format(key=re.escape(self.key or "")))
        value = None
        for line in text.splitlines():
            match = pattern.match(line)
            if match is not None:
                value = line[match.end() :].strip().strip("'\"") or None
        return value

    def why_empty(self, shown: Callable[[Path], str]) -> str:
        return f"{self.key} is not set in {shown(self.path)}"

    def previous_path(self) -> Path | None:
        return self.path.with_name(f"{self.path.name}.{self.key}.previous")

    def claim(self) -> Claim | None:
        return Claim(self.path, self.key)


def write_env_entry(path: Path, key: str, value: str) -> None:
    """Set ``key=value`` in the dotenv file ``path`` (see the module docstring)."""
    try:
        old = path.read_bytes().decode("utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise HlsyncError(f"{path}: cannot read the env file ({reason})") from exc
    pattern = re.compile(_KEY_LINE.format(key=re.escape(key)))
    lines = old.splitlines(keepends=True)
    found = False
    for i, line in enumerate(lines):
        match = pattern.match(line)
        if match is None:
            continue
        ending = line[len(line.rstrip("\r\n")) :]
        lines[i] = f"{match.group(1) or ''}{key}={value}{ending}"
        found = True
    if not found:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += "\n"
        lines.append(f"{key}={value}\n")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise HlsyncError(
            f"{path.parent}: cannot create the folder ({exc.strerror})"
        ) from exc
    write_private(path, "".join(lines))
