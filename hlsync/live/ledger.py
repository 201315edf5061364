"""The ledger: what an operator confirmed doing to Private Integrations in the UI.

On the live cloud HighLevel has no API for Private Integrations (reference §7.2), so the
manual driver (:mod:`hlsync.live.manual`) cannot read them back. The ledger is the observed
state instead: a file ``hlsync.ledger.json`` beside the config (in the config directory,
or beside a single config file), committed with it so every scope change is a reviewed
diff. JSON rather than YAML because a config directory loads every ``*.yaml`` in it.

Format (``schemas/ledger.schema.json``, version 1): per integration, keyed
``<location>/<name>`` or ``agency/<name>``, the confirmed name, description and scopes,
``status`` (``present`` / ``deleted``), when it was created and last confirmed, when its
token was last delivered (the rotation date), when the old token of an open rotation
expires, and the history of confirmations and deliveries (who, when, which plan change;
a create's and a delivery's token ``generation``, so the generation last applied is
known without the token journal). It never holds a token value: nothing here has a
field for one.

Reading: a missing file is an empty ledger; a file that is not JSON, breaks the schema or
contradicts itself raises :class:`HlsyncError` at ``file:line:column`` of the offending
value. Writing is atomic (temporary file in the same directory, flushed, then
``os.replace``): a crash leaves the old ledger or the new one, never half of one.

Changing it is pure: :func:`confirm_change` and :func:`record_delivery` return a new
:class:`Ledger`; only :func:`save_ledger` touches the disk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator

from hlsync.core.model import JSONValue, ObservedIntegration
from hlsync.core.plan import AGENCY, Change
from hlsync.errors import HlsyncError, Location, Problem
from hlsync.files import atomic_write
from hlsync.resources import load_schema

LEDGER_NAME = "hlsync.ledger.json"
LEDGER_VERSION = 1
SCHEMA_NAME = "ledger.schema.json"
# Upstream's "Rotate and expire this token later" keeps the old token for 7 days (§7.1).
ROTATION_OVERLAP = timedelta(days=7)
ID_PREFIX = "ledger:"

JsonPath = tuple[str | int, ...]
Status = Literal["present", "deleted"]
# where a confirmation's time came from: the upstream's Date header, or this machine
Clock = Literal["upstream", "local"]
Event = Literal[
    "create",
    "update",
    "delete",
    "rotate",
    "rotate_now",
    "expire_old",
    "cancel_rotation",
    "token_delivered",
]
_CONFIRMABLE: Mapping[str, Event] = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "rotate": "rotate",
    "rotate_now": "rotate_now",
    "expire_old": "expire_old",
    "cancel_rotation": "cancel_rotation",
}


def integration_key(location: str | None, name: str) -> str:
    """``main/seed-bot`` for a location's integration, ``agency/ci`` for the agency's."""
    return f"{location or AGENCY}/{name}"


def stamp(moment: datetime) -> str:
    """UTC to the second, as the ledger stores times: ``2026-11-28T17:36:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ledger_path(config_dir: Path) -> Path:
    return config_dir / LEDGER_NAME


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One confirmation or delivery: who, when, what. ``details`` is JSON-native."""

    at: str
    by: str
    event: Event
    address: str | None = None
    config_digest: str | None = None
    details: Mapping[str, JSONValue] = field(default_factory=dict, hash=False)
    clock: Clock | None = None  # whose clock ``at`` is; None in older ledgers

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"at": self.at, "by": self.by, "event": self.event}
        if self.clock is not None:
            data["clock"] = self.clock
        if self.address is not None:
            data["address"] = self.address
        if self.config_digest is not None:
            data["config_digest"] = self.config_digest
        data["details"] = dict(self.details)
        return data


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One integration as last confirmed."""

    location: str | None
    location_id: str | None
    name: str
    status: Status
    description: str
    scopes: tuple[str, ...]
    confirmed_at: str
    created_at: str | None = None
    token_delivered_at: str | None = None
    old_token_expires_at: str | None = None
    history: tuple[LedgerEvent, ...] = ()

    @property
    def key(self) -> str:
        return integration_key(self.location, self.name)

    def observed(self) -> ObservedIntegration:
        """The entry as the manual driver reports it; the id is synthetic (no API)."""
        return ObservedIntegration(
            id=ID_PREFIX + self.key,
            name=self.name,
            description=self.description,
            scopes=self.scopes,
            created_at=self.created_at,
            rotated_at=self.token_delivered_at,
            old_token_expires_at=self.old_token_expires_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "location_id": self.location_id,
            "name": self.name,
            "status": self.status,
            "description": self.description,
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "confirmed_at": self.confirmed_at,
            "token_delivered_at": self.token_delivered_at,
            "old_token_expires_at": self.old_token_expires_at,
            "history": [e.to_dict() for e in self.history],
        }


