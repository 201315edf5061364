"""Golden files: ``tests/golden/<case>`` compared with what the code produces now.

``check_golden(path, actual, update)`` is the one comparison every golden test makes;
``update`` is the ``update_golden`` fixture (``pytest --update-golden``), which rewrites
the file instead. Review golden diffs like code.
"""

from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def check_golden(path: Path, actual: str, update: bool) -> None:
    """Assert ``actual`` equals the file at ``path`` (rewrite it first when ``update``)."""
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing {path}; run with --update-golden and review it"
    assert actual == path.read_text(encoding="utf-8"), (
        f"{path} differs; run with --update-golden and review the diff"
    )
