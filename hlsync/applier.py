"""Execute a plan's changes: ``apply_plan(plan, access) -> ApplyResult``.

The caller has already refused an unsafe, stale or foreign plan (``Plan.raise_if_unsafe``,
``raise_if_stale``, ``raise_if_config_differs``); this module only carries out
``plan.pending`` (the changes that make API calls), exactly as the plan describes them
(see the ``hlsync.plan`` docstring for what each change's ``desired`` holds).

Scheduling:

* A change starts once every change it ``depends_on`` has finished; if one of them failed
  or was skipped, it is skipped ("depends on X, which failed") and so, in turn, are its own
  dependents. Everything else keeps going: one bad contact never blocks the others.
* Integration deletes run after every other change has finished (a deleted integration
  may hold the token the other calls use), whatever those outcomes were.
* Independent changes run concurrently, at most :data:`IN_FLIGHT_PER_LOCATION` per
  location (and per agency): enough to keep the pacer's in-flight window full while a
  contact update waits between its calls. Request pacing itself is ``client.Pacer``'s.
* ``fail_fast``: after the first failure no further change starts (changes already
  running finish, so nothing is cut off mid-write); the rest are skipped and the result
  is marked ``interrupted``.
* One :class:`~hlsync.result.Outcome` per pending change, in plan order; ``on_outcome``
  is called as each one is decided (for a progress display). ``api_calls`` counts the
  HTTP requests a change sent, retries included (``client.attempt_counter``).

How each kind is written (idempotent wherever upstream allows it):

* contact create: ``POST /contacts/upsert`` only (never ``POST /contacts/``), so a retried
  or repeated apply — also one whose read missed the contact through search lag — updates
  the contact instead of duplicating it. Update: ``PUT`` (or upsert, as the plan says)
  with the changed fields, then the tag add/remove endpoints; tags are never replaced
  wholesale on an update. Delete: ``DELETE``.
* custom field values go by field id: the ids of the plan's existing fields, and those
  of fields created earlier in this run (a contact depends on the field it uses). A key
  with no known id is sent by key, which upstream also accepts.
* custom field / tag create: not idempotent upstream. An :class:`AmbiguousWriteError`
  (the create may have committed) re-reads the list: found means done, else failed. A
  400 for a name or key already taken (the same plan applied twice) re-reads too: the
  tag, or a field of the same data type, already there is success.
  HighLevel derives a field's key from its name; a created field whose key is not the
  declared one fails, naming both, since hlsync could never find it again by its key.
  HighLevel's location custom-field API takes no picklist options: a create with
  options succeeds with a note saying to add them in the UI; an update of options alone
  fails saying the same.
* deletes that answer "not found" are verified with one read: already gone is success.
* integrations go through ``access.integrations``. A minted token (create, rotate) is
  handed to ``deliver_token`` and to nothing else; without one the outcome fails, saying
  the token was minted but not stored. No token value ever reaches a message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from hlsync.client import AmbiguousWriteError, ApiError, LocationApi, attempt_counter
from hlsync.errors import HlsyncError
from hlsync.integrations import IntegrationScope, RotationMode, Token
from hlsync.plan import Change, Plan
from hlsync.reader import TargetAccess
from hlsync.result import ApplyResult, Outcome

IN_FLIGHT_PER_LOCATION = 16
AGENCY = "agency"
FIELD_PREFIX = "contact."
# Answers that may mean "the object is already gone" (upstream says 400 for a contact).
_GONE_STATUSES = frozenset({400, 404})

OutcomeCallback = Callable[[Outcome], None]
DeliverToken = Callable[[Change, Token], Awaitable[None]]


class _Failed(Exception):
    """A change that could not be made; ``message`` goes into its outcome."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def apply_plan(
    plan: Plan,
    access: TargetAccess,
    *,
    fail_fast: bool = False,
    on_outcome: OutcomeCallback | None = None,
    deliver_token: DeliverToken | None = None,
) -> ApplyResult:
    """Make every pending change of ``plan`` through ``access``; see the module docstring.

    Never raises for a change that fails: that is a ``failed`` outcome. An exception from
    ``on_outcome`` (or any non-``HlsyncError`` bug) cancels the run and propagates.
    """
    started = time.monotonic()
    pending = plan.pending
    writer = _Writer(access, deliver_token, _known_field_ids(plan.changes))
    by_address = {c.address: c for c in pending}
    finished = {c.address: asyncio.Event() for c in pending}
    outcomes: dict[str, Outcome] = {}
    stop = asyncio.Event()
    stopped_any = False
    limits: dict[str, asyncio.Semaphore] = {}
    others = [c.address for c in pending if not _is_integration_delete(c)]

    def waits_for(change: Change) -> tuple[list[str], list[str]]:
        """(dependencies that must succeed, changes that must merely finish first)"""
        needs = [a for a in change.depends_on if a in by_address]
        after = others if _is_integration_delete(change) else []
        return needs, after

    cyclic = _cyclic(pending, waits_for)

    def decide(outcome: Outcome) -> None:
        outcomes[outcome.change_address] = outcome
        if outcome.status == "failed" and fail_fast:
            stop.set()
        if on_outcome is not None:
            on_outcome(outcome)
        finished[outcome.change_address].set()

    async def run(change: Change) -> None:
        nonlocal stopped_any
        needs, after = waits_for(change)
        for address in (*needs, *after):
            await finished[address].wait()
        blocker = next((a for a in needs if outcomes[a].status != "ok"), None)
        if blocker is not None:
            verb = "failed" if outcomes[blocker].status == "failed" else "was skipped"
            decide(_skipped(change, f"depends on {blocker}, which {verb}"))
            return
        if change.gate == "protected":
            decide(_skipped(change, "held back: it is protected (`protect: true`)"))
            return
        bucket = change.location or AGENCY
        limit = limits.setdefault(bucket, asyncio.Semaphore(IN_FLIGHT_PER_LOCATION))
        async with limit:
            if stop.is_set():
                stopped_any = True
                decide(_skipped(change, "not run: --fail-fast stopped the apply"))
                return
            decide(await writer.execute(change))

    for change in pending:
        if change.address in cyclic:
            message = (
                "not run: it is part of (or waits on) a dependency cycle in the plan"
            )
            decide(Outcome(change.address, "failed", message, 0, change.action))
    try:
        async with asyncio.TaskGroup() as group:
            for change in pending:
                if change.address not in cyclic:
                    group.create_task(run(change))
    except BaseExceptionGroup as failed:  # a bug, or on_outcome raised: the first one
        raise failed.exceptions[0] from None
    return ApplyResult(
        outcomes=tuple(outcomes[c.address] for c in pending),
        plan_checksum=plan.checksum,
        elapsed_seconds=round(time.monotonic() - started, 3),
        interrupted=stopped_any,
    )


