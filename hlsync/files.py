"""Writing a file so that a crash leaves the old content or the new, never half of one.

:func:`atomic_write` is the one way hlsync replaces a file it owns (token files and env
files of the sinks, the ledger, the runbook, a saved plan): the text goes to a temporary
file in the same directory, created by ``mkstemp`` with mode 0600 before a byte is
written (so a secret is never readable by others, not even for a moment), is flushed and
fsynced, gets its final ``mode``, ``os.replace`` puts it in place, and the directory is
fsynced (:func:`fsync_dir`) so the rename itself survives a crash. On any failure the
temporary file is removed and the :class:`OSError` propagates: each caller says in its
own words what could not be written (and, for a token, never the value).

A path that is a symlink (an env file or ledger linked into a mounted secrets folder)
is written *through* the link: the link is resolved, the temporary file is made beside
the target and renamed over the target, so the link stays a link and the target gets the
new content atomically. Replacing the link itself would leave the secrets folder stale
and a plain copy of the secret beside the config.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def atomic_write(
    path: Path, data: str, mode: int, *, make_parents: bool = False
) -> None:
    """Replace ``path`` (or, for a symlink, its target) with ``data`` (UTF-8, newlines
    as given) atomically, ``mode``.

    ``make_parents`` creates missing folders first (with the default mode). Raises
    :class:`OSError`; nothing is left behind but the old file when it does.
    """
    target = written_path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if make_parents:
        folder.mkdir(parents=True, exist_ok=True)
    temp_name: str | None = None
    try:
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=folder
        )
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, target)
        temp_name = None
    finally:
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)
    fsync_dir(folder)


def written_path(path: Path) -> Path:
    """The file a write to ``path`` really replaces: ``path`` with every symlink
    resolved (its own, and its folders'; relative links against their own folder).
    Raises :class:`OSError` for a symlink loop."""
    real = Path(os.path.realpath(path))
    if real.is_symlink():  # realpath gives up on a loop and returns a link
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
    return real


def fsync_dir(folder: Path) -> None:
    """Flush ``folder``'s entries to disk, so a rename or a new file in it survives a
    crash. Raises :class:`OSError` when the folder cannot be opened."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
