"""``hlsync sandbox reset [PATH]``: wipe the embedded sandbox of a config."""

from __future__ import annotations

import argparse
from pathlib import Path

from hlsync.config.loader import load_config
from hlsync.emulator.sandbox import default_sandbox_db, reset_sandbox
from hlsync.errors import HlsyncError


def run(args: argparse.Namespace) -> int:
    path: Path = args.path
    if not path.exists():
        raise HlsyncError(f"{path}: no such file or folder")
    db = sandbox_db_of(path)
    if reset_sandbox(db):
        print(f"sandbox reset: removed {db}")
    else:
        print(f"no sandbox at {db}; nothing to reset")
    return 0


def sandbox_db_of(path: Path) -> Path:
    """The sandbox file of the config at ``path``: its ``target.sandbox.db`` when the
    config loads, else ``<folder>/.hlsync/sandbox.sqlite3`` (a broken config can still
    have its sandbox reset)."""
    folder = path if path.is_dir() else path.parent
    try:
        target = load_config(path).target
    except HlsyncError:
        return default_sandbox_db(folder)
    if target.kind == "sandbox" and target.sandbox_db:
        return Path(target.sandbox_db)
    return default_sandbox_db(folder)
