"""Fan-out across machines: ``--shard I/N`` and the combining of shard plans.

The partition (:func:`shard_of`): a location belongs to shard ``1 + h mod N``, where
``h`` is the first 8 bytes of the sha256 of its HighLevel id read as an unsigned
big-endian integer; the agency's own integrations belong to shard 1. It depends on
the location's id alone, so it is the same on every machine and in every run, and
adding, removing or renaming a location never moves another one (changing N does).
It partitions the *selected* locations: ``--location``/``--exclude`` narrow first.
The shards are about even in the number of locations, not in their size.

Each shard plans (``plan --shard I/N --out FILE``) and applies (``apply FILE``) its own
part; :func:`merge_plans` combines shard plans into one plan to render (``hlsync show
FILE...``): one report, one pull-request comment. It refuses plans that do not belong
together (another config, target or hlsync version; a location or change in two of
them; shards of different partitions), and the combined plan says which shards it
lacks. The combined plan orders its changes as one plan would (``change_order``), its
locations and what they do not manage (``Plan.unmanaged``) by location name.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

from hlsync.core.model import DesiredState
from hlsync.core.plan import Plan, PlanShard
from hlsync.engine.planner import change_order
from hlsync.errors import HlsyncError, Location

AGENCY_SHARD = 1


def shard_of(location_id: str, count: int) -> int:
    """The shard (1 to ``count``) that holds the location with this id."""
    digest = hashlib.sha256(location_id.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def select_shard(desired: DesiredState, index: int, count: int) -> DesiredState:
    """``desired`` narrowed to shard ``index`` of ``count`` (may leave no location:
    an empty shard plans nothing, so a CI matrix wider than the config still works)."""
    agency = desired.agency
    if index != AGENCY_SHARD and agency.integrations:
        agency = dataclasses.replace(agency, integrations=())
    return dataclasses.replace(
        desired,
        agency=agency,
        locations=tuple(s for s in desired.locations if shard_of(s.id, count) == index),
    )


def merge_plans(plans: Sequence[tuple[str, Plan]]) -> Plan:
    """One plan of the ``(file name, plan)`` pairs (see the module docstring)."""
    if len(plans) == 1:
        return plans[0][1]
    first_name, first = plans[0]
    hint = (
        "combine the plans of one run: every shard planned from the same commit of "
        "the config, against the same target, by the same hlsync version",
    )
    for name, plan in plans[1:]:
        for what, mine, theirs in (
            ("configuration", plan.config_digest[:12], first.config_digest[:12]),
            ("target", plan.target, first.target),
            ("hlsync version", plan.hlsync_version, first.hlsync_version),
        ):
            if mine != theirs:
                raise HlsyncError(
                    f"{name} was made for another {what} than {first_name} "
                    f"({mine} and {theirs}): the plans cannot be combined",
                    Location(name),
                    hints=hint,
                )
    _refuse_overlap(plans)
    warnings = dict.fromkeys(w for _, p in plans for w in p.warnings)
    roots = dict.fromkeys(r for _, p in plans for r in p.allowed_roots)
    roots_of = {p.config_root for _, p in plans}
    return Plan(
        hlsync_version=first.hlsync_version,
        config_digest=first.config_digest,
        target=first.target,
        locations=tuple(
            sorted((loc for _, p in plans for loc in p.locations), key=lambda x: x.name)
        ),
        changes=tuple(
            sorted((c for _, p in plans for c in p.changes), key=change_order)
        ),
        config_root=first.config_root if len(roots_of) == 1 else None,
        warnings=tuple(warnings),
        allowed_roots=tuple(roots),
        shard=_merged_shard(plans),
        unmanaged=tuple(
            sorted(
                (u for _, p in plans for u in p.unmanaged),
                key=lambda u: (u.location is not None, u.location or ""),
            )
        ),
        rate_limits={
            name: limit for _, p in plans for name, limit in p.rate_limits.items()
        },
    )


def _refuse_overlap(plans: Sequence[tuple[str, Plan]]) -> None:
    """No location and no change may be in two of the plans."""
    owner: dict[str, str] = {}
    for name, plan in plans:
        held = [f"location {loc.name!r}" for loc in plan.locations]
        held += [f"change {c.address}" for c in plan.changes if c.location is None]
        for item in held:
            if item in owner:
                raise HlsyncError(
                    f"{owner[item]} and {name} both hold {item}: the plans overlap "
                    "(the same file twice, or plans of different --shard or "
                    "--location choices)",
                    Location(name),
                    hints=("combine each shard's plan once, all of one --shard N",),
                )
            owner[item] = name


def _merged_shard(plans: Sequence[tuple[str, Plan]]) -> PlanShard | None:
    shards = [(name, p.shard) for name, p in plans]
    sharded = [(name, s) for name, s in shards if s is not None]
    if not sharded:
        return None
    if len(sharded) != len(shards):
        name = next(n for n, s in shards if s is None)
        raise HlsyncError(
            f"{name} is not a shard's plan (made without --shard) but "
            f"{sharded[0][0]} is: the plans cannot be combined",
            Location(name),
            hints=("combine the plans of one --shard I/N matrix",),
        )
    count = sharded[0][1].count
    for name, shard in sharded:
        if shard.count != count:
            raise HlsyncError(
                f"{name} is a shard of {shard.count} but {sharded[0][0]} of {count}: "
                "the plans cannot be combined",
                Location(name),
                hints=("combine the plans of one --shard I/N matrix",),
            )
    seen: dict[int, str] = {}
    for name, shard in sharded:
        for index in shard.indexes:
            if index in seen:
                raise HlsyncError(
                    f"{seen[index]} and {name} both hold shard {index} of {count}: "
                    "the plans overlap",
                    Location(name),
                    hints=("combine each shard's plan once",),
                )
            seen[index] = name
    return PlanShard(tuple(sorted(seen)), count)
