"""The ``file`` sink: a file that holds the token alone (also the default sink).

``{file: path}`` in the config; without a sink the token goes to ``<config
dir>/.hlsync/tokens/<location or "agency">.<integration>.token``
(:class:`TokenFileSink`). Written with mode 0600 in a directory of mode 0700,
atomically (:func:`.disk.write_private`; a symlink is written through). An existing
file is replaced only when it looks like a token file hlsync wrote: one line of the
token's shape (:func:`.disk.token_file_refusal`). The default directory also gets a
``.gitignore`` of ``*``; a configured file's folder does not, since it may hold other
files. Location names (``[a-z0-9][a-z0-9_-]*``) and integration names (no ``/``,
backslash or control character, no leading ``.``) are checked by the schema, so they
are safe file names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlsync.core.model import SinkSpec
from hlsync.core.plan import AGENCY, Change
from hlsync.errors import HlsyncError, Location
from hlsync.targets.drivers import Token
from hlsync.tokens.sinks.base import Claim, Resolve
from hlsync.tokens.sinks.disk import (
    path_refusal,
    prove_folder,
    read_held,
    relative,
    token_file_refusal,
    write_private,
)

TOKENS_DIR = Path(".hlsync") / "tokens"


@dataclass(frozen=True, slots=True)
class FileSink:
    """The token alone in ``path``, mode 0600 (module docstring)."""

    path: Path
    source: Location | None = None

    @classmethod
    def from_spec(cls, spec: SinkSpec) -> FileSink:
        return cls(Path(spec.path or ""), spec.source)

    @classmethod
    def parse(
        cls, raw: Mapping[str, Any], resolve: Resolve, source: Location | None
    ) -> SinkSpec:
        return SinkSpec(
            "file", path=str(resolve(("file",), raw["file"])), source=source
        )

    @property
    def noun(self) -> str:
        return "a file"

    @property
    def readable(self) -> bool:
        return True

    def label(self, base: Path) -> str:
        return f"file {relative(self.path, base)}"

    def prove(self, base: Path) -> str | None:
        return (
            path_refusal(self.path, base)
            or prove_folder(self.path)
            or token_file_refusal(self.path)
        )

    async def store(self, value: str, integration: str, *, base: Path) -> Path | None:
        if self.path.parent == base / TOKENS_DIR:
            write_secret(self.path, value)  # the default folder: 0700 and a .gitignore
        else:
            owner_dir(self.path.parent)
            write_private(self.path, value + "\n")
        return self.path

    def read(self) -> str | None:
        text = read_held(self.path, self.source)
        return None if text is None else text.strip() or None

    def why_empty(self, shown: Callable[[Path], str]) -> str:
        return f"{shown(self.path)} is missing or empty"

    def previous_path(self) -> Path | None:
        return self.path.with_name(self.path.name + ".previous")

    def claim(self) -> Claim | None:
        return Claim(self.path)


class TokenFileSink:
    """Writes each minted token to its own 0600 file under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.written: list[Path] = []

    def __repr__(self) -> str:
        return f"TokenFileSink({str(self.directory)!r})"

    def path_for(self, location: str | None, integration: str) -> Path:
        return self.directory / f"{location or AGENCY}.{integration}.token"

    async def deliver(self, change: Change, token: Token) -> None:
        """Store the token of ``change`` (an integration create or rotate)."""
        name = str(change.desired.get("name") or change.key)
        path = self.path_for(change.location, name)
        write_secret(path, token.reveal())
        self.written.append(path)


def _private_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
        ignore = directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# tokens minted by hlsync: never commit them\n*\n")
    except OSError as exc:
        raise HlsyncError(
            f"{directory}: cannot create the token directory ({exc.strerror})"
        ) from exc


def write_secret(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` atomically, readable by the owner only (0600)."""
    _private_dir(path.parent)
    write_private(path, value + "\n")


def owner_dir(directory: Path) -> None:
    """A configured token file's folder: made (or made again) mode 0700. Unlike the
    default folder it gets no ``.gitignore``: it may hold other files."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
    except OSError as exc:
        raise HlsyncError(
            f"{directory}: cannot create the token folder ({exc.strerror})"
        ) from exc
