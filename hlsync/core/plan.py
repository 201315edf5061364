"""The plan: an ordered, self-contained list of changes that ``apply`` executes.

``planner.build_plan`` makes a :class:`Plan`; ``render`` turns it into text, markdown or
JSON; ``plan --out FILE`` saves ``Plan.to_dict()`` and ``apply FILE`` loads it back with
:meth:`Plan.from_dict`. The applier executes exactly these changes, never a diff of its
own (DESIGN.md §1).

What the applier does with each :class:`Change` (``desired`` is JSON-native, read-only):

* ``integration`` — create: driver ``create(location_id or agency, name, description,
  scopes)``; update: ``update(object_id, description, scopes)`` with the full desired
  scope list (``scopes_add`` / ``scopes_remove`` say what moves); delete:
  ``delete(object_id)``. ``desired = {name, description, scopes[, scopes_add,
  scopes_remove]}``.
* ``custom_field`` — ``desired = {key, name, data_type, options, placeholder}``
  (placeholder ``None`` = not managed). create: POST; update: PUT ``object_id`` with
  ``name`` and the changed ``options`` / ``placeholder``; replace: DELETE ``object_id``
  then POST (the data type cannot change in place); delete: DELETE ``object_id``.
* ``tag`` — ``desired = {name}``; create: POST location tag; delete: DELETE ``object_id``.
* ``contact`` — create: ``POST /contacts/upsert`` with ``desired["body"]`` (locationId,
  declared fields, ``customFields`` as ``[{key, field_value}]``, and ``tags`` only when
  the contact's tags are exclusive: an upsert replaces every tag of a contact that
  exists) — upsert keeps a retried create idempotent — then ``POST
  /contacts/{id}/tags`` with ``desired["tags_add"]`` (the declared tags, when not
  exclusive) to the id the upsert answered. update: if ``desired["write"] == "put"`` send
  ``PUT /contacts/{object_id}`` with ``desired["body"]``; if ``"upsert"`` (a changed field
  the update DTO lacks, e.g. companyName) send ``POST /contacts/upsert`` with it; then
  ``POST /contacts/{id}/tags`` with ``desired["tags_add"]`` and ``DELETE`` with
  ``desired["tags_remove"]`` when non-empty. delete: ``DELETE /contacts/{object_id}``.

Before executing a saved plan the applier re-reads the objects of :meth:`Plan.targets`
and calls :meth:`Plan.raise_if_stale` and :meth:`Plan.raise_if_config_differs`; before
any write it calls :meth:`Plan.raise_if_unsafe`. Noop changes are carried (they count in
the summary) but need no call.

No token value is ever part of a plan: the model holds none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from hlsync.core.estimate import AGENCY_BUCKET, Estimate, RateLimit, estimate
from hlsync.core.fingerprint import (
    ABSENT,
    LazyFingerprint,
    find_observed,
    fingerprint,
    observed_value,
    sha256_hex,
)
from hlsync.core.jsonshape import JsonObject, JsonShapeError
from hlsync.core.model import JSONValue, Kind, Observed, ObservedState
from hlsync.errors import HlsyncError, Location, Problem

FORMAT_VERSION = 1

Action = Literal[
    "create",
    "update",
    "replace",
    "delete",
    "noop",
    "rotate",
    "expire_old",
    "rotate_now",
    "cancel_rotation",
]
# Token verbs (hlsync.tokens.rotation): rotate / rotate_now / expire_old come from the token
# policy; cancel_rotation (and any of them on request) from `hlsync token …`.
ACTIONS: tuple[Action, ...] = get_args(Action)
KINDS: tuple[Kind, ...] = get_args(Kind)

GATES: Mapping[str, str] = {
    "delete": "deleting is irreversible",
    "replace": "replacing deletes the field and every value stored in it",
    "scope_removals": "removes more scopes than the threshold allows",
    "protected": "is marked `protect: true` and would be deleted",
    "token_expiry": "ends a token at once, irreversibly, while it may still be in use",
}
FORCEABLE_GATES = frozenset({"delete", "replace", "scope_removals", "token_expiry"})

AGENCY = AGENCY_BUCKET  # the location part of an agency integration's address


_QUOTE = json.JSONEncoder(ensure_ascii=False).encode  # one encoder for every address


def address(location: str | None, kind: Kind, label: str) -> str:
    """Terraform-like: ``main.contact["ann@example.com"]``, ``agency.integration["ci"]``."""
    return f"{location or AGENCY}.{kind}[{_QUOTE(label)}]"


def json_copy(value: JSONValue) -> JSONValue:
    """A deep copy of JSON-native data (much faster than ``copy.deepcopy``)."""
    if isinstance(value, Mapping):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_copy(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One changed, declared field: ``before`` as upstream had it, ``after`` as wanted."""

    path: str
    before: JSONValue = field(hash=False)
    after: JSONValue = field(hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "before": json_copy(self.before),
            "after": json_copy(self.after),
        }


