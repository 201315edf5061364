"""Writing a file so that a crash leaves the old content or the new, never half of one.

:func:`atomic_write` is the one way hlsync replaces a file it owns (token files and env
files of the sinks, the ledger, the runbook, a saved plan): the text goes to a temporary
file in the same directory, created by ``mkstemp`` with mode 0600 before a byte is
written (so a secret is never readable by others, not even for a moment), is flushed and
fsynced, gets its final ``mode``, and ``os.replace`` puts it in place. On any failure
the temporary file is removed and the :class:`OSError` propagates: each caller says in
its own words what could not be written (and, for a token, never the value).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(
    path: Path, data: str, mode: int, *, make_parents: bool = False
) -> None:
    """Replace ``path`` with ``data`` (UTF-8, newlines as given) atomically, ``mode``.

    ``make_parents`` creates missing folders first (with the default mode). Raises
    :class:`OSError`; nothing is left behind but the old file when it does.
    """
    folder = path.parent if str(path.parent) else Path(".")
    if make_parents:
        folder.mkdir(parents=True, exist_ok=True)
    temp_name: str | None = None
    try:
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=folder
        )
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
        temp_name = None
    finally:
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)
