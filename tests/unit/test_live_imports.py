"""hlsync/live/ knows the ledger and the runbook, not how plans are made: the command
layer hands it a planner (``manual.integration_plan``), so nothing under live imports
the planner or the integration-planning rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hlsync.live

LIVE = Path(hlsync.live.__file__).parent
FORBIDDEN = ("hlsync.engine.planner", "hlsync.kinds.integration_plan")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code (names included, so
    ``from hlsync.core import planner`` counts as ``hlsync.engine.planner``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_check_sees_imports() -> None:
    assert "hlsync.core.plan.Plan" in _imports(LIVE / "manual.py")


@pytest.mark.parametrize("path", sorted(LIVE.glob("*.py")), ids=lambda p: p.name)
def test_live_does_not_import_the_planner(path: Path) -> None:
    imported = _imports(path)
    assert [m for m in FORBIDDEN if m in imported] == []
