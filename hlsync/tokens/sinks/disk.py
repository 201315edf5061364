"""What the sinks that write a file share: private atomic writes, reading back, and
the preflight of a path.

Every token file is replaced through :func:`hlsync.files.atomic_write` with mode 0600,
so a crash leaves the old token or the new one, never half of one, and the value is
never readable by others, not even for a moment. A sink path that is a symlink is
written through (its target is replaced, the link stays).

The preflight (:func:`path_refusal`, then :func:`prove_folder`) runs during ``plan``
and before anything is minted in ``apply`` (issue 10, item 2). It looks at the file a
write would really replace (symlinks resolved) and refuses a directory, a device (or
any file that is not a regular one), a file owned by another user, a system path
(outside the config folder and under one of :data:`SYSTEM_ROOTS`) and, outside the
config folder, a folder owned by another user. Then it creates the folder (mode 0700)
and proves it writable by creating and removing an empty temporary file in it: no token
is written. Each kind adds its own rule for what an existing file must look like
(:func:`token_file_refusal`, :func:`dotenv_refusal`), so hlsync never overwrites a file
it did not write. No message quotes a file's content.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

from hlsync.errors import HlsyncError, Location
from hlsync.files import atomic_write, written_path

SYSTEM_ROOTS = tuple(
    Path(p)
    for p in (
        "/etc",
        "/dev",
        "/proc",
        "/sys",
        "/usr",
        "/bin",
        "/sbin",
        "/boot",
        "/lib",
        "/lib32",
        "/lib64",
    )
)
"""Folders no token is ever written under (unless the config itself lives there)."""

TOKEN_FILE_MAX = 4096  # bytes: a token file longer than this is not one hlsync wrote
_TOKEN_LINE = re.compile(r"[A-Za-z0-9._~+/=-]+\r?\n?")
_DOTENV_LINE = re.compile(
    r"[ \t]*(#.*|(export[ \t]+)?[A-Za-z_][A-Za-z0-9_]*[ \t]*=.*)?"
)


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


def path_refusal(path: Path, base: Path) -> str | None:
    """Why hlsync must not write a token at ``path``, whatever the file holds (module
    docstring), or None. ``base``: the config folder. The check is on the real file
    (symlinks resolved); the message names both when they differ."""
    try:
        real = written_path(path)
    except OSError:
        return f"{path} is a symlink loop"
    shown = str(path) if real == path else f"{path} (a link to {real})"
    inside = real.is_relative_to(os.path.realpath(base))
    if not inside:
        written = Path(os.path.abspath(path))
        for root in SYSTEM_ROOTS:
            if real.is_relative_to(root) or written.is_relative_to(root):
                return f"{shown} is a system path (under {root})"
    try:
        info = os.stat(real)
    except (FileNotFoundError, NotADirectoryError):  # absent: prove_folder tells
        info = None
    except OSError as exc:
        return f"{shown} cannot be examined ({exc.strerror})"
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            return f"{shown} is a directory"
        if not stat.S_ISREG(info.st_mode):
            return f"{shown} is not a regular file (a device, a pipe or a socket)"
        if info.st_uid != os.geteuid():
            return f"{shown} is owned by another user (uid {info.st_uid})"
    if not inside:
        folder = real.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if folder.is_dir() and folder.stat().st_uid != os.geteuid():
            return f"{shown} would be written in {folder}, owned by another user"
    return None


def prove_folder(path: Path) -> str | None:
    """Create the folder of ``path`` (symlinks resolved; mode 0700) and prove it
    writable by creating and removing an empty temporary file in it; no token is
    written. Returns why it cannot take the file, or None."""
    try:
        folder = written_path(path).parent
    except OSError:
        return f"{path} is a symlink loop"
    if folder.exists() and not folder.is_dir():
        return f"{folder} is not a directory"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        return f"the folder {folder} cannot be created ({exc.strerror})"
    try:
        fd, probe = tempfile.mkstemp(prefix=".hlsync-preflight.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"the folder {folder} is not writable ({exc.strerror})"
    return None


def token_file_refusal(path: Path) -> str | None:
    """Why the existing file ``path`` is not a token file hlsync wrote, or None.

    hlsync writes a token file as one line of the token's shape (letters, digits and
    ``-._~+/=``, then a newline), so that is what an existing non-empty file must hold
    to be replaced; anything else (a key, a config, a credentials URL) is refused. The
    mode is not part of the rule: a token copied in by hand is often 0644, and hlsync
    writes it back 0600."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(TOKEN_FILE_MAX + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})"
    if not head:
        return None
    if len(head) > TOKEN_FILE_MAX or not _TOKEN_LINE.fullmatch(
        head.decode("ascii", "replace")
    ):
        return (
            f"{path} is not a token file hlsync wrote (one line of letters, digits "
            "and -._~+/=): it is not overwritten"
        )
    return None


def dotenv_refusal(path: Path) -> str | None:
    """Why the existing file ``path`` is not a dotenv file, or None: every line must
    be blank, a ``#`` comment or ``KEY=value`` (``export KEY=value``), in UTF-8. The
    message gives the line number, never the line."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnicodeDecodeError:
        return f"{path} is not a dotenv file (not UTF-8 text): it is not overwritten"
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})"
    for number, line in enumerate(text.splitlines(), 1):
        if not _DOTENV_LINE.fullmatch(line):
            return (
                f"{path} is not a dotenv file (line {number} is neither KEY=value "
                "nor a comment): it is not overwritten"
            )
    return None


def relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when under it, else as it is."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