@dataclass(frozen=True, slots=True)
class ScopeDelta:
    """A scope an integration gains or loses, with the endpoints that come with it."""

    scope: str
    added: bool
    endpoints: tuple[str, ...] = ()  # "METHOD /path", from the scope catalog
    privilege_increase: bool = False  # a new write scope, or any new agency-level scope

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "change": "add" if self.added else "remove",
            "endpoints": list(self.endpoints),
            "privilege_increase": self.privilege_increase,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One thing the applier does (or, for ``noop``, need not do) to one object."""

    address: str  # main.contact["ann@example.com"], agency.integration["ci"]
    action: Action
    kind: Kind
    location: str | None  # local name; None for the agency
    location_id: str | None
    key: str  # identity within the location: name, field key, contact key
    object_id: str | None = None  # upstream id, for update / replace / delete
    fields: tuple[FieldChange, ...] = ()
    desired: Mapping[str, JSONValue] = field(default_factory=dict, hash=False)
    # the text, or (an unchanged contact's) worked out when read: ``str()`` it
    fingerprint: str | LazyFingerprint = ABSENT
    compared: tuple[str, ...] = ()  # contact paths the fingerprint covers
    depends_on: tuple[str, ...] = ()
    gate: str | None = None
    api_calls: int = 0
    scopes: tuple[ScopeDelta, ...] = ()
    source: Location | None = field(default=None, compare=False)

    @property
    def is_noop(self) -> bool:
        return self.action == "noop"

    def stale_reason(self, now: Observed | None) -> str | None:
        """Why the plan no longer fits the object as re-read, or None when it still does."""
        if fingerprint(now, self.compared) == str(self.fingerprint):
            return None
        if now is None:
            return "was deleted after the plan was made"
        if str(self.fingerprint) == ABSENT:
            return "was created by someone else after the plan was made"
        moved = [
            f"{fc.path} is now {_show(observed_value(now, fc.path))} "
            f"(the plan saw {_show(fc.before)})"
            for fc in self.fields
            if fc.before is not None and observed_value(now, fc.path) != fc.before
        ]
        if moved:
            return "changed after the plan was made: " + "; ".join(moved)
        what = ", ".join(self.compared) if self.compared else "its managed data"
        return f"changed after the plan was made ({what})"

    def to_dict(self) -> dict[str, Any]:
        src = self.source
        return {
            "address": self.address,
            "action": self.action,
            "kind": self.kind,
            "location": self.location,
            "location_id": self.location_id,
            "key": self.key,
            "object_id": self.object_id,
            "fields": [fc.to_dict() for fc in self.fields],
            "scopes": [s.to_dict() for s in self.scopes],
            "desired": json_copy(dict(self.desired)),
            "fingerprint": str(self.fingerprint),
            "compared": list(self.compared),
            "depends_on": list(self.depends_on),
            "gate": self.gate,
            "api_calls": self.api_calls,
            "source": None
            if src is None
            else {"file": src.file, "line": src.line, "column": src.column},
        }


@dataclass(frozen=True, slots=True)
class Unmanaged:
    """Objects of one kind that exist upstream, in one location (None: the agency),
    that the config does not manage: hlsync leaves them alone (``manage:`` additive).

    ``names`` lists them (labels as in addresses; empty for contacts, which are only
    counted); ``count`` is how many; ``note`` says why they are not known (the token
    could not list them), with ``count`` 0.
    """

    location: str | None
    kind: Kind
    count: int
    names: tuple[str, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "kind": self.kind,
            "count": self.count,
            "names": list(self.names),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class PlanLocation:
    name: str
    id: str


@dataclass(frozen=True, slots=True)
class PlanShard:
    """Which shards of a ``--shard I/N`` partition a plan covers (shards count from 1):
    one for a shard's own plan, several for shard plans combined by ``hlsync show``
    (``hlsync.engine.sharding``)."""

    indexes: tuple[int, ...]
    count: int

    @property
    def missing(self) -> tuple[int, ...]:
        """The shards of the partition this plan lacks."""
        return tuple(i for i in range(1, self.count + 1) if i not in self.indexes)

    def to_dict(self) -> dict[str, Any]:
        return {"indexes": list(self.indexes), "count": self.count}


@dataclass(frozen=True, slots=True)
class Summary:
    add: int
    change: int
    destroy: int
    noop: int
    rotate: int
    expire: int
    api_calls: int
    estimated_seconds: int

    def to_dict(self) -> dict[str, int]:
        return {
            "add": self.add,
            "change": self.change,
            "destroy": self.destroy,
            "noop": self.noop,
            "rotate": self.rotate,
            "expire": self.expire,
            "api_calls": self.api_calls,
            "estimated_seconds": self.estimated_seconds,
        }


def plan_estimate(
    changes: tuple[Change, ...], limits: Mapping[str, RateLimit]
) -> Estimate:
    """The time the changes' calls take at ``limits`` (``core.estimate``)."""
    return estimate(((c.location or AGENCY, c.api_calls) for c in changes), limits)


