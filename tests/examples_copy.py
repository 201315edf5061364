"""Copies of ``examples/`` for tests: only the files git tracks, never local state.

Running the README's quick start applies ``examples/quickstart`` in place, which leaves
its sandbox, minted token and journal beside the config (git-ignored). A test that copied
the folder whole would start from that state instead of the committed example, so every
test copy goes through :func:`copy_example`: in a git checkout the files ``git ls-files``
lists (tracked and present), else (an unpacked archive) the folder without what hlsync
writes beside a config (:data:`LOCAL_STATE`).
"""

from __future__ import annotations

import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
# what hlsync writes beside a config: the fallback when there is no git checkout
LOCAL_STATE = (
    ".hlsync",
    "hlsync.journal.jsonl",
    "hlsync.ledger.json",
    "*.token",
    "*.previous",
    "secrets",
)


def tracked_files(folder: Path) -> list[Path] | None:
    """The files under ``folder`` that git tracks and that exist, sorted; None when
    ``folder`` is not in a git checkout (or git is missing)."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(folder), "ls-files", "-z", "--", "."],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    found = (folder / name for name in listed.decode().split("\0") if name)
    return sorted(p for p in found if p.is_file())


def example_files(name: str) -> list[Path]:
    """The committed files of ``examples/<name>`` (the whole of ``examples/`` for
    ``"."``), without local state."""
    folder = (EXAMPLES / name).resolve()
    tracked = tracked_files(folder)
    if tracked is not None:
        return tracked
    return [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not _local_state(path.relative_to(folder))
    ]


def _local_state(relative: Path) -> bool:
    return any(fnmatch(part, p) for part in relative.parts for p in LOCAL_STATE)


def copy_example(name: str, into: Path, as_name: str | None = None) -> Path:
    """A copy of the committed files of ``examples/<name>`` at ``into/<as_name or
    name>``; returns that folder."""
    source = (EXAMPLES / name).resolve()
    target = into / (as_name or name)
    target.mkdir(parents=True)
    for path in example_files(name):
        copy = target / path.relative_to(source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
    return target
