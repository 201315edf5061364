"""The manual Private Integration driver for the live cloud (``target: leadconnector``).

HighLevel publishes no API for Private Integrations (reference §7.2; DESIGN.md §4), so on
the live cloud hlsync cannot read them or change them. Instead:

* the **ledger** (:mod:`hlsync.live.ledger`, ``hlsync.ledger.json`` beside the config) is the
  observed state: :class:`ManualIntegrationDriver` implements the read side of
  :class:`~hlsync.targets.drivers.IntegrationDriver` from it, so the reader and the planner
  work unchanged and a plan shows what the ledger lacks;
* its write methods raise :class:`ManualStepRequired` (never a network call): the apply
  command writes the **runbook** (:func:`write_runbook`) and exits with
  :data:`EXIT_MANUAL_PENDING` while integration changes are pending; everything else in
  the plan still applies through the API;
* ``hlsync confirm NAME`` records a change made in the UI (:func:`integration_plan` is
  the local plan it is taken from: no network), ``hlsync token deliver NAME`` stores a
  new token in the integration's sink, ``hlsync verify NAME`` probes its scopes.

For the wiring of ``open_target``'s ``leadconnector`` branch: an ``httpx.AsyncClient`` on
:func:`leadconnector_base_url`, then :func:`manual_target_access` (``build_access`` with
``integrations=manual_access(desired)``, ``company_id=MANUAL_COMPANY_ID``).

Testing against the emulator: ``HLSYNC_LEADCONNECTOR_URL`` (an ``http(s)://`` URL)
replaces the live base URL of a ``leadconnector`` target (:func:`leadconnector_base_url`);
it exists so tests can stand the emulator in for the live service.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from hlsync.core.model import (
    DesiredState,
    Integration,
    LocationSpec,
    ObservedIntegration,
    ObservedLocation,
    ObservedState,
    Target,
)
from hlsync.core.plan import AGENCY, Change, Plan
from hlsync.core.result import EXIT_MANUAL_PENDING as EXIT_MANUAL_PENDING
from hlsync.errors import HlsyncError
from hlsync.files import atomic_write
from hlsync.live.ledger import Ledger, integration_key, ledger_path, load_ledger
from hlsync.live.runbook import render_runbook_markdown, render_runbook_text
from hlsync.targets.access import TargetAccess, build_access
from hlsync.targets.drivers import IntegrationScope, RotationMode, Token
from hlsync.tokens.rotation import iso
from hlsync.tokens.sinks.routing import config_dir
from hlsync.upstream.client import ApiClient

# makes a plan from the desired and the observed state: build_plan, options bound
Planner = Callable[[DesiredState, ObservedState], Plan]

# Any non-None company id makes the reader ask for agency integrations; the ledger keeps
# the agency's under "agency/<name>" whatever its upstream id.
MANUAL_COMPANY_ID = "agency"
URL_ENV = "HLSYNC_LEADCONNECTOR_URL"
RUNBOOK_FILES = ("runbook.txt", "runbook.md")
RUNBOOK_DIR = Path(".hlsync")  # under the config dir, beside the token files
_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")


class ManualStepRequired(HlsyncError):
    """A change to a Private Integration that only a person can make, in the UI."""

    def __init__(self, scope: IntegrationScope, what: str) -> None:
        super().__init__(
            f"{scope.describe()}: {what} is a manual step on the live cloud "
            "(HighLevel has no API for Private Integrations)",
            hints=("follow the runbook, then run 'hlsync confirm NAME'",),
        )


class ManualIntegrationDriver:
    """The integrations recorded in the ledger, as the reader expects them.

    ``list`` answers from the ledger (deleted entries are absent); ids are synthetic
    (``ledger:main/seed-bot``). Every write raises :class:`ManualStepRequired`.
    """

    def __init__(self, ledger: Ledger, desired: DesiredState) -> None:
        self.ledger = ledger
        self._names = {spec.id: spec.name for spec in desired.locations}

    def __repr__(self) -> str:
        return f"ManualIntegrationDriver({len(self.ledger.entries)} entries)"

    async def list(self, scope: IntegrationScope) -> dict[str, ObservedIntegration]:
        if scope.location_id is None:
            location = None
        else:
            name = self._names.get(scope.location_id)
            if name is None:
                raise HlsyncError(
                    f"{scope.describe()} is not a location of this config, so the "
                    "ledger has nothing for it"
                )
            location = name
        found = self.ledger.present(location)
        return {name: found[name].observed() for name in sorted(found)}

    async def create(
        self,
        scope: IntegrationScope,
        name: str,
        description: str,
        scopes: Sequence[str],
    ) -> tuple[ObservedIntegration, Token]:
        raise ManualStepRequired(scope, f"creating the integration {name!r}")

    async def update(
        self,
        scope: IntegrationScope,
        integration_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> ObservedIntegration:
        raise ManualStepRequired(scope, f"editing {_label(integration_id)}")

    async def delete(self, scope: IntegrationScope, integration_id: str) -> None:
        raise ManualStepRequired(scope, f"deleting {_label(integration_id)}")

    async def rotate(
        self, scope: IntegrationScope, integration_id: str, mode: RotationMode
    ) -> tuple[ObservedIntegration, Token]:
        raise ManualStepRequired(
            scope, f"rotating ({mode}) the token of {_label(integration_id)}"
        )

    async def cancel_rotation(
        self, scope: IntegrationScope, integration_id: str
    ) -> ObservedIntegration:
        raise ManualStepRequired(
            scope, f"cancelling the rotation of {_label(integration_id)}"
        )

    async def expire_old(
        self, scope: IntegrationScope, integration_id: str
    ) -> ObservedIntegration:
        raise ManualStepRequired(
            scope, f"expiring the old token of {_label(integration_id)}"
        )


def _label(integration_id: str) -> str:
    return integration_id.removeprefix("ledger:")


def ledger_file(desired: DesiredState) -> Path:
    """Where the ledger of this config lives: ``<config dir>/hlsync.ledger.json``."""
    return ledger_path(config_dir(desired))


def manual_access(desired: DesiredState) -> ManualIntegrationDriver:
    """The manual driver over the config's ledger (read now; a corrupt one raises)."""
    return ManualIntegrationDriver(load_ledger(ledger_file(desired)), desired)


