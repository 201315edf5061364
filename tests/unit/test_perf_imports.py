"""The benchmarks build their accounts as another project would: through the served
emulator's admin API (bulk load), never by importing the emulator's internals."""

from __future__ import annotations

import ast

from tests.conftest import REPO

FORBIDDEN = ("hlsync.emulator", "tests.emulator_fixtures")


def test_no_benchmark_imports_the_emulator() -> None:
    found = []
    for path in sorted((REPO / "tests" / "perf").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [
                f"{path.name}: {name}" for name in names if name.startswith(FORBIDDEN)
            ]
    assert found == []
