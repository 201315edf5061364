"""``hlsync`` subprocesses of a soak: started, watched, killed, their output kept.

Each run writes stdout and stderr to files in the trial folder (no pipe can fill up
while the soak polls), with the test environment minus ``HLSYNC_*`` plus the location
tokens. :func:`finish` bounds every run by :data:`~tests.soak.settings.RUN_TIMEOUT`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.integration.e2e_support import HLSYNC
from tests.soak.settings import RUN_TIMEOUT

TRACEBACK = "Traceback (most recent call last)"
INTERNAL_ERROR = "this is a bug in hlsync"
WAITED = "took the lock after waiting for another run"  # hlsync.locks.guard
TOOK_OVER = "took over an expired lock"  # hlsync.locks.lease


@dataclass(frozen=True, slots=True)
class Finished:
    """One finished run: its verb, exit code (negative: killed by that signal)."""

    verb: str
    code: int
    output: str
    seconds: float
    killed_by: str | None = None  # "SIGINT" | "SIGKILL" when the soak killed it

    @property
    def traceback(self) -> bool:
        return TRACEBACK in self.output

    @property
    def internal_error(self) -> bool:
        return INTERNAL_ERROR in self.output

    @property
    def waited(self) -> bool:
        """Whether it took the lock on this machine after another run let it go."""
        return WAITED in self.output

    @property
    def took_over(self) -> int:
        """Expired leases in the account it took over (hlsync's warning, one each)."""
        return self.output.count(TOOK_OVER)


class Running:
    """One ``hlsync VERB . ARGS`` started in ``folder``."""

    def __init__(
        self, folder: Path, name: str, env: Mapping[str, str], *args: str
    ) -> None:
        self.verb = args[0]
        self._out = folder / "runs" / f"{name}.out"
        self._out.parent.mkdir(exist_ok=True)
        full = {k: v for k, v in os.environ.items() if not k.startswith("HLSYNC_")}
        full.update(env)
        self.started = time.monotonic()
        with self._out.open("w", encoding="utf-8") as out:
            self._process = subprocess.Popen(
                [str(HLSYNC), *args],
                cwd=folder,
                env=full,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.killed_by: str | None = None

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def kill(self, sig: signal.Signals) -> bool:
        """Send ``sig`` if still running; whether it was sent."""
        if not self.alive():
            return False
        self._process.send_signal(sig)
        self.killed_by = sig.name
        return True

    def finish(self) -> Finished:
        """Wait (bounded), then the run's record; a run past the bound is SIGKILLed."""
        left = RUN_TIMEOUT - (time.monotonic() - self.started)
        try:
            code = self._process.wait(timeout=max(0.1, left))
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
            self.killed_by = self.killed_by or "timeout"
        seconds = time.monotonic() - self.started
        output = self._out.read_text(encoding="utf-8", errors="replace")
        return Finished(self.verb, code, output, seconds, self.killed_by)


def run(folder: Path, name: str, env: Mapping[str, str], *args: str) -> Finished:
    """``hlsync ARGS`` to the end (bounded)."""
    return Running(folder, name, env, *args).finish()
