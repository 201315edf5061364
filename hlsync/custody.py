"""Custody of a freshly minted token: journal, sink, journal again.

A create or a rotation returns the new token exactly once. The applier hands it to
:class:`TokenCustody` and to nothing else, which journals the intent before the call
(:mod:`hlsync.journal`), delivers the token to the integration's sink
(:mod:`hlsync.sinks`: how each kind of sink is written and checked), and journals the
delivery. ``hlsync token deliver`` stores a token copied from the live cloud's UI through
the same custody (:meth:`TokenCustody.store_given`).
"""

from __future__ import annotations

from pathlib import Path

from hlsync.errors import HlsyncError
from hlsync.integrations import Token
from hlsync.journal import Journal
from hlsync.model import DesiredState, SinkSpec
from hlsync.plan import Change
from hlsync.rotation import token_key
from hlsync.sinks import (
    TOKENS_DIR,
    config_dir,
    describe_sink,
    find_declared,
    owner_dir,
    run_command_sink,
    sink_for,
    write_env_entry,
    write_private,
    write_secret,
)


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
            owner_dir(path.parent)
            write_private(path, value + "\n")
        if path not in self.stored:
            self.stored.append(path)
