"""Where a freshly minted Private Integration token goes: the sinks.

A create or a rotation returns the new token exactly once; its custody
(:class:`hlsync.tokens.custody.TokenCustody`: journal, sink, journal) writes it with the
functions here. Sinks (``model.SinkSpec``; DESIGN.md §4):

* ``file`` (also the default, ``<config dir>/.hlsync/tokens/<location or "agency">.
  <integration>.token``): written with mode 0600 in a directory of mode 0700,
  atomically: the value goes to a temporary file in the same directory (created 0600,
  so it is never readable by others, not even for a moment), is flushed to disk, then
  ``os.replace`` puts it in place. A crash leaves either the old file or the new one,
  never half a token. The default directory also gets a ``.gitignore`` of ``*``.
* ``env_file``: the ``KEY=value`` line of a dotenv file is replaced in place (every line
  defining KEY, ``export KEY=`` kept as such), every other byte stays as it was, the
  entry is appended when missing and the file created when absent; written atomically,
  mode 0600.
* ``command``: ``argv`` runs with the token on stdin (one line), never in its arguments
  or environment (``HLSYNC_INTEGRATION`` names the integration). A non-zero exit or a
  timeout (:data:`COMMAND_TIMEOUT`) means "not delivered"; its stderr is shown, scrubbed
  of the token.

``preflight`` checks every sink a plan will need before anything is minted: the folder
exists or can be made and is writable, the command exists and is executable. Errors name
the integration and the file or command, never the value.

Location and integration names are config keys (``[a-z0-9][a-z0-9_-]*``, checked by the
schema), so they are safe file names.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from hlsync.core.model import DesiredState, Integration, SinkSpec
from hlsync.core.plan import Change, Plan
from hlsync.errors import HlsyncError, Problem
from hlsync.files import atomic_write
from hlsync.targets.drivers import Token
from hlsync.tokens.rotation import MINTING

TOKENS_DIR = Path(".hlsync") / "tokens"
AGENCY = "agency"
COMMAND_TIMEOUT = 60.0  # seconds a command sink may take
_STDERR_SHOWN = 400  # characters of a failed command's stderr kept in the message


def config_dir(desired: DesiredState) -> Path:
    """The directory of the config: the root itself, or the folder of a config file."""
    root = Path(desired.root)
    return root if root.is_dir() else root.parent


class TokenFileSink:
    """Writes each minted token to its own 0600 file under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.written: list[Path] = []

    @classmethod
    def for_config(cls, desired: DesiredState) -> TokenFileSink:
        return cls(config_dir(desired) / TOKENS_DIR)

    def __repr__(self) -> str:
        return f"TokenFileSink({str(self.directory)!r})"

    def path_for(self, location: str | None, integration: str) -> Path:
        return self.directory / f"{location or AGENCY}.{integration}.token"

    async def deliver(self, change: Change, token: Token) -> None:
        """Store the token of ``change`` (an integration create or rotate)."""
        name = str(change.desired.get("name") or change.key)
        path = self.path_for(change.location, name)
        write_secret(path, token.reveal())
        self.written.append(path)


def _private_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
        ignore = directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# tokens minted by hlsync: never commit them\n*\n")
    except OSError as exc:
        raise HlsyncError(
            f"{directory}: cannot create the token directory ({exc.strerror})"
        ) from exc


def write_secret(path: Path, value: str) -> None:
    """Write ``value`` to ``path`` atomically, readable by the owner only (0600)."""
    _private_dir(path.parent)
    write_private(path, value + "\n")


def write_private(path: Path, content: str) -> None:
    """Replace ``path`` with ``content`` atomically, mode 0600 (``files.atomic_write``)."""
    try:
        atomic_write(path, content, 0o600)
    except OSError as exc:
        raise HlsyncError(
            f"{path}: cannot store the new token ({exc.strerror})",
            hints=(
                "the token was minted but not stored: fix the folder's permissions, "
                "then rotate the integration's token",
            ),
        ) from exc


def find_declared(
    desired: DesiredState, location: str | None, name: str
) -> Integration | None:
    """The declared integration ``name`` of ``location`` (None: the agency)."""
    if location is None:
        decls = desired.agency.integrations
    else:
        spec = desired.location(location)
        decls = () if spec is None else spec.integrations
    return next((i for i in decls if i.name == name), None)


def sink_for(desired: DesiredState, location: str | None, name: str) -> SinkSpec:
    """The integration's sink: as configured, else the default token file."""
    decl = find_declared(desired, location, name)
    if decl is not None and decl.token.sink is not None:
        return decl.token.sink
    path = TokenFileSink.for_config(desired).path_for(location, name)
    return SinkSpec(kind="file", path=str(path))


