"""Write a set of new files, all of them or none, never over an existing one.

``hlsync init`` must not clobber a config, a ``.gitignore`` or a CI file someone
already has, nor leave half a scaffold behind. :func:`write_new_files` therefore:

1. refuses, before writing anything, when any of the paths exists (a file, a folder,
   even a dangling symbolic link) or a folder on the way is a file: one error listing
   every such path;
2. creates the missing folders;
3. writes each file to a temporary file beside it, fsynced, and links it into place
   with ``os.link``, which fails rather than replace a file that appeared meanwhile;
4. on any failure (an interrupt too) removes every file it wrote and every folder it
   created, and raises one :class:`HlsyncError` saying that nothing was written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hlsync.errors import HlsyncError
from hlsync.files import fsync_dir


def write_new_files(files: Sequence[tuple[Path, str]], shown: dict[Path, str]) -> None:
    """Write each ``(path, text)`` (mode 0644) or nothing; ``shown`` names a path in
    messages (as the user would type it)."""
    refuse_existing(files, shown)
    created: list[Path] = []
    written: list[Path] = []
    try:
        for path, text in files:
            created += _make_folders(path.parent)
            _write_new(path, text)
            written.append(path)
        for folder in {path.parent for path, _ in files}:
            fsync_dir(folder)
    except BaseException as exc:  # an error or Ctrl-C: take back what was written
        _remove(written, created)
        if not isinstance(exc, OSError):
            raise
        where = shown.get(Path(exc.filename), exc.filename) if exc.filename else None
        reason = exc.strerror or str(exc)
        raise HlsyncError(
            f"cannot write {where}: {reason}" if where else f"cannot write: {reason}",
            hints=("nothing was written; fix that and run hlsync init again",),
        ) from exc


def _remove(written: Sequence[Path], created: Sequence[Path]) -> None:
    for path in reversed(written):
        path.unlink(missing_ok=True)
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            pass


def refuse_existing(files: Sequence[tuple[Path, str]], shown: dict[Path, str]) -> None:
    existing: list[str] = []
    blocked: list[str] = []
    for path, _ in files:
        name = shown.get(path, str(path))
        if os.path.lexists(path):
            existing.append(name)
        elif any(os.path.lexists(f) and not f.is_dir() for f in path.parents):
            blocked.append(name)
    if existing:
        verb = "exists" if len(existing) == 1 else "exist"
        raise HlsyncError(
            f"hlsync init does not overwrite files: {', '.join(existing)} "
            f"already {verb}",
            hints=(
                "nothing was written; move them away, choose another folder, or "
                "leave a CI file out with --ci",
            ),
        )
    if blocked:
        raise HlsyncError(
            f"cannot write {', '.join(blocked)}: a file is in the way of its folder",
            hints=("nothing was written",),
        )


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, outermost first."""
    missing: list[Path] = []
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        candidate.mkdir()
    return list(reversed(missing))


def _write_new(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.link(temp, path)  # never replaces: fails if path appeared meanwhile
    finally:
        os.unlink(temp)