@dataclass(frozen=True, slots=True)
class Ledger:
    """Every recorded integration by key; deleted ones stay for their history."""

    entries: Mapping[str, LedgerEntry] = field(default_factory=dict)

    def get(self, key: str) -> LedgerEntry | None:
        return self.entries.get(key)

    def present(self, location: str | None) -> dict[str, LedgerEntry]:
        """The integrations that exist in ``location`` (None: the agency), by name."""
        return {
            e.name: e
            for e in self.entries.values()
            if e.location == location and e.status == "present"
        }

    def with_entry(self, entry: LedgerEntry) -> Ledger:
        entries = dict(self.entries)
        entries[entry.key] = entry
        return Ledger({k: entries[k] for k in sorted(entries)})

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": LEDGER_VERSION,
            "integrations": {
                k: self.entries[k].to_dict() for k in sorted(self.entries)
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def confirm_change(
    ledger: Ledger,
    change: Change,
    *,
    by: str,
    at: datetime,
    config_digest: str | None = None,
    clock: Clock | None = None,
) -> Ledger:
    """The ledger after the operator did ``change`` (an integration change) in the UI,
    at ``at`` on ``clock`` (the upstream's or the local one; recorded with the event).

    create: a present entry with the desired description and scopes (a deleted entry of
    the same key keeps its history); update: the desired description and scopes;
    delete: status ``deleted``; rotate: the old token expires ``ROTATION_OVERLAP`` later;
    rotate_now / expire_old: no old token any more; cancel_rotation: the old token
    works for good again (and the rotation's new one no longer). Raises
    :class:`HlsyncError` for a change that is not an integration change, or that does
    not fit the entry.
    """
    if change.kind != "integration" or change.action not in _CONFIRMABLE:
        raise HlsyncError(
            f"{change.address}: a {change.action} of a {change.kind} is not a manual "
            "step and cannot be confirmed"
        )
    key = integration_key(change.location, change.key)
    now = stamp(at)
    old = ledger.get(key)
    details: dict[str, JSONValue] = {}
    if change.action == "create":
        details = {
            "description": change.desired.get("description", ""),
            "scopes": list(change.desired.get("scopes") or ()),
        }
        generation = change.desired.get("generation")
        if isinstance(generation, int) and not isinstance(generation, bool):
            details["generation"] = generation  # the token's: survives the journal
    elif change.fields:
        details = {"fields": [fc.to_dict() for fc in change.fields]}
    event = LedgerEvent(
        at=now,
        by=by,
        event=_CONFIRMABLE[change.action],
        address=change.address,
        config_digest=config_digest,
        details=details,
        clock=clock,
    )
    if change.action == "create":
        entry = LedgerEntry(
            location=change.location,
            location_id=change.location_id,
            name=change.key,
            status="present",
            description=str(change.desired.get("description") or ""),
            scopes=_scopes(change.desired.get("scopes")),
            confirmed_at=now,
            created_at=now,
            history=(() if old is None else old.history) + (event,),
        )
        return ledger.with_entry(entry)
    if old is None or old.status != "present":
        raise HlsyncError(
            f"{change.address}: the ledger holds no such integration to "
            f"{change.action.replace('_', ' ')}",
            hints=(f"run 'hlsync plan' again; the ledger has changed since ({key})",),
        )
    entry = replace(
        old, confirmed_at=now, location_id=change.location_id or old.location_id
    )
    if change.action == "update":
        entry = replace(
            entry,
            description=str(change.desired.get("description", old.description)),
            scopes=_scopes(change.desired.get("scopes", list(old.scopes))),
        )
    elif change.action == "delete":
        entry = replace(entry, status="deleted", old_token_expires_at=None)
    elif change.action == "rotate":
        entry = replace(entry, old_token_expires_at=stamp(at + ROTATION_OVERLAP))
    else:  # rotate_now, expire_old, cancel_rotation
        entry = replace(entry, old_token_expires_at=None)
    return ledger.with_entry(replace(entry, history=old.history + (event,)))


def record_delivery(
    ledger: Ledger,
    key: str,
    *,
    by: str,
    at: datetime,
    generation: int | None = None,
    clock: Clock | None = None,
) -> Ledger:
    """The ledger after a new token of ``key`` was stored in its sink (rotation date);
    ``generation``: the token's, kept in the event's details so the generation last
    applied survives without the token journal (:func:`ledger_generations`)."""
    old = ledger.get(key)
    if old is None or old.status != "present":
        raise HlsyncError(
            f"{key}: the ledger holds no confirmed integration of that name, so its "
            "token cannot be recorded",
            hints=(
                f"do the runbook's steps, run 'hlsync confirm {key}', then deliver",
            ),
        )
    now = stamp(at)
    details: dict[str, JSONValue] = {}
    if generation is not None:
        details["generation"] = generation
    event = LedgerEvent(
        at=now,
        by=by,
        event="token_delivered",
        address=None,
        details=details,
        clock=clock,
    )
    return ledger.with_entry(
        replace(old, token_delivered_at=now, history=old.history + (event,))
    )


def ledger_generations(ledger: Ledger) -> dict[str, int]:
    """The token generation last applied per integration, as the ledger knows it: the
    highest of a confirmed create's or delivery's ``generation`` detail and a confirmed
    ``rotate_now``'s ``token.generation`` field (a bump done in the UI)."""
    found: dict[str, int] = {}
    for key, entry in ledger.entries.items():
        for event in entry.history:
            values = [event.details.get("generation")]
            fields = event.details.get("fields")
            for fc in fields if isinstance(fields, list) else ():
                if isinstance(fc, Mapping) and fc.get("path") == "token.generation":
                    values.append(fc.get("after"))
            for value in values:
                if isinstance(value, int) and not isinstance(value, bool):
                    found[key] = max(value, found.get(key, value))
    return found


def _scopes(value: JSONValue) -> tuple[str, ...]:
    return tuple(sorted({str(s) for s in value or ()}))


def load_ledger(path: Path, display: str | None = None) -> Ledger:
    """The ledger at ``path``; an empty one when the file does not exist."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Ledger()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise HlsyncError(f"{shown}: cannot read the ledger ({reason})") from exc
    return parse_ledger(text, shown)


def parse_ledger(text: str, display: str) -> Ledger:
    """A ledger from its text; every problem at ``display:line:column``."""
    hint = f"fix {display} (it is in git: 'git diff' shows what changed)"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HlsyncError(
            f"the ledger is not valid JSON: {exc.msg}",
            Location(display, exc.lineno, exc.colno),
            hints=(hint,),
        ) from exc
    except RecursionError as exc:
        raise HlsyncError(
            "the ledger is nested too deeply", Location(display), hints=(hint,)
        ) from exc
    positions = json_positions(text)

    def at(path: JsonPath) -> Location:
        while path and path not in positions:
            path = path[:-1]
        line, column = positions.get(path, (1, 1))
        return Location(display, line, column)

    validator = Draft202012Validator(load_schema(SCHEMA_NAME))
    problems = [
        Problem(f"ledger: {err.message}", at(tuple(err.absolute_path)), hint)
        for err in validator.iter_errors(data)
    ]
    if problems:
        raise HlsyncError.collect(problems)
    entries: dict[str, LedgerEntry] = {}
    for key, item in data["integrations"].items():
        entry = _entry(item)
        if entry.key != key:
            problems.append(
                Problem(
                    f"ledger: the entry {key!r} holds the integration {entry.key!r}",
                    at(("integrations", key)),
                    hint,
                )
            )
        entries[key] = entry
    if problems:
        raise HlsyncError.collect(problems)
    return Ledger({k: entries[k] for k in sorted(entries)})


def _entry(item: Mapping[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        location=item["location"],
        location_id=item["location_id"],
        name=item["name"],
        status=item["status"],
        description=item["description"],
        scopes=tuple(sorted(item["scopes"])),
        confirmed_at=item["confirmed_at"],
        created_at=item["created_at"],
        token_delivered_at=item["token_delivered_at"],
        old_token_expires_at=item["old_token_expires_at"],
        history=tuple(
            LedgerEvent(
                at=e["at"],
                by=e["by"],
                event=e["event"],
                address=e.get("address"),
                config_digest=e.get("config_digest"),
                details=e["details"],
                clock=e.get("clock"),
            )
            for e in item["history"]
        ),
    )


_SPACE = re.compile(r"[ \t\n\r]*")


def json_positions(text: str) -> dict[JsonPath, tuple[int, int]]:
    """(line, column) of every value of a JSON document, keyed by its path.

    ``json`` reports positions only for syntax errors; a schema error needs the place of
    a value, so this walks the text once more. Call it only on text ``json.loads``
    accepted (it relies on the text being valid).
    """
    decoder = json.JSONDecoder()
    found: dict[JsonPath, int] = {}

    def skip(i: int) -> int:
        match = _SPACE.match(text, i)
        return i if match is None else match.end()

    def value(i: int, path: JsonPath) -> int:
        i = skip(i)
        found[path] = i
        opener = text[i]
        if opener not in "{[":
            return int(decoder.raw_decode(text, i)[1])
        closer = "}" if opener == "{" else "]"
        i, index = skip(i + 1), 0
        while text[i] != closer:
            if opener == "{":
                key, i = decoder.raw_decode(text, i)
                i = value(skip(i) + 1, (*path, key))
            else:
                i = value(i, (*path, index))
                index += 1
            i = skip(i)
            if text[i] == ",":
                i = skip(i + 1)
        return i + 1

    value(0, ())
    return {path: _line_column(text, offset) for path, offset in found.items()}


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def save_ledger(path: Path, ledger: Ledger) -> None:
    """Write ``ledger`` to ``path`` atomically (mode 0644: it is meant to be committed)."""
    try:
        atomic_write(path, ledger.to_json(), 0o644, make_parents=True)
    except OSError as exc:
        raise HlsyncError(
            f"{path}: cannot write the ledger ({exc.strerror})",
            hints=("nothing was recorded; fix the folder's permissions and run again",),
        ) from exc
