"""The ``command`` sink: a program that takes the token on its stdin.

``{command: [program, args...], env: [NAME, ...]}`` in the config (a program path
holding a ``/`` is relative to the config file, and like every path the config names must
stay inside the config folder; a bare name is looked up on PATH). ``argv`` runs with the
token on stdin (one line), never in its arguments or environment. A non-zero exit or a
timeout (:data:`COMMAND_TIMEOUT`) means "not delivered"; its stderr is shown, scrubbed of
the token. A command cannot be read back: it cannot seed a location, be verified, or keep
the previous token across a rotation.

Least privilege (issue 10, item 7): in a pipeline hlsync's environment holds every
location's token and the CI's own secrets, and the command needs none of them. It runs
with a minimal environment (:func:`command_environment`): ``PATH``, ``HOME``, ``LANG``,
``LC_*`` and ``TZ`` when set, ``HLSYNC_INTEGRATION`` naming the integration, and the
variables the config lists in ``env:`` (a vault address, say). The config refuses an
``env:`` entry that names a token variable (``config.tokens``).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlsync.core.model import SinkSpec
from hlsync.errors import HlsyncError, Location
from hlsync.tokens.sinks.base import Claim, Resolve

COMMAND_TIMEOUT = 60.0  # seconds a command sink may take
_STDERR_SHOWN = 400  # characters of a failed command's stderr kept in the message


@dataclass(frozen=True, slots=True)
class CommandSink:
    """``argv`` run with the token on stdin (module docstring)."""

    argv: tuple[str, ...]
    env: tuple[str, ...] = ()
    source: Location | None = None

    @classmethod
    def from_spec(cls, spec: SinkSpec) -> CommandSink:
        return cls(spec.argv, spec.env, spec.source)

    @classmethod
    def parse(
        cls, raw: Mapping[str, Any], resolve: Resolve, source: Location | None
    ) -> SinkSpec:
        argv = [str(part) for part in raw["command"]]
        if "/" in argv[0]:  # a program path (absolute ones too) must be contained
            resolved = resolve(("command", 0), argv[0])
            if not Path(argv[0]).is_absolute():
                argv[0] = str(resolved)
        env = tuple(str(name) for name in raw.get("env", ()))
        return SinkSpec("command", argv=tuple(argv), env=env, source=source)

    @property
    def noun(self) -> str:
        return "a command"

    @property
    def readable(self) -> bool:
        return False

    def label(self, base: Path) -> str:
        return "command " + shlex.join(self.argv)

    def prove(self, base: Path) -> str | None:
        if not self.argv:
            return "the command is empty"
        program = self.argv[0]
        if os.sep in program:
            if not os.path.isfile(program):
                return f"the command {program} does not exist"
            if not os.access(program, os.X_OK):
                return f"the command {program} is not executable"
            return None
        if shutil.which(program) is None:
            return f"the command {program!r} is not found on PATH"
        return None

    async def store(self, value: str, integration: str, *, base: Path) -> Path | None:
        await run_command_sink(self.argv, value, integration, self.env)
        return None

    def read(self) -> str | None:
        raise HlsyncError(
            "a command sink cannot be read back, so its token cannot be used for "
            "seeding",
            self.source,
            hints=("give the seeding integration a file or env_file sink",),
        )

    def why_empty(self, shown: Callable[[Path], str]) -> str:
        return "a command cannot be read back"

    def previous_path(self) -> Path | None:
        return None

    def claim(self) -> Claim | None:
        return None


BASE_VARIABLES = ("PATH", "HOME", "LANG", "TZ")
"""What every sink command gets from hlsync's environment (with ``LC_*``), when set."""


def command_environment(
    environ: Mapping[str, str], integration: str, named: tuple[str, ...] = ()
) -> dict[str, str]:
    """The environment of a sink command (module docstring): the minimal variables of
    ``environ``, those of ``named`` that are set, and ``HLSYNC_INTEGRATION``."""
    env = {
        name: value
        for name, value in environ.items()
        if name in BASE_VARIABLES or name.startswith("LC_") or name in named
    }
    env["HLSYNC_INTEGRATION"] = integration
    return env


async def run_command_sink(
    argv: tuple[str, ...],
    value: str,
    integration: str,
    named: tuple[str, ...] = (),
) -> None:
    """Run a command sink with the token on stdin and a minimal environment plus the
    variables ``named`` (:func:`command_environment`); raise when it did not take it."""
    shown = shlex.join(argv)
    env = command_environment(os.environ, integration, named)

    def run() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            list(argv),
            input=(value + "\n").encode("utf-8"),
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            env=env,
            check=False,
        )

    try:
        done = await asyncio.to_thread(run)
    except subprocess.TimeoutExpired as exc:
        raise HlsyncError(
            f"the sink command {shown} did not finish in {COMMAND_TIMEOUT:.0f}s"
        ) from exc
    except OSError as exc:
        raise HlsyncError(
            f"the sink command {shown} could not run ({exc.strerror})"
        ) from exc
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").replace(value, "***").strip()
        if len(err) > _STDERR_SHOWN:
            err = "…" + err[-_STDERR_SHOWN:]
        said = f": {err}" if err else ""
        raise HlsyncError(
            f"the sink command {shown} exited with status {done.returncode}{said}"
        )