def _cyclic(
    changes: Sequence[Change],
    waits_for: Callable[[Change], tuple[list[str], list[str]]],
) -> set[str]:
    """Addresses that can never start: on a dependency cycle or behind one (Kahn)."""
    waiting: dict[str, int] = {}
    blocks: dict[str, list[str]] = {}
    for change in changes:
        needs, after = waits_for(change)
        edges = {*needs, *after}
        waiting[change.address] = len(edges)
        for address in edges:
            blocks.setdefault(address, []).append(change.address)
    ready = [a for a, n in waiting.items() if n == 0]
    while ready:
        for follower in blocks.get(ready.pop(), []):
            waiting[follower] -= 1
            if waiting[follower] == 0:
                ready.append(follower)
    return {a for a, n in waiting.items() if n > 0}


def _is_integration_delete(change: Change) -> bool:
    return change.kind == "integration" and change.action == "delete"


def _skipped(change: Change, message: str) -> Outcome:
    return Outcome(change.address, "skipped", message, 0, change.action)


def _known_field_ids(changes: Sequence[Change]) -> dict[tuple[str, str], str]:
    """Ids of custom fields that exist and stay: noop and update changes carry them."""
    return {
        (c.location, c.key): c.object_id
        for c in changes
        if c.kind == "custom_field"
        and c.action in ("noop", "update")
        and c.location is not None
        and c.object_id is not None
    }


