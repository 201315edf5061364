"""The token journal: what hlsync meant to mint, and whether the token reached its sink.

A token is shown once (reference §7). If hlsync mints one and then cannot store it (the
sink fails, the process dies), the token is lost and whatever needed it keeps the old one
or none. The journal makes that visible: the applier writes an **intent** record before
it asks for a token (create, rotate, rotate now) and a **delivered** record once the sink
has it; the next ``hlsync plan`` reads the journal and reports every intent that never
reached "delivered", with the way to recover (``hlsync token rotate NAME --now --force``
mints a fresh token into the repaired sink).

File: ``hlsync.journal.jsonl`` beside the config (in the config directory, or beside a
single config file, like ``hlsync.ledger.json``), one JSON object per line, appended and
fsynced record by record (and its folder with it, so a journal just created or moved
is there after a crash too), so a crash loses at most the line being written (a torn last
line is ignored on reading). It holds integration names, verbs, times, plan checksums,
generations and sink descriptions, never a token value, so it is **committed** with the
config: it remembers the ``generation`` last applied to each integration
(``rotation.decide`` rotates "now" when the config's number is higher), and a journal
that is lost (a fresh checkout, a CI runner) would turn a bump into a silent adoption.
(The planner warns whenever it adopts a generation it has no record of.) A journal
left at the old place, ``.hlsync/journal.jsonl`` (git-ignored with the token files), is
read while the new file does not exist, and moved there by the first record written.

Records (``event``):

* ``intent`` — ``id``, ``integration`` (``main/seed-bot``), ``verb``, ``plan``
  (checksum), ``generation``, ``sink``: a token is about to be minted; verb ``deliver``
  (``plan`` empty): one copied from the live cloud's UI is about to be stored;
* ``delivered`` — ``id``, ``integration``, ``generation``: the sink has it;
* ``undelivered`` — ``id``, ``integration``, ``reason``: minted, the sink failed;
* ``not_minted`` — ``id``, ``integration``: the call failed, no token exists;
* ``baseline`` — ``integration``, ``generation``: an existing integration's generation
  adopted without a rotation (no earlier record);
* ``deleted`` — ``integration``: the integration was deleted; its history ends.

``at`` on each record is the local UTC time, for people reading the file; decisions
never use it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hlsync.core.model import DesiredState
from hlsync.errors import HlsyncError
from hlsync.files import fsync_dir
from hlsync.tokens.rotation import TokenHistory

JOURNAL_FILE = Path("hlsync.journal.jsonl")
LEGACY_FILE = Path(".hlsync") / "journal.jsonl"  # where journals were kept before
FORMAT = 1


def _config_dir(desired: DesiredState) -> Path:
    root = Path(desired.root)
    return root if root.is_dir() else root.parent


def journal_path(desired: DesiredState) -> Path:
    """``<config dir>/hlsync.journal.jsonl``: committed beside the config."""
    return _config_dir(desired) / JOURNAL_FILE


def recover_hint(key: str, verb: str = "rotate_now") -> str:
    """How to recover a token of ``key`` that ``verb`` did not store."""
    if verb == "deliver":  # copied from the live cloud's UI: it may still be at hand
        return (
            f"fix the sink, then run 'hlsync token deliver {key}' again with the "
            "token; if it is lost, bump its token.generation and rotate it in the UI"
        )
    return (
        f"fix the sink, then run 'hlsync token rotate {key} --now --force' to mint a "
        "fresh token into it (the lost one stops working)"
    )


class Journal:
    """Append records to, and read the history of, one journal file."""

    def __init__(self, path: Path, legacy: Path | None = None) -> None:
        self.path = path
        self.legacy = legacy  # read while ``path`` does not exist, then moved to it

    @classmethod
    def for_config(cls, desired: DesiredState) -> Journal:
        return cls(journal_path(desired), _config_dir(desired) / LEGACY_FILE)

    def _source(self) -> Path:
        if self.legacy is not None and not self.path.exists() and self.legacy.exists():
            return self.legacy
        return self.path

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def _append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(
            {"v": FORMAT, "at": _now(), **record}, sort_keys=True, ensure_ascii=False
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self._source() != self.path:  # carry the old journal over first
                os.replace(self._source(), self.path)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            fsync_dir(self.path.parent)  # a new (or moved) journal survives a crash
        except OSError as exc:
            raise HlsyncError(
                f"{self.path}: cannot write the token journal ({exc.strerror})"
            ) from exc

    def intent(
        self, key: str, verb: str, *, plan: str, generation: int, sink: str
    ) -> str:
        """Record that a token is about to be minted; returns the intent's id."""
        ident = uuid.uuid4().hex
        self._append(
            {
                "event": "intent",
                "id": ident,
                "integration": key,
                "verb": verb,
                "plan": plan,
                "generation": generation,
                "sink": sink,
            }
        )
        return ident

    def delivered(self, ident: str, key: str, generation: int) -> None:
        self._append(
            {
                "event": "delivered",
                "id": ident,
                "integration": key,
                "generation": generation,
            }
        )

    def undelivered(self, ident: str, key: str, reason: str) -> None:
        self._append(
            {"event": "undelivered", "id": ident, "integration": key, "reason": reason}
        )

    def not_minted(self, ident: str, key: str) -> None:
        self._append({"event": "not_minted", "id": ident, "integration": key})

    def baseline(self, key: str, generation: int) -> None:
        self._append(
            {"event": "baseline", "integration": key, "generation": generation}
        )

    def deleted(self, key: str) -> None:
        self._append({"event": "deleted", "integration": key})

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record in file order; a torn or foreign line is skipped."""
        source = self._source()
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise HlsyncError(
                f"{source}: cannot read the token journal ({reason})",
                hints=("make it readable, or move it away to start a new one",),
            ) from exc
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
            if isinstance(record, dict) and isinstance(record.get("integration"), str):
                yield record

    def history(self) -> TokenHistory:
        """Generations last applied and open problems, per integration."""
        generations: dict[str, int] = {}
        open_intents: dict[str, dict[str, dict[str, Any]]] = {}
        for record in self.records():
            key = record["integration"]
            event = record.get("event")
            ident = str(record.get("id", ""))
            pending = open_intents.setdefault(key, {})
            if event == "intent":
                pending[ident] = record
            elif event == "delivered":
                pending.clear()  # a stored token supersedes every earlier loss
                _set_generation(generations, key, record)
            elif event == "undelivered" and ident in pending:
                pending[ident] = {**pending[ident], "reason": record.get("reason")}
            elif event == "not_minted":
                pending.pop(ident, None)
            elif event == "baseline":
                _set_generation(generations, key, record)
            elif event == "deleted":
                pending.clear()
                generations.pop(key, None)
        lost = {k: v for k, v in sorted(open_intents.items()) if v}
        return TokenHistory(
            generations=generations,
            problems={
                k: tuple(_problem(k, r) for r in v.values()) for k, v in lost.items()
            },
            repaired={
                k: tuple(_problem(k, r, repaired=True) for r in v.values())
                for k, v in lost.items()
            },
        )


def adopt_generations(
    journal: Journal, history: TokenHistory, adopted: Mapping[str, int]
) -> None:
    """Record ``adopted`` generations (``token_key`` → config generation) of existing
    integrations the journal has no generation for, so a later bump is noticed."""
    for key, generation in sorted(adopted.items()):
        if key not in history.generations:
            journal.baseline(key, generation)


def _set_generation(
    generations: dict[str, int], key: str, record: Mapping[str, Any]
) -> None:
    value = record.get("generation")
    if isinstance(value, int) and not isinstance(value, bool):
        generations[key] = value


def _problem(key: str, record: Mapping[str, Any], *, repaired: bool = False) -> str:
    verb = str(record.get("verb", "mint"))
    when = str(record.get("at", "?"))
    sink = str(record.get("sink", "its sink"))
    reason = record.get("reason")
    if verb == "deliver":
        what = (
            f"{key}: a token given to 'hlsync token deliver' at {when} was not stored"
        )
        what += f" in {sink}" + (f" ({reason})" if reason else " (it was interrupted)")
    elif reason:
        what = (
            f"{key}: a token minted by {verb} at {when} was not stored in {sink} "
            f"({reason})"
        )
    else:
        what = (
            f"{key}: a token may have been minted by {verb} at {when}, but its "
            f"delivery to {sink} was never recorded (the run was interrupted)"
        )
    if repaired:
        return f"{what}; this plan repairs it: a new token now, into the sink"
    return f"{what}; {recover_hint(key, verb)}"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
