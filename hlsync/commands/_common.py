"""What ``plan``, ``show`` and ``apply`` share: targeting, reading, rendering (their
shared flags live in :mod:`hlsync.commands.arguments`).

Targeting (``--location NAME`` repeatable, ``--exclude NAME`` repeatable) narrows the
config before anything is read: only the selected locations are read, planned and
applied. ``agency`` names the agency's own integrations. With ``--location`` the agency
is left out unless ``--location agency`` is given too. An unknown name is an
:class:`HlsyncError` listing the names the config knows. ``--shard I/N`` then keeps
shard I of the selected locations (``engine.sharding``; :func:`targeted`). The config
digest is that of the whole config, so a targeted saved plan still checks against the
full file.

Colour only when stdout is a terminal, ``NO_COLOR`` is unset and ``--no-color`` was not
given (``render.use_color``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from hlsync.commands.arguments import ProgressMode
from hlsync.commands.read_progress import ReadProgress
from hlsync.config.loader import display_path
from hlsync.core.model import DesiredState, Integration, ObservedState
from hlsync.core.plan import Plan, PlanShard
from hlsync.core.render import (
    render_plan_json,
    render_plan_markdown,
    render_plan_text,
    use_color,
)
from hlsync.engine.planner import AGENCY, PlanOptions, build_plan
from hlsync.engine.reader import read_observed
from hlsync.engine.sharding import select_shard
from hlsync.errors import HlsyncError, Location
from hlsync.files import atomic_write
from hlsync.kinds.integration_plan import RequestVerb
from hlsync.live.ledger import Ledger, ledger_generations, load_ledger
from hlsync.live.manual import leadconnector_base_url, ledger_file
from hlsync.targets.access import TargetAccess, reported_limits
from hlsync.tokens.health import LostToken, lost_tokens
from hlsync.tokens.journal import Journal
from hlsync.tokens.rotation import TokenHistory, token_key
from hlsync.tokens.sinks.routing import config_dir, describe_sink, preflight, sink_for

FORMATS = ("text", "markdown", "json")


def want_color(args: argparse.Namespace) -> bool:
    if getattr(args, "no_color", False):
        return False
    return use_color(sys.stdout.isatty(), os.environ)


def select(
    desired: DesiredState, include: Sequence[str], exclude: Sequence[str]
) -> DesiredState:
    """``desired`` narrowed to the targeted locations (see the module docstring)."""
    if not include and not exclude:
        return desired
    known = [spec.name for spec in desired.locations]
    if desired.agency.integrations:
        known.append(AGENCY)
    unknown = sorted({n for n in [*include, *exclude] if n not in known})
    if unknown:
        flags = ", ".join(repr(n) for n in unknown)
        verb = "is" if len(unknown) == 1 else "are"
        raise HlsyncError(
            f"--location/--exclude: {flags} {verb} not in the config",
            Location(display_path(Path(desired.root))),
            hints=("known names: " + ", ".join(known),),
        )
    wanted = set(include) if include else set(known)
    wanted -= set(exclude)
    if not wanted:
        raise HlsyncError(
            "--location/--exclude leave nothing to plan",
            hints=("known names: " + ", ".join(known),),
        )
    agency = desired.agency
    if AGENCY not in wanted and agency.integrations:
        agency = dataclasses.replace(agency, integrations=())
    return dataclasses.replace(
        desired,
        agency=agency,
        locations=tuple(s for s in desired.locations if s.name in wanted),
    )


def targeted(desired: DesiredState, args: argparse.Namespace) -> DesiredState:
    """``desired`` narrowed by ``--location``/``--exclude``, then to ``--shard I/N``."""
    narrowed = select(desired, args.location, args.exclude)
    if args.shard is None:
        return narrowed
    index, count = args.shard
    return select_shard(narrowed, index, count)


def plan_shard(args: argparse.Namespace) -> PlanShard | None:
    """What a plan made with these arguments covers (``Plan.shard``)."""
    if args.shard is None:
        return None
    index, count = args.shard
    return PlanShard((index,), count)


def plan_options(
    desired: DesiredState,
    requests: Mapping[str, RequestVerb] | None = None,
    lost: Mapping[str, LostToken] | None = None,
    deferred: frozenset[str] = frozenset(),
) -> PlanOptions:
    """The planner's view of the token journal and sinks (and requested token verbs,
    and the integrations whose sink lacks their working token)."""
    base = config_dir(desired)
    declared: list[tuple[str | None, Integration]] = [
        (None, i) for i in desired.agency.integrations
    ]
    declared += [(s.name, i) for s in desired.locations for i in s.integrations]
    sinks = {
        token_key(where, i.name): describe_sink(sink_for(desired, where, i.name), base)
        for where, i in declared
    }
    history = Journal.for_config(desired).history()
    if desired.target.kind == "leadconnector":
        history = with_ledger_generations(history, load_ledger(ledger_file(desired)))
    return PlanOptions(
        history=history,
        sinks=sinks,
        requests=dict(requests or {}),
        lost=dict(lost or {}),
        deferred=deferred,
    )


def with_ledger_generations(history: TokenHistory, ledger: Ledger) -> TokenHistory:
    """On the live cloud a token is minted by hand and confirmed in the ledger: the
    generations it records (a confirmed create or delivery, a confirmed ``rotate_now``)
    count as applied, so a bumped generation is planned once, not again after its
    confirmation, and is noticed even when the token journal is lost."""
    generations = dict(history.generations)
    for key, value in ledger_generations(ledger).items():
        generations[key] = max(value, generations.get(key, value))
    return dataclasses.replace(history, generations=generations)


def delivered_before(
    lost: Mapping[str, LostToken], ledger: Ledger
) -> dict[str, LostToken]:
    """On the live cloud, a sink lacks a token only once the ledger says one was
    delivered into it (``hlsync token deliver``): before that, the runbook's step is
    the delivery itself, not a repair."""
    return {
        key: value
        for key, value in lost.items()
        if (entry := ledger.get(key)) is not None
        and entry.token_delivered_at is not None
    }


def effective_target(desired: DesiredState, environ: Mapping[str, str]) -> DesiredState:
    """``desired`` with a ``leadconnector`` target's URL set to the one in use (with
    ``HLSYNC_LEADCONNECTOR_URL`` resolved), so ``Target.base_url`` (and the plan and
    runbook rendered from it) name where hlsync really talks to."""
    if desired.target.kind != "leadconnector":
        return desired
    url = leadconnector_base_url(desired.target, environ)
    if url == desired.target.base_url:
        return desired
    target = dataclasses.replace(desired.target, url=url)
    return dataclasses.replace(desired, target=target)


async def make_plan(
    desired: DesiredState,
    access: TargetAccess,
    config_path: str,
    *,
    requests: Mapping[str, RequestVerb] | None = None,
    shard: PlanShard | None = None,
    parallel: int | None = None,
    progress: ProgressMode = "never",
) -> Plan:
    """Read the observed state and plan; the plan records where its config lives
    (and ``shard``, which part of the selected locations it covers; ``parallel``
    bounds how many locations are read at once).

    Every sink the plan will deliver a token to is checked first (``sinks.preflight``):
    a plan that could not store its tokens fails here, before anything is minted. On
    the live cloud tokens arrive by ``hlsync token deliver`` instead, so not there.
    Every existing integration's sink is checked (``health.lost_tokens``): one that
    lacks its working token is planned a repair (on the live cloud: once the ledger
    records a delivery, ``delivered_before``). The plan names the target by the base URL
    actually used (``effective_target``), so its header and runbook show where it went,
    and records the rate limits the locations reported while it read them
    (``Plan.rate_limits``), so its estimate is at the server's limits.
    """
    plan, _ = await plan_observed(
        desired,
        access,
        config_path,
        requests=requests,
        shard=shard,
        parallel=parallel,
        progress=progress,
    )
    return plan


async def plan_observed(
    desired: DesiredState,
    access: TargetAccess,
    config_path: str,
    *,
    requests: Mapping[str, RequestVerb] | None = None,
    shard: PlanShard | None = None,
    parallel: int | None = None,
    progress: ProgressMode = "never",
) -> tuple[Plan, ObservedState]:
    """:func:`make_plan`, and the observed state it was made from: ``apply`` lets go
    of the previous tokens whose overlap has ended (``custody.release_ended``) once it
    goes ahead, since ``plan`` writes nothing. ``progress``: how a long read shows
    where it is, on stderr (``read_progress``)."""
    reading = ReadProgress(
        desired,
        access.traffic,
        sys.stderr,
        progress,
        batch_size=access.batch_size,
    )
    async with reading.running():
        observed = await read_observed(desired, access, parallel=parallel)
    lost = await lost_tokens(desired, observed, access.integrations, access.company_id)
    if desired.target.kind == "leadconnector":
        lost = delivered_before(lost, load_ledger(ledger_file(desired)))
    plan = build_plan(
        effective_target(desired, os.environ),
        observed,
        options=plan_options(desired, requests, lost, access.pending),
    )
    if desired.target.kind != "leadconnector":
        preflight(plan, desired)
    plan = dataclasses.replace(
        plan,
        config_root=display_path(Path(config_path)),
        allowed_roots=tuple(display_path(Path(r)) for r in desired.allowed_roots),
        shard=shard,
        rate_limits=reported_limits(access, desired),
    )
    return plan, observed


def render_plan(plan: Plan, fmt: str, *, color: bool) -> str:
    if fmt == "json":
        return render_plan_json(plan)
    if fmt == "markdown":
        return render_plan_markdown(plan)
    return render_plan_text(plan, color=color)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (``files.atomic_write``, mode 0644)."""
    try:
        atomic_write(path, text, 0o644)
    except OSError as exc:
        raise HlsyncError(f"{path}: cannot write ({exc.strerror})") from exc


def read_plan_file(path: Path) -> Plan | None:
    """The saved plan at ``path``, or None when ``path`` is not a plan file.

    A plan file is recognised by its content (a JSON object with ``format_version``),
    not by its name; a config file or directory gives None.
    """
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    head = text.lstrip()
    if not head.startswith("{") or '"format_version"' not in text:
        return None
    return Plan.from_json(text, source=display_path(path))
