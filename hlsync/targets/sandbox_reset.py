"""``hlsync sandbox reset``: remove everything sandbox runs left beside a config.

A run against the embedded sandbox writes its database (``target.sandbox.db``, by default
``.hlsync/sandbox.sqlite3``), the tokens it mints into the integrations' sinks (with a
``<sink>.previous`` side file during a rotation) and their records in the token journal
(``hlsync.journal.jsonl``). Those tokens and records describe integrations of that
sandbox only, so a reset removes them with the database:

* the database (and its WAL files; a file that is not a sandbox database, or one in
  use, is refused before anything is removed);
* for every integration the config declares: its ``file`` sink (the file the token was
  written to: for a sink that is a symbolic link, its target; the link stays) and the
  side file of any sink, and its records in the journal (the journal file goes when
  none are left);
* the default token folder, once only its ``.gitignore`` is left, and ``.hlsync/``
  once empty.

It keeps, and lists with the reason: an ``env_file`` sink (the file holds other
entries; hlsync does not edit it here), what a ``command`` sink received (hlsync cannot
take it back), any other file in the default token folder (not the sink of a declared
integration), and every token file and journal record when the config's target is not
the sandbox (they are real tokens) or when the config does not load (which files are
the sandbox's is not known).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hlsync.config.loader import display_path, load_config
from hlsync.core.model import DesiredState
from hlsync.emulator.sandbox import default_sandbox_db, reset_sandbox
from hlsync.errors import HlsyncError
from hlsync.files import atomic_write
from hlsync.locks.lockfile import LOCK_DIR
from hlsync.tokens.journal import JOURNAL_FILE, LEGACY_FILE
from hlsync.tokens.rotation import token_key
from hlsync.tokens.sinks.file import TOKENS_DIR
from hlsync.tokens.sinks.registry import sink_of
from hlsync.tokens.sinks.routing import sink_for


@dataclass(frozen=True, slots=True)
class ResetReport:
    """What a reset did: each thing removed (the database first, when there was
    one), and each thing kept with the reason (``".env (SEED_TOKEN): …"``)."""

    database: Path
    removed: tuple[str, ...]
    kept: tuple[str, ...]


def reset(path: Path, allow: Sequence[Path] = ()) -> ResetReport:
    """Reset the sandbox of the config at ``path`` (a file or its folder)."""
    if not path.exists():
        raise HlsyncError(f"{path}: no such file or folder")
    folder = path if path.is_dir() else path.parent
    try:
        desired: DesiredState | None = load_config(path, allow=allow)
    except HlsyncError:
        desired = None
    db = _database(desired, folder)
    removed = [shown(db)] if reset_sandbox(db) else []
    kept: list[str] = []
    if desired is None:
        why = "the config does not load, so which are the sandbox's is not known"
        kept += _local_tokens(folder, why)
    elif desired.target.kind != "sandbox":
        why = f"the config's target is {desired.target.kind}, not the sandbox"
        kept += _local_tokens(folder, why)
    else:
        _forget_integrations(desired, folder, removed, kept)
    _tidy(folder, removed, kept)
    return ResetReport(db, tuple(removed), tuple(kept))


def _database(desired: DesiredState | None, folder: Path) -> Path:
    """The configured ``target.sandbox.db``, else the default beside the config (a
    broken config can still have its sandbox reset)."""
    if desired is not None and desired.target.kind == "sandbox":
        if desired.target.sandbox_db:
            return Path(desired.target.sandbox_db)
    return default_sandbox_db(folder)


def _local_tokens(folder: Path, why: str) -> list[str]:
    """Kept, because of ``why``: the token folder and the journals, where present."""
    found = [folder / TOKENS_DIR, folder / JOURNAL_FILE, folder / LEGACY_FILE]
    return [f"{shown(p)}: {why}" for p in found if p.exists()]


def _forget_integrations(
    desired: DesiredState, folder: Path, removed: list[str], kept: list[str]
) -> None:
    declared: list[tuple[str | None, str]] = [
        (None, i.name) for i in desired.agency.integrations
    ]
    declared += [(s.name, i.name) for s in desired.locations for i in s.integrations]
    keys: set[str] = set()
    for location, name in declared:
        keys.add(token_key(location, name))
        spec = sink_for(desired, location, name)
        side = sink_of(spec).previous_path()
        sink = Path(spec.path or "")  # resolved: through a symbolic link, its target
        if spec.kind == "file":
            _remove(sink, removed)
        elif spec.kind == "env_file" and sink.exists():
            kept.append(
                f"{shown(sink)} ({spec.key}): an env-file sink; hlsync does not edit "
                "it here (remove the entry by hand if nothing else uses it)"
            )
        elif spec.kind == "command":
            label = " ".join(spec.argv)
            kept.append(
                f"what the command sink '{label}' received: hlsync cannot take it back"
            )
        if side is not None:
            _remove(side, removed)
    for journal in (folder / JOURNAL_FILE, folder / LEGACY_FILE):
        count = _forget_records(journal, keys)
        if count:
            plural = "s" if count != 1 else ""
            removed.append(
                f"{count} token journal record{plural} from {shown(journal)}"
            )


def _remove(path: Path, removed: list[str]) -> None:
    if path.is_file():
        path.unlink()
        removed.append(shown(path))


def shown(path: Path) -> str:
    """``path`` as :func:`display_path` shows it, its last part unresolved (a sink
    that is a symbolic link is named, not its target)."""
    folder = display_path(path.parent)
    return path.name if folder == "." else f"{folder}/{path.name}"


def _forget_records(journal: Path, keys: set[str]) -> int:
    """Drop the records of ``keys`` from ``journal`` (the file goes when nothing else
    is left); how many were dropped."""
    try:
        lines = journal.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return 0
    except (OSError, UnicodeDecodeError) as exc:
        raise HlsyncError(f"{journal}: cannot read the token journal ({exc})") from exc
    left = [line for line in lines if _integration(line) not in keys]
    dropped = len(lines) - len(left)
    if dropped and not any(line.strip() for line in left):
        journal.unlink()
    elif dropped:
        try:
            atomic_write(journal, "".join(line + "\n" for line in left), 0o644)
        except OSError as exc:
            raise HlsyncError(
                f"{journal}: cannot write the token journal ({exc.strerror})"
            ) from exc
    return dropped


def _integration(line: str) -> str | None:
    """The ``integration`` of a journal line; None for a torn or foreign line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    value = record.get("integration") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def _tidy(folder: Path, removed: list[str], kept: list[str]) -> None:
    """Remove the default token folder once only hlsync's ``.gitignore`` is left in
    it (else list what is left), then ``.hlsync/`` once it is empty."""
    tokens = folder / TOKENS_DIR
    if tokens.is_dir() and not any(
        line.startswith(f"{shown(tokens)}:") for line in kept
    ):
        others = sorted(p for p in tokens.iterdir() if p.name != ".gitignore")
        if others:
            kept += [
                f"{shown(p)}: not the token file of an integration this config declares"
                for p in others
            ]
        else:
            (tokens / ".gitignore").unlink(missing_ok=True)
            tokens.rmdir()
    _free_locks(folder / LOCK_DIR, kept)
    hidden = folder / ".hlsync"
    if hidden.is_dir() and not any(hidden.iterdir()):
        hidden.rmdir()


def _free_locks(locks: Path, kept: list[str]) -> None:
    """Remove the apply lock files no running hlsync holds (taken, then unlinked while
    held, so no run can hold the file being removed), then their folder once empty."""
    if not locks.is_dir():
        return
    for path in sorted(locks.glob("*.lock")):
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            kept.append(f"{shown(path)}: held by a running hlsync")
        else:
            path.unlink()
        finally:
            os.close(fd)
    if not any(locks.iterdir()):
        locks.rmdir()
