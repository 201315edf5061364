"""Where a freshly minted Private Integration token goes: the token file sink.

A create (and, later, a rotate) returns the new token exactly once. The applier hands it
to ``TokenFileSink.deliver(change, token)`` and to nothing else; the sink writes it to

    <config dir>/.hlsync/tokens/<location or "agency">.<integration>.token

with mode 0600 in a directory of mode 0700, atomically: the value goes to a temporary
file in the same directory (created 0600, so it is never readable by others, not even
for a moment), is flushed to disk, then ``os.replace`` puts it in place. A crash leaves
either the old file or the new one, never half a token. The directory also gets a
``.gitignore`` of ``*`` so a token is not committed by accident.

Location and integration names are config keys (``[a-z0-9][a-z0-9_-]*``, checked by the
schema), so they are safe file names. Configurable sinks (env file, command) come with a
later issue. Errors name the file, never the value.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hlsync.errors import HlsyncError
from hlsync.integrations import Token
from hlsync.model import DesiredState
from hlsync.plan import Change

TOKENS_DIR = Path(".hlsync") / "tokens"
AGENCY = "agency"


def config_dir(desired: DesiredState) -> Path:
    """The directory of the config: the root itself, or the folder of a config file."""
    root = Path(desired.root)
    return root if root.is_dir() else root.parent


class TokenFileSink:
    """Writes each minted token to its own 0600 file under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.written: list[Path] = []

    @classmethod
    def for_config(cls, desired: DesiredState) -> TokenFileSink:
        return cls(config_dir(desired) / TOKENS_DIR)

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
    temp_name: str | None = None
    try:
        # mkstemp creates the file with mode 0600 before anything is written to it.
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, path)
        temp_name = None
    except OSError as exc:
        raise HlsyncError(
            f"{path}: cannot store the new token ({exc.strerror})",
            hints=(
                "the token was minted but not stored: fix the folder's permissions, "
                "then rotate the integration's token",
            ),
        ) from exc
    finally:
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)
