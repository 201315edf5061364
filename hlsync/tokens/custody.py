"""Custody of a freshly minted token: journal, sink, journal again.

A create or a rotation returns the new token exactly once. The applier hands it to
:class:`TokenCustody` and to nothing else, which journals the intent before the call
(:mod:`hlsync.tokens.journal`), delivers the token to the integration's sink
(:mod:`hlsync.tokens.sinks`: one module per kind of sink, how it is written and
checked), and journals the delivery. ``hlsync token deliver`` stores a token copied
from the live cloud's UI through the same custody (:meth:`TokenCustody.store_given`).

The previous token of a rotation (later) stays in custody too. The rotation overwrites
the sink with the new token while the old one keeps working upstream through the
overlap; cancelling the rotation revokes the *new* one. So before a rotation mints,
the token the sink holds is copied to a side file (:func:`previous_path`: ``<sink
file>.previous``, or ``<env file>.<KEY>.previous``; 0600, beside the sink), and
``cancel_rotation`` puts it back into the sink once the upstream has cancelled
(:meth:`TokenCustody.restore_previous`). A ``command`` sink cannot be read back, so it
has no previous token to restore: cancelling its rotation is refused before the upstream
is called (:meth:`TokenCustody.restore_problem`), as is one whose previous token is not
held. The side file is removed when the old token ends (expire old, rotate now, delete;
or the overlap ended by itself: :func:`release_ended`, run by every apply) or is
restored. Neither value ever reaches a message.
"""

from __future__ import annotations

from pathlib import Path

from hlsync.core.model import DesiredState, ObservedIntegration, ObservedState, SinkSpec
from hlsync.core.plan import Change
from hlsync.errors import HlsyncError
from hlsync.targets.drivers import Token
from hlsync.tokens.journal import Journal
from hlsync.tokens.rotation import token_key
from hlsync.tokens.sinks.disk import write_private
from hlsync.tokens.sinks.registry import sink_of
from hlsync.tokens.sinks.routing import (
    config_dir,
    describe_sink,
    find_declared,
    read_sink_token,
    sink_for,
)


