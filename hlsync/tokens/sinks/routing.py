"""The sink each declared integration's token goes to, and the checks over a plan's
sinks before anything is minted.

:func:`sink_for` is the configured sink, else the default token file beside the config;
:func:`describe_sink`, :func:`prove_sink` and :func:`read_sink_token` hand a spec to
the :class:`~.base.Sink` of its kind (:func:`.registry.sink_of`). :func:`preflight`
proves every sink a plan will need before anything is minted: the folder is created
(0700) and proven writable, the file is one hlsync may replace, the command exists and
is executable. Errors name the integration and the file or command, never the value.
"""

from __future__ import annotations

from pathlib import Path

from hlsync.core.model import DesiredState, Integration, SinkSpec
from hlsync.core.plan import Plan
from hlsync.errors import HlsyncError, Problem
from hlsync.tokens.rotation import MINTING
from hlsync.tokens.sinks.file import TOKENS_DIR, TokenFileSink
from hlsync.tokens.sinks.registry import sink_of


def config_dir(desired: DesiredState) -> Path:
    """The directory of the config: the root itself, or the folder of a config file."""
    root = Path(desired.root)
    return root if root.is_dir() else root.parent


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
    path = TokenFileSink(config_dir(desired) / TOKENS_DIR).path_for(location, name)
    return SinkSpec(kind="file", path=str(path))


def describe_sink(spec: SinkSpec, base: Path) -> str:
    """``file .hlsync/tokens/main.bot.token``, ``env_file .env (KEY)``, ``command …``;
    paths relative to ``base`` (the config folder) when under it."""
    return sink_of(spec).label(base)


def prove_sink(spec: SinkSpec, base: Path) -> str | None:
    """Make ``spec`` ready and prove it can take a token now (``Sink.prove``): why it
    cannot, or None. ``base``: the config folder."""
    return sink_of(spec).prove(base)


def read_sink_token(spec: SinkSpec) -> str | None:
    """The token a readable sink (``file``, ``env_file``) holds now, or None when it
    holds none.

    A sink that cannot be read back (``command``) raises :class:`HlsyncError`; so does
    an unreadable file: the message names the file, never its content.
    """
    return sink_of(spec).read()


def preflight(plan: Plan, desired: DesiredState) -> None:
    """Prove every sink ``plan`` will deliver to, before any token is minted: run by
    ``plan`` and by ``apply`` (``Sink.prove``: a file sink's folder is created, mode
    0700, and proven writable without writing a token; a system path, a device, a
    directory or a file hlsync did not write is refused).

    Raises one :class:`HlsyncError` listing each integration whose sink cannot work,
    located at its sink.
    """
    base = config_dir(desired)
    problems: list[Problem] = []
    for change in plan.pending:
        if change.kind != "integration" or change.action not in MINTING:
            continue
        spec = sink_for(desired, change.location, change.key)
        reason = prove_sink(spec, base)
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
