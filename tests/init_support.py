"""Running ``hlsync init`` in-process (``main`` and ``capsys``), shared by its unit
tests and the ``--from-export`` tests against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from hlsync.cli import main


def run_init(
    folder: Path, *args: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``hlsync init FOLDER ARGS``: exit code, stdout, stderr."""
    code = main(["init", str(folder), *args])
    out, err = capsys.readouterr()
    return code, out, err


def files_under(root: Path) -> list[str]:
    """Every file under ``root``, as sorted ``/`` paths relative to it."""
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
    )
