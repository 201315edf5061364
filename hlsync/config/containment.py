"""Containment: every path a config names stays inside the config's folder.

``hlsync plan`` runs on pull requests, with the pipeline's secrets in its environment,
on files anyone can propose. A path the config names (a seed file, a token file, a
sink's file, env file or program, the sandbox database, a YAML file of a directory
config) is therefore resolved, symbolic links included, and refused when it leads out
of the config's folder (the directory of the config file, or the config directory),
so a config can neither read a file from elsewhere into an error message nor write a
token where it was not meant to go.

Another root is allowed only by whoever runs hlsync, with ``--allow-path DIR``
(repeatable); a config cannot widen its own containment, since the hand that writes
the config is the one this guards against. The allowed roots are shown in the plan.

A refusal names the path as the config wrote it, never where it leads, and never
anything read from it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hlsync.config.checks import quote
from hlsync.errors import HlsyncError

ALLOW_FLAG = "--allow-path"


@dataclass(frozen=True, slots=True)
class Containment:
    """The config folder and the roots allowed beside it, all resolved."""

    folder: Path
    allowed: tuple[Path, ...] = ()
    shown: tuple[str, ...] = ()  # the allowed roots as messages show them

    @classmethod
    def of(
        cls,
        folder: Path,
        allow: Sequence[str | Path] = (),
        *,
        display: Callable[[Path], str] = str,
    ) -> Containment:
        """The containment of a config in ``folder``; ``allow``: the ``--allow-path``
        directories, each of which must exist; ``display`` shows a path."""
        allowed: list[Path] = []
        for given in allow:
            root = Path(given).resolve()
            if not root.is_dir():
                raise HlsyncError(
                    f"{ALLOW_FLAG} {given}: no such directory",
                    hints=(f"{ALLOW_FLAG} names a directory hlsync may use",),
                )
            if root not in allowed:
                allowed.append(root)
        return cls(folder.resolve(), tuple(allowed), tuple(display(r) for r in allowed))

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.folder, *self.allowed)

    def admits(self, path: Path) -> bool:
        """Whether the absolute ``path`` is inside one of the roots."""
        return any(path.is_relative_to(root) for root in self.roots)

    def refusal(self, base: Path, text: str, what: str) -> tuple[str, str] | None:
        """Why ``text`` (relative to ``base``, an absolute directory) may not be used,
        and what to do about it (``what`` names it in the message); None when it
        stays inside."""
        try:
            resolved = (base / text).resolve()
        except (OSError, RuntimeError, ValueError):  # a NUL byte, a link loop
            shown = quote(text.replace("\0", "\\0"))
            return (
                f"{what} {shown} is not a usable path",
                "write a path to a file inside the config folder",
            )
        if self.admits(resolved):
            return None
        written = Path(os.path.normpath(base / text))
        if self.admits(written):
            return (
                f"{what} {quote(text)} leads outside the config folder "
                "(through a symbolic link)",
                self._hint(),
            )
        return f"{what} {quote(text)} is outside the config folder", self._hint()

    def _hint(self) -> str:
        if not self.shown:
            return (
                "hlsync uses only files inside the config folder; move the file "
                f"there, or allow another directory with {ALLOW_FLAG} DIR"
            )
        return (
            f"hlsync uses only files inside the config folder and {ALLOW_FLAG} "
            f"{', '.join(self.shown)}; move the file, or allow its directory with "
            f"{ALLOW_FLAG} DIR"
        )