def _error_text(exc: HlsyncError) -> str:
    return "; ".join(p.message for p in exc.problems)


class _Writer:
    """Carries out one change at a time; shares created field ids between changes."""

    def __init__(
        self,
        access: TargetAccess,
        deliver_token: DeliverToken | None,
        field_ids: dict[tuple[str, str], str],
    ) -> None:
        self._access = access
        self._deliver = deliver_token
        self._field_ids = field_ids

    async def execute(self, change: Change) -> Outcome:
        """The outcome of ``change``; its API calls are counted in this task only."""
        counter = [0]
        attempt_counter.set(counter)  # each task runs in its own context copy
        try:
            note = await self._dispatch(change)
        except _Failed as exc:
            return Outcome(
                change.address, "failed", exc.message, counter[0], change.action
            )
        except HlsyncError as exc:
            text = _error_text(exc)
            return Outcome(change.address, "failed", text, counter[0], change.action)
        return Outcome(change.address, "ok", note, counter[0], change.action)

    async def _dispatch(self, change: Change) -> str:
        if change.kind == "integration":
            return await self._integration(change)
        api = self._location_api(change)
        if change.kind == "custom_field":
            return await self._custom_field(api, change)
        if change.kind == "tag":
            return await self._tag(api, change)
        return await self._contact(api, change)

    def _location_api(self, change: Change) -> LocationApi:
        api = (
            None
            if change.location is None
            else self._access.locations.get(change.location)
        )
        if api is None:
            raise _Failed(f"no API access for location {change.location!r} in this run")
        return api

    # Contacts

    async def _contact(self, api: LocationApi, change: Change) -> str:
        if change.action == "create":
            answer = await api.upsert_contact(self._body(change))
            if answer.get("new") is False:
                return "already existed upstream: upsert updated it (no duplicate)"
            return ""
        if change.action == "update":
            write = change.desired.get("write")
            if write == "put":
                await api.update_contact(_object_id(change), self._body(change))
            elif write == "upsert":
                await api.upsert_contact(self._body(change))
            elif write is not None:
                raise _Failed(f"the plan names an unknown contact write {write!r}")
            tags_add = _strings(change, "tags_add")
            tags_remove = _strings(change, "tags_remove")
            if tags_add:
                await api.add_tags(_object_id(change), tags_add)
            if tags_remove:
                await api.remove_tags(_object_id(change), tags_remove)
            return ""
        if change.action == "delete":
            contact_id = _object_id(change)
            return await _delete(
                change,
                lambda: api.delete_contact(contact_id),
                lambda: _contact_exists(api, contact_id),
            )
        raise _Failed(f"a contact cannot be changed with action {change.action!r}")

    def _body(self, change: Change) -> dict[str, Any]:
        """``desired["body"]`` with custom field values addressed by field id."""
        body = change.desired.get("body")
        if not isinstance(body, Mapping):
            raise _Failed("the plan's change has no request body")
        out = dict(body)
        values = out.get("customFields")
        if isinstance(values, list):
            out["customFields"] = [self._by_id(change, entry) for entry in values]
        return out

    def _by_id(self, change: Change, entry: Any) -> Any:
        if not isinstance(entry, Mapping) or "key" not in entry:
            return entry
        field_id = self._field_ids.get((change.location or "", str(entry["key"])))
        if field_id is None:
            return dict(entry)  # upstream accepts a field key too
        rest = {k: v for k, v in entry.items() if k != "key"}
        return {"id": field_id, **rest}

    # Custom fields

    async def _custom_field(self, api: LocationApi, change: Change) -> str:
        if change.action == "delete":
            return await _delete(
                change,
                lambda: api.delete_custom_field(_object_id(change)),
                lambda: _field_exists(api, _object_id(change)),
            )
        if change.action == "replace":
            await _delete(
                change,
                lambda: api.delete_custom_field(_object_id(change)),
                lambda: _field_exists(api, _object_id(change)),
            )
            return await self._create_field(api, change)
        if change.action == "create":
            return await self._create_field(api, change)
        if change.action == "update":
            changed = {fc.path for fc in change.fields}
            body: dict[str, Any] = {"name": _text(change, "name")}
            placeholder = change.desired.get("placeholder")
            if "placeholder" in changed and placeholder is not None:
                body["placeholder"] = placeholder
            if changed - {"options"}:
                await api.update_custom_field(_object_id(change), body)
            if "options" in changed:
                raise _Failed(_options_note(change, "cannot change its options"))
            return ""
        raise _Failed(f"a custom field cannot be changed with action {change.action!r}")

    async def _create_field(self, api: LocationApi, change: Change) -> str:
        body: dict[str, Any] = {
            "name": _text(change, "name"),
            "dataType": _text(change, "data_type"),
            "model": "contact",
        }
        placeholder = change.desired.get("placeholder")
        if placeholder is not None:
            body["placeholder"] = placeholder
        note = ""
        try:
            created = await api.create_custom_field(body)
        except AmbiguousWriteError as exc:
            found = await _find_field(api, change.key)
            if found is None:
                raise _Failed(
                    f"{_error_text(exc)} (not created: re-read found no field)"
                ) from exc
            created = found
            note = "the create's answer was lost; a re-read found the field created"
        except ApiError as exc:
            # A repeated apply of the same plan: the field is there, as wanted.
            found = await _find_field(api, change.key) if exc.status == 400 else None
            if found is None or found.get("dataType") != body["dataType"]:
                raise
            created = found
            note = "already existed upstream"
        key = str(created.get("fieldKey") or "")
        if key.removeprefix(FIELD_PREFIX) != change.key:
            raise _Failed(
                f"upstream created it as {key!r} (HighLevel derives the key from the "
                f"name {body['name']!r}), not as {FIELD_PREFIX + change.key!r}: rename "
                f"the key to {key.removeprefix(FIELD_PREFIX)!r} in the config, or the "
                "field's name to match its key, and delete the field created here"
            )
        self._field_ids[(change.location or "", change.key)] = str(created["id"])
        if change.desired.get("options"):
            return "; ".join(
                n
                for n in (note, _options_note(change, "created without its options"))
                if n
            )
        return note

    # Tags

    async def _tag(self, api: LocationApi, change: Change) -> str:
        if change.action == "create":
            name = _text(change, "name")
            try:
                await api.create_tag(name)
            except AmbiguousWriteError as exc:
                if not await _tag_exists(api, name=name):
                    raise _Failed(
                        f"{_error_text(exc)} (not created: re-read found no tag)"
                    ) from exc
                return "the create's answer was lost; a re-read found the tag created"
            except ApiError as exc:
                # A repeated apply of the same plan: the tag is there, as wanted.
                if exc.status != 400 or not await _tag_exists(api, name=name):
                    raise
                return "already existed upstream"
            return ""
        if change.action == "delete":
            tag_id = _object_id(change)
            return await _delete(
                change,
                lambda: api.delete_tag(tag_id),
                lambda: _tag_exists(api, tag_id=tag_id),
            )
        raise _Failed(f"a tag cannot be changed with action {change.action!r}")

    # Integrations

    async def _integration(self, change: Change) -> str:
        driver = self._access.integrations
        if driver is None:
            raise _Failed("this target has no Private Integration driver")
        if change.location_id is not None:
            scope = IntegrationScope.location(change.location_id)
        elif self._access.company_id is not None:
            scope = IntegrationScope.agency(self._access.company_id)
        else:
            raise _Failed("the agency's company id is not known for this target")
        action = change.action
        if action == "create":
            name = _text(change, "name")
            try:
                created, token = await driver.create(
                    scope,
                    name,
                    _text(change, "description"),
                    _strings(change, "scopes"),
                )
            except AmbiguousWriteError as exc:
                found = (await driver.list(scope)).get(name)
                if found is None:
                    raise
                raise _Failed(
                    f"{_error_text(exc)}: the integration was created ({found.id}) but "
                    "its token never arrived; rotate its token to get a usable one"
                ) from exc
            return await self._store_token(change, token, f"created ({created.id})")
        if action == "update":
            await driver.update(
                scope,
                _object_id(change),
                description=_text(change, "description"),
                scopes=_strings(change, "scopes"),
            )
            return ""
        if action == "delete":
            await driver.delete(scope, _object_id(change))
            return ""
        if action in ("rotate", "rotate_now"):
            mode: RotationMode = "now" if action == "rotate_now" else "later"
            _, token = await driver.rotate(scope, _object_id(change), mode)
            return await self._store_token(change, token, "rotated")
        if action == "expire_old":
            await driver.expire_old(scope, _object_id(change))
            return ""
        raise _Failed(f"an integration cannot be changed with action {action!r}")

    async def _store_token(self, change: Change, token: Token, done: str) -> str:
        if self._deliver is None:
            raise _Failed(
                f"{done}, but the new token was minted and not stored: this run has "
                "no token sink; rotate the integration's token once one is configured"
            )
        try:
            await self._deliver(change, token)
        except (HlsyncError, OSError) as exc:
            if isinstance(exc, HlsyncError):
                reason = _error_text(exc)
            else:
                reason = exc.strerror or type(exc).__name__
            raise _Failed(
                f"{done}, but storing the new token failed ({reason}); rotate the "
                "integration's token after fixing that"
            ) from exc
        return ""