def manual_target_access(
    api: ApiClient,
    desired: DesiredState,
    tokens: Mapping[str, str],
    *,
    pending: frozenset[str] = frozenset(),
) -> TargetAccess:
    """The live target's access: the API for locations, the ledger for integrations;
    ``pending`` locations wait for their seeding integration's token."""
    return build_access(
        api,
        desired,
        tokens,
        integrations=manual_access(desired),
        company_id=MANUAL_COMPANY_ID,
        pending=pending,
    )


def require_live_cloud(desired: DesiredState, command: str) -> None:
    """Refuse ``command`` (``confirm``, ``token deliver``) unless the target is the
    live cloud: elsewhere the api driver makes every change itself, so a ledger entry
    would record a step nobody took, and a delivered token one nobody minted."""
    if desired.target.kind == "leadconnector":
        return
    where = (
        "the sandbox" if desired.target.kind == "sandbox" else desired.target.base_url
    )
    raise HlsyncError(
        f"hlsync {command} is for the live cloud (target: leadconnector); this "
        f"config's target is {where}, where hlsync makes integration changes itself "
        "and nothing is done by hand",
        hints=(
            "run 'hlsync apply' (or 'hlsync token rotate NAME') to make the change "
            "and store its token",
        ),
    )


def leadconnector_base_url(target: Target, environ: Mapping[str, str]) -> str:
    """The live API's base URL, or ``$HLSYNC_LEADCONNECTOR_URL`` (for tests) if set."""
    override = environ.get(URL_ENV, "").strip()
    if target.kind != "leadconnector" or not override:
        return target.base_url
    if not _URL.match(override):
        raise HlsyncError(
            f"{URL_ENV} must be an http:// or https:// base URL",
            hints=(f"unset {URL_ENV} to use {target.base_url}",),
        )
    return override.rstrip("/")


def integration_plan(
    desired: DesiredState,
    ledger: Ledger,
    planner: Planner,
    *,
    now: datetime | None = None,
) -> Plan:
    """The plan of the config's integrations against the ledger, with no network.

    Custom fields, tags and contacts are left out (they need the API); the config
    digest is the whole config's, so it matches a full plan of the same config.
    ``planner`` makes the plan from the two states: the command layer passes
    ``build_plan`` with the options the full plan is made with
    (``commands._common.plan_options``: the journal's generations and the ledger's
    confirmed ones, the sinks), so a token verb the full plan shows (a ``rotate_now``
    after a generation bump) is planned here too; with bare ``build_plan`` only scope
    and description changes are. The live layer does not import the planner: it knows
    what the ledger observes, not how plans are made. ``now`` stands in for the
    upstream's clock, which time-based token verbs (rotate by age, expire an ended
    overlap) need: on the live cloud the ledger's timestamps are confirmation times, so
    the caller passes the time of the confirmation.
    """
    bare = dataclasses.replace(
        desired,
        locations=tuple(
            dataclasses.replace(spec, custom_fields=(), tags=(), contacts=())
            for spec in desired.locations
        ),
    )
    observed = ObservedState(
        agency_integrations={
            n: e.observed() for n, e in sorted(ledger.present(None).items())
        },
        locations={
            spec.name: ObservedLocation(
                name=spec.name,
                id=spec.id,
                integrations={
                    n: e.observed()
                    for n, e in sorted(ledger.present(spec.name).items())
                },
            )
            for spec in desired.locations
        },
        upstream_now=None if now is None else iso(now),
    )
    return planner(bare, observed)


