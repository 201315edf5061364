"""The ``hlsync`` console script: the first module of hlsync that Python runs.

It imports the rest (``hlsync.cli``) inside its own ``try``, so a Ctrl-C (or a pipeline's
SIGINT) that lands while Python is still loading hlsync exits 130 with one line, like a
Ctrl-C anywhere later, instead of a ``KeyboardInterrupt`` traceback.
"""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from hlsync.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return run()
