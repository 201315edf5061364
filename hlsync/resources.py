"""Find the files hlsync ships: JSON Schemas and the scope catalog.

In a wheel the top-level ``schemas/`` folder is installed as ``hlsync/schemas``; in an
editable install or a checkout it stays beside the package. Both are looked up here, so
the rest of the code never guesses paths.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent


def schema_path(name: str) -> Path:
    """Path of ``schemas/<name>`` whichever way hlsync was installed."""
    for folder in (PACKAGE_DIR / "schemas", PACKAGE_DIR.parent / "schemas"):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"hlsync is missing its schema {name!r}; reinstall hlsync")


@cache
def load_schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return data


def data_path(name: str) -> Path:
    return PACKAGE_DIR / "data" / name
