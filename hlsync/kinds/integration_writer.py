"""How Private Integration changes are made, and what happens to a minted token.

``IntegrationWriter.execute(change)`` carries out one integration change of a plan
through ``access.integrations`` (the api driver, or the manual driver that refuses every
write): create, update (the token is kept), delete, and the token verbs rotate (later,
with the plan's overlap), rotate_now, expire_old and cancel_rotation (a 409 "no
rotation in progress" means it is already so).

A minted token (create, rotate, rotate now) goes to the run's :class:`Custody`
(``custody.TokenCustody``: journal intent before the call, the sink, journal delivery
after; or, in tests of the applier alone, a bare ``deliver_token`` callable) and to
nothing else. Without one, or when the sink fails, the change fails saying the token was
minted but NOT stored and how to recover (``hlsync token rotate NAME --now --force``). When a
location's API runs on this integration's token (``access.seeded_by``), it switches to
the new token once stored. No token value ever reaches a message.

The custody also keeps the previous token of a rotation (later): ``cancel_rotation``
revokes the new token, so the previous one must go back into the sink. It is refused,
before the upstream is called, when the custody cannot put it back (a command sink, no
previous token held); after the upstream cancelled, the previous token is restored
(and a location seeding with it switches back). Expiring the old token, a rotate now
and a delete release the kept copy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from hlsync.core.model import ObservedIntegration
from hlsync.core.plan import Change
from hlsync.errors import HlsyncError
from hlsync.kinds.change_fields import (
    ChangeFailed,
    error_text,
    object_id,
    strings_of,
    text_of,
)
from hlsync.kinds.shared import create_keyed
from hlsync.targets.access import TargetAccess
from hlsync.targets.drivers import (
    ApiIntegrationDriver,
    IntegrationDriver,
    IntegrationScope,
    RotationMode,
    Token,
)
from hlsync.upstream.client import AmbiguousWriteError, ApiError

DeliverToken = Callable[[Change, Token], Awaitable[None]]


class Custody(Protocol):
    """Who keeps minted tokens (``custody.TokenCustody``); see the module docstring."""

    def before_mint(self, change: Change) -> str:
        """Journal the intent; returns a ticket for the calls below."""
        ...

    def not_minted(self, ticket: str, change: Change) -> None: ...

    def deleted(self, change: Change) -> None: ...

    def before_rotation(self, change: Change) -> None:
        """Keep the sink's current token before a rotation (later) mints."""
        ...

    def expired_old(self, change: Change) -> None: ...

    def restore_problem(self, location: str | None, name: str) -> str | None:
        """Why a cancelled rotation could not get its previous token back, or None."""
        ...

    async def restore_previous(self, change: Change) -> tuple[str, Token | None]:
        """Put the previous token back in the sink; the note and that token."""
        ...

    async def deliver(self, ticket: str, change: Change, token: Token) -> str:
        """Store the token; returns a note. Raises ``HlsyncError`` when not stored."""
        ...


class PlainDelivery:
    """A bare ``deliver_token`` callable as a :class:`Custody` without a journal."""

    def __init__(self, deliver: DeliverToken) -> None:
        self._deliver = deliver

    def before_mint(self, change: Change) -> str:
        return ""

    def not_minted(self, ticket: str, change: Change) -> None:
        return None

    def deleted(self, change: Change) -> None:
        return None

    def before_rotation(self, change: Change) -> None:
        return None

    def expired_old(self, change: Change) -> None:
        return None

    def restore_problem(self, location: str | None, name: str) -> str | None:
        return None  # no sink is kept here: nothing to restore

    async def restore_previous(self, change: Change) -> tuple[str, Token | None]:
        return "", None

    async def deliver(self, ticket: str, change: Change, token: Token) -> str:
        await self._deliver(change, token)
        return ""