def find_integration(
    desired: DesiredState, name: str
) -> tuple[LocationSpec | None, Integration]:
    """The declared integration ``name`` names: ``agency/<n>`` or ``<location>/<n>``."""
    where, _, short = name.partition("/")
    if not where or not short or "/" in short:
        raise HlsyncError(
            f"{name!r} does not name an integration",
            hints=("write it as <location>/<integration> or agency/<integration>",),
        )
    spec = desired.location(where)
    if where == AGENCY and spec is not None:
        # a location named "agency" shadows the agency unless only the agency has it
        in_agency = any(i.name == short for i in desired.agency.integrations)
        in_location = any(i.name == short for i in spec.integrations)
        if in_agency and in_location:
            raise HlsyncError(
                f"{name!r} is ambiguous: the agency and the location named 'agency' "
                "both declare it",
                spec.source,
                hints=("rename the location or one of the integrations",),
            )
        if in_agency:
            spec = None
    if spec is None and where == AGENCY:
        decls = desired.agency.integrations
    elif spec is None:
        known = ", ".join(s.name for s in desired.locations) or "none"
        raise HlsyncError(
            f"{name!r}: the config has no location {where!r}",
            hints=(f"locations: {known}; agency integrations are agency/<name>",),
        )
    else:
        decls = spec.integrations
    found = next((i for i in decls if i.name == short), None)
    if found is None:
        declared = ", ".join(integration_key(where, i.name) for i in decls) or "none"
        raise HlsyncError(
            f"{name!r}: no such integration is declared in the config",
            hints=(f"declared there: {declared}",),
        )
    return spec, found


def pending_change(
    plan: Plan, location: str | None, name: str, action: str | None = None
) -> Change | None:
    """The plan's pending change of one integration (the one of ``action`` when
    given), or None when there is none."""
    return next(
        (
            c
            for c in plan.pending
            if c.kind == "integration"
            and c.location == location
            and c.key == name
            and action in (None, c.action)
        ),
        None,
    )


def split_manual(plan: Plan, access: TargetAccess) -> tuple[Plan, tuple[Change, ...]]:
    """``plan`` without its pending integration changes when ``access`` uses the
    manual driver, and those changes (for the runbook); else ``(plan, ())``.

    Nothing else depends on an integration change, so the rest applies unchanged.
    """
    if not isinstance(access.integrations, ManualIntegrationDriver):
        return plan, ()
    manual = tuple(c for c in plan.pending if c.kind == "integration")
    if not manual:
        return plan, ()
    rest = tuple(c for c in plan.changes if c not in manual)
    return dataclasses.replace(plan, changes=rest), manual


def runbook_dir(desired: DesiredState) -> Path:
    """Where ``apply`` writes the runbook: ``<config dir>/.hlsync/``."""
    return config_dir(desired) / RUNBOOK_DIR


def manual_note(changes: Sequence[Change], files: Sequence[Path], shown: str) -> str:
    """What ``apply`` says (stderr) after writing the runbook to ``shown``."""
    names = ", ".join(f"{c.location or 'agency'}/{c.key}" for c in changes)
    count = len(changes)
    what = "change is" if count == 1 else "changes are"
    listing = " and ".join(p.name for p in files)
    return (
        f"{count} Private Integration {what} left to make by hand in the HighLevel "
        f"UI ({names}): follow {listing} in {shown}, then run 'hlsync confirm NAME' "
        f"for each. apply exits {EXIT_MANUAL_PENDING} until the ledger holds them.\n"
    )


def write_runbook(plan: Plan, directory: Path) -> list[Path]:
    """Write ``runbook.txt`` and ``runbook.md`` for ``plan`` into ``directory``."""
    texts = (render_runbook_text(plan), render_runbook_markdown(plan))
    written = []
    for file_name, text in zip(RUNBOOK_FILES, texts, strict=True):
        path = directory / file_name
        try:
            atomic_write(path, text, 0o644, make_parents=True)
        except OSError as exc:
            raise HlsyncError(
                f"{path}: cannot write the runbook ({exc.strerror})"
            ) from exc
        written.append(path)
    return written
