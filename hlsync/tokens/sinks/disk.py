"""What the sinks that write a file share: private atomic writes, reading back, and
whether a path can take a file.

Every token file is replaced through :func:`hlsync.files.atomic_write` with mode 0600,
so a crash leaves the old token or the new one, never half of one, and the value is
never readable by others, not even for a moment.
"""

from __future__ import annotations

import os
from pathlib import Path

from hlsync.errors import HlsyncError, Location
from hlsync.files import atomic_write


def write_private(path: Path, content: str) -> None:
    """Replace ``path`` with ``content`` atomically, mode 0600 (``files.atomic_write``)."""
    try:
        atomic_write(path, content, 0o600)
    except OSError as exc:
        raise HlsyncError(
            f"{path}: cannot store the new token ({exc.strerror})",
            hints=(
                "the token was minted but not stored: fix the folder's permissions, "
                "then rotate the integration's token",
            ),
        ) from exc


def read_held(path: Path, source: Location | None) -> str | None:
    """The text of the sink file ``path``; None when it does not exist. The error
    names the file, never its content."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise HlsyncError(
            f"{path}: cannot read the token sink ({reason})", source
        ) from exc


def folder_problem(path: Path) -> str | None:
    """Why no file could be written at ``path`` (its nearest existing folder is not a
    writable directory), or None."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    return None


def relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when under it, else as it is."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
