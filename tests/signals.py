"""Children that can be interrupted, whatever the shell did to this process.

A shell starts a background job (``cmd &``) with SIGINT ignored, and an ignored signal
stays ignored across ``exec``: every ``hlsync`` such a test run or soak starts would
ignore SIGINT, so the runs they interrupt on purpose would finish instead (seen: the
Ctrl-C test failed every time under ``pytest … &``, and soak kills by SIGINT did not
land). Python's own handler is not inherited, so children start with the default.
"""

from __future__ import annotations

import signal


def interruptible_children() -> None:
    """If SIGINT is ignored here, handle it as Python does by default (children then
    start with SIGINT's default action)."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