class TokenCustody:
    """Journal, sink and journal again, around every token the applier mints.

    ``before_mint`` (prove the sink, journal intent) → the driver call → ``deliver`` (sink, then
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
        self._proven: set[SinkSpec] = set()
        self.stored: list[Path] = []

    def __repr__(self) -> str:
        return f"TokenCustody({self._journal!r})"

    def _spec(self, location: str | None, name: str) -> SinkSpec:
        return sink_for(self._desired, location, name)

    def _generation(self, change: Change) -> int:
        decl = find_declared(self._desired, change.location, change.key)
        return 0 if decl is None else decl.token.generation

    def before_mint(self, change: Change) -> str:
        """Prove the sink (:meth:`prove`), then journal the intent; returns the
        ticket. Raises :class:`HlsyncError` (nothing minted) when the sink fails."""
        self.prove(change)
        return self._intent(
            change.location, change.key, change.action, self._generation(change)
        )

    def prove(self, change: Change) -> None:
        """Nothing is minted unless its sink was proven writable in this run: the
        sink of ``change`` is proven (``Sink.prove``) once per custody, i.e. once per
        run, whatever ``plan`` found earlier (a saved plan may be days old)."""
        spec = self._spec(change.location, change.key)
        if spec in self._proven:
            return
        reason = sink_of(spec).prove(self._base)
        if reason is not None:
            raise HlsyncError(
                f"{token_key(change.location, change.key)}: its token sink cannot be "
                f"used: {reason}; nothing was minted"
            )
        self._proven.add(spec)

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

    def before_rotation(self, change: Change) -> None:
        """Before a rotation (later) mints: keep the token the sink holds now in the
        side file, so a cancellation can put it back (module docstring). Raises
        :class:`HlsyncError` (nothing minted yet) when it cannot be kept."""
        self.prove(change)
        self.keep_previous(change.location, change.key, "nothing was minted")

    def keep_previous(self, location: str | None, name: str, outcome: str) -> None:
        """Copy the token the sink of ``name`` holds now into its side file (none
        held: no side file), so a cancelled rotation can put it back. ``outcome``
        ends the error raised when it cannot be kept ("nothing was minted")."""
        spec = self._spec(location, name)
        side = previous_path(spec)
        if side is None:
            return  # a command sink: nothing to read back
        current = read_sink_token(spec)
        if current is None:
            side.unlink(missing_ok=True)
            return
        try:
            write_private(side, current + "\n")
        except HlsyncError as exc:
            raise HlsyncError(
                f"{token_key(location, name)}: cannot keep the current token before "
                f"rotating ({exc.message.replace(current, '***')}); {outcome}"
            ) from None

    def not_minted(self, ticket: str, change: Change) -> None:
        if change.action == "rotate":
            self._release(change)  # the token in the sink is still the current one
        if self._journal is not None and ticket:
            self._journal.not_minted(ticket, token_key(change.location, change.key))

    def deleted(self, change: Change) -> None:
        self._release(change)
        if self._journal is not None:
            self._journal.deleted(token_key(change.location, change.key))

    def expired_old(self, change: Change) -> None:
        """The old token of a rotation ended: its copy is no longer kept."""
        self._release(change)

    def _release(self, change: Change) -> None:
        side = previous_path(self._spec(change.location, change.key))
        if side is not None:
            side.unlink(missing_ok=True)

    def restore_problem(self, location: str | None, name: str) -> str | None:
        """Why cancelling the rotation of ``name`` would leave its sink holding a
        revoked token (no previous token to put back), or None when it can be done."""
        spec = self._spec(location, name)
        label = describe_sink(spec, self._base)
        side = previous_path(spec)
        if side is None:
            return (
                f"its token goes to {label}, which cannot be read back, so the "
                "previous token cannot be put back there"
            )
        if not side.is_file():
            return (
                f"hlsync holds no previous token for {label} (the rotation was not "
                "made by hlsync, or its old token was already released)"
            )
        return None

    async def restore_previous(self, change: Change) -> tuple[str, Token]:
        """After the upstream cancelled a rotation: the previous token back into the
        sink, its side file removed; returns the note and the token (for seeding)."""
        spec = self._spec(change.location, change.key)
        side = previous_path(spec)
        key = token_key(change.location, change.key)
        label = describe_sink(spec, self._base)
        if side is None:
            raise HlsyncError(f"{label} cannot take the previous token back")
        try:
            value = side.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise HlsyncError(
                f"{side}: cannot read the previous token ({reason})"
            ) from exc
        if not value:
            raise HlsyncError(f"{side} holds no previous token")
        try:
            await self._write(spec, value, key, new=False)
        except HlsyncError as exc:
            reason = "; ".join(p.message for p in exc.problems).replace(value, "***")
            raise HlsyncError(reason) from None
        side.unlink(missing_ok=True)
        return f"the previous token is back in {label}", Token(value)

    async def deliver(self, ticket: str, change: Change, token: Token) -> str:
        """Store ``token``; returns what to say ("token stored in …"). On failure the
        journal records it and an :class:`HlsyncError` (without the value) is raised.
        A rotate now ends the old token: its kept copy (if any) goes too."""
        note = await self._store(
            ticket, change.location, change.key, token, self._generation(change)
        )
        if change.action == "rotate_now":
            self._release(change)
        return note

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

    async def _write(
        self, spec: SinkSpec, value: str, key: str, *, new: bool = True
    ) -> None:
        """Write ``value`` to the sink; ``new``: a new token, listed in ``stored``."""
        written = await sink_of(spec).store(value, key, base=self._base)
        if new and written is not None and written not in self.stored:
            self.stored.append(written)


def previous_path(spec: SinkSpec) -> Path | None:
    """Where the previous token of a rotation is kept for ``spec``; None for a sink
    that cannot be read back (a command: there is nothing to keep)."""
    return sink_of(spec).previous_path()


def release_ended(desired: DesiredState, observed: ObservedState) -> None:
    """Remove the kept previous token of every declared integration that the upstream
    shows with no rotation in progress: its overlap ended, the old token is dead."""
    found: list[tuple[str | None, str, ObservedIntegration | None]] = [
        (None, i.name, observed.agency_integrations.get(i.name))
        for i in desired.agency.integrations
    ]
    for spec in desired.locations:
        seen = observed.locations.get(spec.name)
        found += [
            (spec.name, i.name, None if seen is None else seen.integrations.get(i.name))
            for i in spec.integrations
        ]
    for location, name, obs in found:
        if obs is None or obs.old_token_expires_at is not None:
            continue
        side = previous_path(sink_for(desired, location, name))
        if side is not None:
            side.unlink(missing_ok=True)