def summarize(
    changes: tuple[Change, ...], limits: Mapping[str, RateLimit] | None = None
) -> Summary:
    """Counts like Terraform's (a replace is one add and one destroy) and the cost
    (at the reported ``limits`` by location name, else upstream's default)."""
    count = {a: 0 for a in ACTIONS}
    for c in changes:
        count[c.action] += 1
    cost = plan_estimate(changes, limits or {})
    calls, seconds = cost.calls, cost.seconds
    return Summary(
        add=count["create"] + count["replace"],
        change=count["update"] + count["cancel_rotation"],
        destroy=count["delete"] + count["replace"],
        noop=count["noop"],
        rotate=count["rotate"] + count["rotate_now"],
        expire=count["expire_old"],
        api_calls=calls,
        estimated_seconds=seconds,
    )


@dataclass(frozen=True, slots=True)
class Plan:
    """Format version, provenance, and the ordered changes (see module docstring)."""

    hlsync_version: str
    config_digest: str
    target: str
    locations: tuple[PlanLocation, ...]
    changes: tuple[Change, ...]
    format_version: int = FORMAT_VERSION
    # Where `hlsync plan` read the config (relative to its working directory when
    # under it), so `hlsync apply PLANFILE` finds it again; None: not recorded.
    config_root: str | None = None
    # What the reviewer must know beyond the changes (a token minted but not stored,
    # a rotation that cannot be decided); shown even when nothing changes.
    warnings: tuple[str, ...] = ()
    # Directories besides the config folder the config's paths were allowed to use
    # (``--allow-path``), as shown to the reviewer; empty: the config folder only.
    allowed_roots: tuple[str, ...] = ()
    # ``--shard I/N``: the shards of the partition of the locations this plan covers;
    # None: every selected location.
    shard: PlanShard | None = None
    # What exists upstream but the config does not manage (per location and kind);
    # no change: listed for the reviewer (``manage:`` exclusive turns them into deletes)
    unmanaged: tuple[Unmanaged, ...] = ()
    # The burst limit each location (by name; ``agency``: the company's) reported in
    # the first response read while planning, which the estimate uses; a bucket not
    # here is estimated at upstream's documented default (``core.estimate``).
    rate_limits: Mapping[str, RateLimit] = field(default_factory=dict, hash=False)

    @property
    def summary(self) -> Summary:
        return summarize(self.changes, self.rate_limits)

    @property
    def estimate(self) -> Estimate:
        return plan_estimate(self.changes, self.rate_limits)

    @property
    def has_changes(self) -> bool:
        return any(not c.is_noop for c in self.changes)

    @property
    def pending(self) -> tuple[Change, ...]:
        """The changes that make API calls, in execution order."""
        return tuple(c for c in self.changes if not c.is_noop)

    @property
    def checksum(self) -> str:
        return "sha256:" + sha256_hex(self._body())

    def targets(self) -> tuple[tuple[Kind, str | None, str], ...]:
        """(kind, location, key) of every object a saved-plan apply must re-read."""
        return tuple((c.kind, c.location, c.key) for c in self.pending)

    def gated(self, force: bool) -> tuple[Change, ...]:
        """Changes held back: protected ones always, the others unless ``force``."""
        return tuple(
            c
            for c in self.changes
            if c.gate is not None and (c.gate not in FORCEABLE_GATES or not force)
        )

    def raise_if_unsafe(self, force: bool) -> None:
        """Refuse to apply while a safety gate holds, naming each gated change."""
        problems = []
        for c in self.gated(force):
            reason = GATES.get(c.gate or "", c.gate or "")
            if c.gate in FORCEABLE_GATES:
                hint = "review the plan, then apply again with --force"
            else:
                hint = "remove `protect: true` from its config first if you mean it"
            problems.append(Problem(f"{c.address} {reason}", c.source, hint))
        if problems:
            raise HlsyncError.collect(problems)

    def raise_if_config_differs(self, config_digest: str) -> None:
        if config_digest != self.config_digest:
            raise HlsyncError(
                "the plan was made from a different configuration "
                f"(plan {self.config_digest[:12]}, config now {config_digest[:12]})",
                hints=("run 'hlsync plan --out FILE' again and review the new plan",),
            )

    def raise_if_stale(self, observed: ObservedState) -> None:
        """Refuse a plan whose objects changed since it was made, naming what changed."""
        problems = []
        for c in self.pending:
            reason = c.stale_reason(find_observed(observed, c.kind, c.location, c.key))
            if reason is not None:
                problems.append(Problem(f"the plan is stale: {c.address} {reason}"))
        if problems:
            hint = "run 'hlsync plan --out FILE' again and review the new plan"
            first = problems[0]
            problems[0] = Problem(first.message, first.location, hint)
            raise HlsyncError.collect(problems)

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format_version": self.format_version,
            "hlsync_version": self.hlsync_version,
            "config_digest": self.config_digest,
            "target": self.target,
            "locations": [{"name": p.name, "id": p.id} for p in self.locations],
            "summary": self.summary.to_dict(),
            "changes": [c.to_dict() for c in self.changes],
        }
        if self.config_root is not None:
            body["config_root"] = self.config_root
        if self.warnings:
            body["warnings"] = list(self.warnings)
        if self.allowed_roots:
            body["allowed_roots"] = list(self.allowed_roots)
        if self.shard is not None:
            body["shard"] = self.shard.to_dict()
        if self.unmanaged:
            body["unmanaged"] = [u.to_dict() for u in self.unmanaged]
        if self.rate_limits:
            body["rate_limits"] = {
                name: self.rate_limits[name].to_dict()
                for name in sorted(self.rate_limits)
            }
        return body

    def to_dict(self) -> dict[str, Any]:
        """JSON-native; validates against schemas/plan.schema.json."""
        body = self._body()
        body["checksum"] = "sha256:" + sha256_hex(body)
        return body

    @classmethod
    def from_json(cls, text: str, *, source: str = "plan file") -> Plan:
        """:meth:`from_dict` of a plan file's text; bad JSON names its line and column."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HlsyncError(
                f"{source} is not JSON: {exc.msg}",
                Location(source, exc.lineno, exc.colno),
                hints=("make a new one with 'hlsync plan --out FILE'",),
            ) from exc
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "plan file") -> Plan:
        """Load a saved plan, refusing a malformed, edited or wrong-version one.

        ``source`` names the file in error messages. The stored checksum must match the
        content, so a hand-edited or truncated plan is refused rather than applied.
        """
        try:
            plan = _plan_from(JsonObject(data))
        except JsonShapeError as exc:
            raise HlsyncError(
                f"{source} is not a valid hlsync plan: {exc}",
                Location(source),
                hints=("make a new one with 'hlsync plan --out FILE'",),
            ) from exc
        stored = data.get("checksum")
        if stored != plan.checksum:
            raise HlsyncError(
                f"{source} was modified after it was made (checksum mismatch)",
                Location(source),
                hints=("make a new one with 'hlsync plan --out FILE'",),
            )
        return plan


def _plan_from(doc: JsonObject) -> Plan:
    version = doc.integer("format_version")
    if version != FORMAT_VERSION:
        raise JsonShapeError(
            f"format_version {version} is not supported (this hlsync reads "
            f"format_version {FORMAT_VERSION})"
        )
    doc.text("checksum")
    plan = Plan(
        hlsync_version=doc.text("hlsync_version"),
        config_digest=doc.text("config_digest"),
        target=doc.text("target"),
        locations=tuple(
            PlanLocation(name=o.text("name"), id=o.text("id"))
            for o in doc.objects("locations")
        ),
        changes=tuple(_change_from(o) for o in doc.objects("changes")),
        format_version=version,
        config_root=doc.optional_text("config_root")
        if "config_root" in doc.data
        else None,
        warnings=doc.texts("warnings") if "warnings" in doc.data else (),
        allowed_roots=doc.texts("allowed_roots") if "allowed_roots" in doc.data else (),
        shard=_shard_from(doc.obj("shard")) if "shard" in doc.data else None,
        unmanaged=tuple(_unmanaged_from(o) for o in doc.objects("unmanaged"))
        if "unmanaged" in doc.data
        else (),
        rate_limits=_limits_from(doc.obj("rate_limits"))
        if "rate_limits" in doc.data
        else {},
    )
    summary = doc.obj("summary")
    if summary.data != plan.summary.to_dict():
        raise JsonShapeError(f"{summary.path} does not match the changes")
    return plan


def _shard_from(o: JsonObject) -> PlanShard:
    count = o.integer("count")
    indexes = o.integers("indexes")
    if count < 1 or not indexes or any(not 1 <= i <= count for i in indexes):
        raise JsonShapeError(f"{o.path}: shard indexes must be 1 to count ({count})")
    if list(indexes) != sorted(set(indexes)):
        raise JsonShapeError(f"{o.path}: shard indexes must be sorted and unique")
    return PlanShard(indexes, count)


def _limits_from(o: JsonObject) -> dict[str, RateLimit]:
    found: dict[str, RateLimit] = {}
    for name in o.data:
        limit = o.obj(name)
        top, interval = limit.integer("max"), limit.integer("interval_ms")
        if top < 1 or interval < 1:
            raise JsonShapeError(f"{limit.path}: max and interval_ms must be positive")
        found[name] = RateLimit(top, interval)
    return found


def _unmanaged_from(o: JsonObject) -> Unmanaged:
    return Unmanaged(
        location=o.optional_text("location"),
        kind=o.choice("kind", KINDS),
        count=o.integer("count"),
        names=o.texts("names"),
        note=o.optional_text("note"),
    )


def _change_from(o: JsonObject) -> Change:
    src = o.optional_obj("source")
    return Change(
        address=o.text("address"),
        action=o.choice("action", ACTIONS),
        kind=o.choice("kind", KINDS),
        location=o.optional_text("location"),
        location_id=o.optional_text("location_id"),
        key=o.text("key"),
        object_id=o.optional_text("object_id"),
        fields=tuple(
            FieldChange(f.text("path"), f.value("before"), f.value("after"))
            for f in o.objects("fields")
        ),
        desired=o.obj("desired").data,
        fingerprint=o.text("fingerprint"),
        compared=o.texts("compared"),
        depends_on=o.texts("depends_on"),
        gate=o.optional_choice("gate", tuple(GATES)),
        api_calls=o.integer("api_calls"),
        scopes=tuple(
            ScopeDelta(
                scope=s.text("scope"),
                added=s.choice("change", ("add", "remove")) == "add",
                endpoints=s.texts("endpoints"),
                privilege_increase=s.boolean("privilege_increase"),
            )
            for s in o.objects("scopes")
        ),
        source=None
        if src is None
        else Location(src.text("file"), src.integer("line"), src.integer("column")),
    )


def _show(value: JSONValue) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)