async def _delete(
    change: Change,
    send: Callable[[], Awaitable[None]],
    exists: Callable[[], Awaitable[bool]],
) -> str:
    """Send a delete; an error answer for an object that is gone anyway is success."""
    try:
        await send()
    except ApiError as exc:
        if exc.status not in _GONE_STATUSES or await exists():
            raise
        return "already gone upstream"
    return ""


async def _contact_exists(api: LocationApi, contact_id: str) -> bool:
    try:
        await api.get_contact(contact_id)
    except ApiError as exc:
        if exc.status in _GONE_STATUSES:
            return False
        raise
    return True


async def _field_exists(api: LocationApi, field_id: str) -> bool:
    return any(str(f.get("id")) == field_id for f in await api.list_custom_fields())


async def _find_field(api: LocationApi, key: str) -> dict[str, Any] | None:
    for item in await api.list_custom_fields():
        if str(item.get("fieldKey") or "").removeprefix(FIELD_PREFIX) == key:
            return item
    return None


async def _tag_exists(
    api: LocationApi, *, name: str | None = None, tag_id: str | None = None
) -> bool:
    for tag in await api.list_tags():
        if tag_id is not None and str(tag.get("id")) == tag_id:
            return True
        if name is not None and str(tag.get("name", "")).casefold() == name.casefold():
            return True
    return False


def _options_note(change: Change, what: str) -> str:
    options = change.desired.get("options") or []
    listed = ", ".join(str(o) for o in options) if options else "(none)"
    return (
        f"{what} [{listed}]: HighLevel's location custom-field API takes no picklist "
        "options; set them in the HighLevel UI (Settings > Custom Fields)"
    )


def _object_id(change: Change) -> str:
    if change.object_id is None:
        raise _Failed(f"the plan's {change.action} names no upstream id")
    return change.object_id


def _text(change: Change, name: str) -> str:
    value = change.desired.get(name)
    if not isinstance(value, str):
        raise _Failed(f"the plan's change has no text desired.{name}")
    return value


def _strings(change: Change, name: str) -> list[str]:
    value = change.desired.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Failed(f"the plan's change has no list of text desired.{name}")
    return list(value)