def describe_sink(spec: SinkSpec, base: Path) -> str:
    """``file .hlsync/tokens/main.bot.token``, ``env_file .env (KEY)``, ``command …``;
    paths relative to ``base`` (the config folder) when under it."""
    if spec.kind == "command":
        return "command " + shlex.join(spec.argv)
    shown = _relative(Path(spec.path or ""), base)
    if spec.kind == "env_file":
        return f"env_file {shown} ({spec.key})"
    return f"file {shown}"


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def preflight(plan: Plan, desired: DesiredState) -> None:
    """Check every sink ``plan`` will deliver to, before any token is minted.

    Raises one :class:`HlsyncError` listing each integration whose sink cannot work.
    """
    problems: list[Problem] = []
    for change in plan.pending:
        if change.kind != "integration" or change.action not in MINTING:
            continue
        spec = sink_for(desired, change.location, change.key)
        reason = sink_problem(spec)
        if reason is not None:
            decl = find_declared(desired, change.location, change.key)
            where = spec.source or (decl.source if decl is not None else None)
            problems.append(
                Problem(
                    f"{change.address}: its token sink cannot be used: {reason}",
                    where,
                    "fix the sink before applying: nothing was minted",
                )
            )
    if problems:
        raise HlsyncError.collect(problems)


def sink_problem(spec: SinkSpec) -> str | None:
    """Why ``spec`` could not take a token now, or None when it looks usable."""
    if spec.kind == "command":
        if not spec.argv:
            return "the command is empty"
        program = spec.argv[0]
        if os.sep in program:
            if not os.path.isfile(program):
                return f"the command {program} does not exist"
            if not os.access(program, os.X_OK):
                return f"the command {program} is not executable"
            return None
        if shutil.which(program) is None:
            return f"the command {program!r} is not found on PATH"
        return None
    path = Path(spec.path or "")
    if spec.kind == "env_file" and not spec.key:
        return f"the env file {path} has no key to set"
    if path.is_dir():
        return f"{path} is a directory"
    if path.exists() and spec.kind == "env_file" and not os.access(path, os.R_OK):
        return f"the env file {path} is not readable"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    return None


_KEY_LINE = "^[ \\t]*(export[ \\t]+)?{key}[ \\t]*="


def write_env_entry(path: Path, key: str, value: str) -> None:
    """Set ``key=value`` in the dotenv file ``path`` (see the module docstring)."""
    try:
        old = path.read_bytes().decode("utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise HlsyncError(f"{path}: cannot read the env file ({reason})") from exc
    pattern = re.compile(_KEY_LINE.format(key=re.escape(key)))
    lines = old.splitlines(keepends=True)
    found = False
    for i, line in enumerate(lines):
        match = pattern.match(line)
        if match is None:
            continue
        ending = line[len(line.rstrip("\r\n")) :]
        lines[i] = f"{match.group(1) or ''}{key}={value}{ending}"
        found = True
    if not found:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += "\n"
        lines.append(f"{key}={value}\n")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise HlsyncError(
            f"{path.parent}: cannot create the folder ({exc.strerror})"
        ) from exc
    write_private(path, "".join(lines))


async def run_command_sink(argv: tuple[str, ...], value: str, integration: str) -> None:
    """Run a command sink with the token on stdin; raise when it did not take it."""
    shown = shlex.join(argv)
    env = {**os.environ, "HLSYNC_INTEGRATION": integration}

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


def read_sink_token(spec: SinkSpec) -> str | None:
    """The token a ``file`` or ``env_file`` sink holds now, or None when it holds none.

    A ``command`` sink cannot be read back: :class:`HlsyncError`. So can an unreadable
    file; the message names the file, never its content.
    """
    if spec.kind == "command":
        raise HlsyncError(
            "a command sink cannot be read back, so its token cannot be used for "
            "seeding",
            spec.source,
            hints=("give the seeding integration a file or env_file sink",),
        )
    path = Path(spec.path or "")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise HlsyncError(
            f"{path}: cannot read the token sink ({reason})", spec.source
        ) from exc
    if spec.kind == "file":
        return text.strip() or None
    pattern = re.compile(_KEY_LINE.format(key=re.escape(spec.key or "")))
    value = None
    for line in text.splitlines():
        match = pattern.match(line)
        if match is not None:
            value = line[match.end() :].strip().strip("'\"") or None
    return value


def owner_dir(directory: Path) -> None:
    """A configured token file's folder: made (or made again) mode 0700. Unlike the
    default folder it gets no ``.gitignore``: it may hold other files."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
    except OSError as exc:
        raise HlsyncError(
            f"{directory}: cannot create the token folder ({exc.strerror})"
        ) from exc