class IntegrationWriter:
    """Integration changes of one apply; ``custody`` None: a minted token is lost."""

    def __init__(self, access: TargetAccess, custody: Custody | None) -> None:
        self._access = access
        self._custody = custody

    async def execute(self, change: Change) -> str:
        """Make one integration change; returns the outcome's note."""
        driver = self._access.integrations
        if driver is None:
            raise ChangeFailed("this target has no Private Integration driver")
        if change.location_id is not None:
            scope = IntegrationScope.location(change.location_id)
        elif self._access.company_id is not None:
            scope = IntegrationScope.agency(self._access.company_id)
        else:
            raise ChangeFailed("the agency's company id is not known for this target")
        action = change.action
        if action == "create":
            return await self._create(driver, scope, change)
        if action == "update":
            await driver.update(
                scope,
                object_id(change),
                description=text_of(change, "description"),
                scopes=strings_of(change, "scopes"),
            )
            return ""
        if action == "delete":
            await driver.delete(scope, object_id(change))
            if self._custody is not None and "duplicate_of" not in change.desired:
                self._custody.deleted(change)  # a duplicate's sink is the kept one's
            return ""
        if action in ("rotate", "rotate_now"):
            mode: RotationMode = "now" if action == "rotate_now" else "later"
            if action == "rotate" and self._custody is not None:
                self._custody.before_rotation(change)
            ticket = self._before_mint(change)
            try:
                if isinstance(driver, ApiIntegrationDriver):
                    _, token = await driver.rotate(
                        scope, object_id(change), mode, overlap=_overlap(change)
                    )
                else:
                    _, token = await driver.rotate(scope, object_id(change), mode)
            except AmbiguousWriteError:
                raise  # a token may exist: the journal's open intent reports it
            except HlsyncError:
                self._not_minted(ticket, change)
                raise
            return await self._store_token(ticket, change, token, "rotated")
        if action == "expire_old":
            try:
                await driver.expire_old(scope, object_id(change))
            except ApiError as exc:
                if exc.status != 409:
                    raise
                self._expired_old(change)
                return "no rotation in progress upstream: nothing left to do"
            self._expired_old(change)
            return ""
        if action == "cancel_rotation":
            return await self._cancel_rotation(driver, scope, change)
        raise ChangeFailed(f"an integration cannot be changed with action {action!r}")

    async def _create(
        self, driver: IntegrationDriver, scope: IntegrationScope, change: Change
    ) -> str:
        """Create the integration and store its token. A lost answer is settled by
        name (``shared.create_keyed``): not there, the create is sent again; there, the
        create committed but its token is lost with the answer, and nobody holds it, so
        the token is rotated now (no overlap to keep) and the new one is stored."""
        name = text_of(change, "name")
        ticket = self._before_mint(change)

        async def rotated() -> tuple[ObservedIntegration, Token] | None:
            found = (await driver.list(scope)).get(name)
            if found is None:
                return None
            return await driver.rotate(scope, found.id, "now")

        try:
            created = await create_keyed(
                lambda: driver.create(
                    scope,
                    name,
                    text_of(change, "description"),
                    strings_of(change, "scopes"),
                ),
                rotated,
                "integration",
            )
        except AmbiguousWriteError:
            raise  # the rotation's answer was lost: the journal's open intent says so
        except (HlsyncError, ChangeFailed):
            self._not_minted(ticket, change)
            raise
        integration, token = created.value
        note = await self._store_token(
            ticket, change, token, f"created ({integration.id})"
        )
        settled = created.note("integration")
        if created.found:
            settled += "; its token was lost with the answer, so it was rotated now"
        return "; ".join(n for n in (settled, note) if n)

    async def _cancel_rotation(
        self, driver: IntegrationDriver, scope: IntegrationScope, change: Change
    ) -> str:
        """Cancel upstream, then put the previous token back (module docstring)."""
        name = _token_name(change)
        if self._custody is not None:
            problem = self._custody.restore_problem(change.location, change.key)
            if problem is not None:
                raise ChangeFailed(
                    f"not cancelled: {problem}; the sink holds the new token, which "
                    "cancelling would revoke. Keep the new token instead: "
                    f"'hlsync token expire-old {name} --force', or let the overlap end"
                )
        try:
            await driver.cancel_rotation(scope, object_id(change))
        except ApiError as exc:
            if exc.status != 409:
                raise
            self._expired_old(change)  # no old token upstream: the copy is dead
            return "no rotation in progress upstream: nothing left to do"
        if self._custody is None:
            return ""
        try:
            note, token = await self._custody.restore_previous(change)
        except (HlsyncError, OSError) as exc:
            reason = error_text(exc) if isinstance(exc, HlsyncError) else exc.strerror
            raise ChangeFailed(
                f"the rotation was cancelled, but the previous token could not be put "
                f"back in its sink ({reason}): the sink holds the revoked new token; "
                f"recover with 'hlsync token rotate {name} --now --force'"
            ) from exc
        if token is not None:
            note = self._switch_seeding(change, token, note)
        return note

    def _expired_old(self, change: Change) -> None:
        if self._custody is not None:
            self._custody.expired_old(change)

    def _switch_seeding(self, change: Change, token: Token, note: str) -> str:
        """A location seeding with this integration now uses ``token``."""
        if self._access.seeded_by.get(change.location or "") == change.key:
            api = self._access.locations.get(change.location or "")
            if api is not None:
                api.switch_token(token.reveal())
                note = "; ".join(
                    n for n in (note, "the location now uses this token") if n
                )
        return note

    def _before_mint(self, change: Change) -> str:
        if self._custody is None:
            return ""
        return self._custody.before_mint(change)

    def _not_minted(self, ticket: str, change: Change) -> None:
        if self._custody is not None:
            self._custody.not_minted(ticket, change)

    async def _store_token(
        self, ticket: str, change: Change, token: Token, done: str
    ) -> str:
        recover = f"hlsync token rotate {_token_name(change)} --now --force"
        if self._custody is None:
            raise ChangeFailed(
                f"{done}, but the new token was minted and not stored: this run has "
                f"no token sink; once one is configured, run '{recover}'"
            )
        try:
            note = await self._custody.deliver(ticket, change, token)
        except (HlsyncError, OSError) as exc:
            if isinstance(exc, HlsyncError):
                reason = error_text(exc)
            else:
                reason = exc.strerror or type(exc).__name__
            reason = reason.replace(token.reveal(), "***")  # whoever raised it
            raise ChangeFailed(
                f"{done}, but the new token was minted and NOT stored ({reason}); "
                f"fix the sink, then run '{recover}' to mint a fresh one into it"
            ) from exc
        note = self._switch_seeding(change, token, note)
        return "; ".join(n for n in (done if note else "", note) if n)


def _token_name(change: Change) -> str:
    return f"{change.location or 'agency'}/{change.key}"


def _overlap(change: Change) -> timedelta | None:
    seconds = change.desired.get("overlap_seconds")
    if isinstance(seconds, int) and not isinstance(seconds, bool) and seconds > 0:
        return timedelta(seconds=seconds)
    return None
