"""Where a freshly minted Private Integration token goes: the sinks, and their custody.

A create or a rotation returns the new token exactly once. The applier hands it to
:class:`TokenCustody` and to nothing else, which journals the intent before the call
(``hlsync.journal``), delivers the token to the integration's sink, and journals the
delivery. Sinks (``model.SinkSpec``; DESIGN.md §4):

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
import tempfile
from pathlib import Path

from hlsync.errors import HlsyncError, Problem
from hlsync.integrations import Token
from hlsync.journal import Journal
from hlsync.model import DesiredState, Integration, SinkSpec
from hlsync.plan import Change, Plan
from hlsync.plan_integrations import MINTING
from hlsync.rotation import token_key

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
    _write_private(path, value + "\n")


def _write_private(path: Path, content: str) -> None:
    temp_name: str | None = None
    try:
        # mkstemp creates the file with mode 0600 before anything is written to it.
        fd, temp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, path)
        temp_name = None
    except OSError as exc:
        raise HlsyncError(
            f"{path}: cannot store the new token ({exc.strerror})",
            hints=(
                "the token was minted but not stored: fix the folder's permissions, "
                "then rotate the integration's token",
            ),
        ) from exc
    finally:
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)


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
    _write_private(path, "".join(lines))


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


class TokenCustody:
    """Journal, sink and journal again, around every token the applier mints.

    ``before_mint`` (journal intent) → the driver call → ``deliver`` (sink, then
    journal "delivered", or "undelivered" and an error) or ``not_minted``. ``stored``
    collects the files written (token files and env files), for the CLI to report.
    ``journal=None`` keeps no journal (tests of the applier alone).

    :meth:`store_given` is the same custody for a token minted elsewhere: one copied
    from the live cloud's UI (``hlsync token deliver``, manual driver).
    """

    def __init__(
        self,
        desired: DesiredState,
        journal: Journal | None,
        plan_checksum: str,
    ) -> None:
        self._desired = desired
        self._journal = journal
        self._plan = plan_checksum
        self._base = config_dir(desired)
        self.stored: list[Path] = []

    def __repr__(self) -> str:
        return f"TokenCustody({self._journal!r})"

    def _spec(self, location: str | None, name: str) -> SinkSpec:
        return sink_for(self._desired, location, name)

    def _generation(self, change: Change) -> int:
        decl = find_declared(self._desired, change.location, change.key)
        return 0 if decl is None else decl.token.generation

    def sink_label(self, change: Change) -> str:
        return describe_sink(self._spec(change.location, change.key), self._base)

    def before_mint(self, change: Change) -> str:
        return self._intent(
            change.location, change.key, change.action, self._generation(change)
        )

    def _intent(
        self, location: str | None, name: str, verb: str, generation: int
    ) -> str:
        if self._journal is None:
            return ""
        return self._journal.intent(
            token_key(location, name),
            verb,
            plan=self._plan,
            generation=generation,
            sink=describe_sink(self._spec(location, name), self._base),
        )

    def not_minted(self, ticket: str, change: Change) -> None:
        if self._journal is not None and ticket:
            self._journal.not_minted(ticket, token_key(change.location, change.key))

    def deleted(self, change: Change) -> None:
        if self._journal is not None:
            self._journal.deleted(token_key(change.location, change.key))

    async def deliver(self, ticket: str, change: Change, token: Token) -> str:
        """Store ``token``; returns what to say ("token stored in …"). On failure the
        journal records it and an :class:`HlsyncError` (without the value) is raised."""
        return await self._store(
            ticket, change.location, change.key, token, self._generation(change)
        )

    async def store_given(
        self, location: str | None, name: str, token: Token, *, generation: int
    ) -> str:
        """Store a token minted elsewhere in the sink of integration ``name`` (of
        ``location``; None: the agency), exactly as a minted one: journal intent (verb
        ``deliver``), the configured sink (the default token file when none), journal
        "delivered" with ``generation``. Returns and raises like :meth:`deliver`."""
        ticket = self._intent(location, name, "deliver", generation)
        return await self._store(ticket, location, name, token, generation)

    async def _store(
        self,
        ticket: str,
        location: str | None,
        name: str,
        token: Token,
        generation: int,
    ) -> str:
        key = token_key(location, name)
        spec = self._spec(location, name)
        label = describe_sink(spec, self._base)
        try:
            await self._write(spec, token.reveal(), key)
        except HlsyncError as exc:
            reason = "; ".join(p.message for p in exc.problems)
            reason = reason.replace(token.reveal(), "***")
            if self._journal is not None and ticket:
                self._journal.undelivered(ticket, key, reason)
            raise HlsyncError(reason) from None
        if self._journal is not None and ticket:
            try:
                self._journal.delivered(ticket, key, generation)
            except HlsyncError as exc:  # stored all the same: say so, do not fail it
                return (
                    f"token stored in {label}, but the journal could not record it "
                    f"({exc.message}); the next plan will ask about it"
                )
        return f"token stored in {label}"

    async def _write(self, spec: SinkSpec, value: str, key: str) -> None:
        if spec.kind == "command":
            await run_command_sink(spec.argv, value, key)
            return
        path = Path(spec.path or "")
        if spec.kind == "env_file":
            write_env_entry(path, spec.key or "", value)
        elif path.parent == self._base / TOKENS_DIR:
            write_secret(path, value)  # the default folder: 0700 and a .gitignore
        else:
            _owner_dir(path.parent)
            _write_private(path, value + "\n")
        if path not in self.stored:
            self.stored.append(path)


def _owner_dir(directory: Path) -> None:
    """A configured token file's folder: made (or made again) mode 0700. Unlike the
    default folder it gets no ``.gitignore``: it may hold other files."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)
    except OSError as exc:
        raise HlsyncError(
            f"{directory}: cannot create the token folder ({exc.strerror})"
        ) from exc
