"""Build ``hlsync/data/scopes.json`` from the official scope catalog.

The source is ``shared/reference/scopes.json`` (91 scopes, built from HighLevel's
``docs/oauth/Scopes.md``). The derived file keeps what hlsync needs, in a shape that is
easy to load: access levels as ``agency`` / ``sub-account``, endpoints split into method
and path with the access levels of the row that listed them, webhook events.

    python -m hlsync.core.catalog_build [--src PATH] [--check]

``--check`` exits 1 when the committed file differs from what the source builds; a test
runs the same comparison whenever ``../shared`` is present.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parents[1]
OUT = PACKAGE_DIR / "data" / "scopes.json"
DEFAULT_SRC = PACKAGE_DIR.parent.parent / "shared" / "reference" / "scopes.json"

_LEVELS = {"Sub-Account": "sub-account", "Agency": "agency"}


def _levels(values: list[str]) -> list[str]:
    return sorted({_LEVELS[v] for v in values})


def build_catalog(source: list[dict[str, Any]]) -> dict[str, Any]:
    """Turn the reference list into hlsync's catalog document."""
    scopes = []
    for entry in source:
        endpoints = []
        for text in entry["endpoints"]:
            method, path = text.split(" ", 1)
            access = entry["endpoint_access"].get(text) or entry["access_types"]
            endpoints.append(
                {"method": method, "path": path, "access": _levels(access)}
            )
        scopes.append(
            {
                "name": entry["scope"],
                "access": _levels(entry["access_types"]),
                "endpoints": endpoints,
                "webhook_events": list(entry["webhook_events"]),
            }
        )
    scopes.sort(key=lambda s: s["name"])
    return {
        "source": "HighLevel docs/oauth/Scopes.md via shared/reference/scopes.json",
        "scopes": scopes,
    }


def render(source_path: Path) -> str:
    source = json.loads(source_path.read_text(encoding="utf-8"))
    return json.dumps(build_catalog(source), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hlsync.core.catalog_build")
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render(args.src)
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            sys.stderr.write(
                f"{OUT} is out of date; run python -m hlsync.core.catalog_build\n"
            )
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
