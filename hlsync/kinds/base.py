"""The one protocol every resource kind implements, and the contexts it is handed.

A resource kind (integration, custom field, tag, contact …) is everything hlsync knows
about one kind of upstream object, in one module under ``hlsync/kinds/``: how its config
section becomes declarations, how it is read, how a declaration and an observed object
become changes, and how each change is written. The pipeline modules — the config
builder, the reader, the planner, the change writer — loop over
``hlsync.kinds.registry.KINDS`` and never branch on a kind's name.

The data itself lives in ``hlsync.core.model`` (declared and observed classes, and each
observed class's fingerprint ``view``): the model is the one vocabulary every stage
shares, and keeping it in one module keeps the import graph a line.

Contexts are small and explicit: a kind gets what its stage offers and nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from hlsync.core.catalog import Catalog
from hlsync.core.model import (
    Contact,
    CustomField,
    Integration,
    Kind,
    LocationSpec,
    ObservedLocation,
    Tag,
)
from hlsync.core.plan import Change, Unmanaged
from hlsync.errors import Location, Problem
from hlsync.targets.access import TargetAccess
from hlsync.upstream.api import LocationApiLike

if TYPE_CHECKING:
    from hlsync.kinds.integration_plan import PlanOptions
    from hlsync.kinds.integration_writer import IntegrationWriter

JsonPath = tuple[str | int, ...]  # a path into config data, as hlsync.config.yamlload
Where = Callable[[JsonPath], Location]
D_co = TypeVar("D_co", covariant=True)
O_co = TypeVar("O_co", covariant=True)
T = TypeVar("T")


class LocationBuilder(Protocol):
    """What the config builder offers a kind while it builds one location."""

    @property
    def name(self) -> str:
        """The location's local name."""

    @property
    def data(self) -> Mapping[str, Any]:
        """Its merged, schema-checked config (templates applied)."""

    def where(self, path: JsonPath) -> Location:
        """file:line:column of a path inside it."""

    def problem(self, message: str, where: Location, hint: str | None = None) -> None:
        """Report a located problem; building goes on to find the others."""

    def built(self, kind: Kind) -> Sequence[Any]:
        """The declarations of a kind built earlier in ``KINDS`` order."""

    def integrations(self) -> tuple[Integration, ...]:
        """The location's integrations (scope sets, policy and tokens checked)."""

    def contacts(
        self, fields: Sequence[CustomField], tags: Sequence[Tag]
    ) -> tuple[Contact, ...]:
        """The location's seed contacts (inline and from files, defaults applied)."""


@dataclass(slots=True)
class PlanContext:
    """What one location's planning shares between kinds, in ``KINDS`` order.

    ``earlier`` holds each kind's changes once planned; ``providers`` maps
    (kind, key) of every object created or re-created in this plan to its address, so
    a later kind can depend on it (a contact on the tag and field it uses).
    """

    where: str  # the location's local name
    location_id: str
    options: PlanOptions
    catalog: Catalog
    now: datetime | None
    problems: list[Problem]
    earlier: dict[Kind, list[Change]] = field(default_factory=dict)
    providers: dict[tuple[Kind, str], str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unmanaged: list[Unmanaged] = field(default_factory=list)


# (location name or None for the agency, integration name) -> the sink's token or None
SinkToken = Callable[[str | None, str], str | None]


class ReadContext:
    """One location being read: its API, the target access, and shared reads.

    ``sink_token(location, name)``: the token an integration's sink holds now (None:
    none, or not readable), for keeping the right one of two integrations with one
    name; None: sinks are not read.

    ``shared(name, read)`` runs ``read`` once per location and hands every caller the
    same result, so two kinds needing the same list (contacts need the custom fields'
    ids) cost one call, and the reads still run concurrently.

    ``unlisted`` and ``totals`` are what a kind learnt besides its objects: a kind it
    could not list in full, and why (the token lacks the scope), and how many objects
    of a kind the location holds where a read said so for free (contacts: a search
    page's ``total``). The reader hands both to ``ObservedLocation``.
    """

    def __init__(
        self,
        spec: LocationSpec,
        api: LocationApiLike,
        access: TargetAccess,
        *,
        sink_token: SinkToken | None = None,
    ):
        self.spec = spec
        self.api = api
        self.access = access
        self.sink_token = sink_token
        self.unlisted: dict[Kind, str] = {}
        self.totals: dict[Kind, int] = {}
        self._shared: dict[str, Awaitable[Any]] = {}

    def shared(self, name: str, read: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        if name not in self._shared:
            self._shared[name] = asyncio.ensure_future(read())
        found: Awaitable[T] = self._shared[name]
        return found


@dataclass(frozen=True, slots=True)
class ContactSelection:
    """Which contacts ``hlsync export --contacts`` writes: those matching every
    ``filters`` entry (upstream search filters, ``eq``), the first ``limit`` of them in
    upstream's ``dateAdded`` order (None: all)."""

    filters: tuple[tuple[str, str], ...] = ()
    limit: int | None = None


class Verbatim(dict[str, Any]):
    """Config data carried over from the source config (a token's settings): exported
    as it is, never escaped like text read from the account."""


@dataclass(slots=True)
class ExportContext:
    """What ``hlsync export`` offers a kind while it exports one location.

    ``scope_sets``: the source config's scope sets, expanded, so an integration's
    scopes can name the sets they hold; ``tokens``: the ``token:`` mapping the source
    config gives each integration it declares (paths already relative to the export),
    carried over instead of marking the token as held elsewhere; ``contacts``: None
    unless ``--contacts``; ``warnings``: what was left out and why.
    """

    read: ReadContext
    scope_sets: Mapping[str, frozenset[str]]
    tokens: Mapping[str, Verbatim]
    contacts: ContactSelection | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Exported:
    """One kind's part of an exported location, as config data (JSON-like).

    ``shared`` is what every location stamped from a template has alike (it goes into
    the template with ``--as-template``); ``own`` stays with the location (a template's
    parameters: per-location values, where a token is held); with no template both are
    merged into the location. ``seeds``: rows of the location's ``contacts_from`` file.
    None: nothing of this kind.
    """

    shared: Mapping[str, Any] | list[Any] | None = None
    own: Mapping[str, Any] | None = None
    seeds: tuple[Mapping[str, Any], ...] | None = None


class WriteContext(Protocol):
    """What the change writer offers a kind while it writes one change."""

    field_ids: dict[tuple[str, str], str]  # (location, field key) -> upstream id
    integrations: IntegrationWriter

    def location_api(self, change: Change) -> LocationApiLike:
        """The API of the change's location (fails the change when there is none)."""


class ResourceKind(Protocol[D_co, O_co]):
    """Everything kind-specific, for one kind of upstream object.

    ``name`` is the plan's ``kind`` and the address segment; ``section`` is both the
    config key of a location (and template) and the attribute of ``LocationSpec`` and
    ``ObservedLocation`` that hold its declarations and observed objects. ``layer`` and
    ``delete_layer`` order the plan: every create/update of a lower layer runs before a
    higher one, deletes run after all of them (a contact is deleted before the fields
    and tags it used, integrations last: one may hold the token the others use).
    """

    name: Kind
    section: str
    nouns: tuple[str, str]  # singular and plural, for summaries ("custom field")
    layer: int
    delete_layer: int
    # True when the kind is read through upstream's search index, which trails writes
    # by seconds (reference §5.6): apply waits for it to show what it wrote
    # (``hlsync.engine.settle``).
    lagging_read: bool
    # The config key that must be ``true`` beside ``manage: {<section>: exclusive}``
    # (None: exclusive needs no more): contacts are people, not settings.
    prune_consent: str | None

    def declared(self, spec: LocationSpec) -> Sequence[D_co]:
        """The location's declarations of this kind."""

    def observed(self, location: ObservedLocation) -> Mapping[str, O_co]:
        """The observed objects of this kind, by key."""

    def build(self, builder: LocationBuilder) -> tuple[D_co, ...]:
        """The declarations of the location's config section (problems reported)."""

    def write_scopes(self, data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
        """(scope, why) a location's writing token (``auth:``) needs for what its
        config ``data`` declares of this kind."""

    async def read(self, ctx: ReadContext) -> Mapping[str, O_co]:
        """Every object of this kind a plan of ``ctx.spec`` needs (may be none)."""

    async def reread(self, ctx: ReadContext, keys: set[str]) -> Mapping[str, O_co]:
        """Only the objects with ``keys`` (a saved plan's targets); absent ones are
        left out."""

    def plan(
        self, spec: LocationSpec, observed: ObservedLocation, ctx: PlanContext
    ) -> list[Change]:
        """One change per managed object of this kind (noop included), pure."""

    async def write(self, change: Change, ctx: WriteContext) -> str:
        """Make the change's calls; return a note ("" when there is nothing to say).

        A change that cannot be made raises ``ChangeFailed`` or an ``HlsyncError``."""

    def unmanaged(
        self, spec: LocationSpec, observed: ObservedLocation
    ) -> Unmanaged | None:
        """What of this kind exists upstream but the config does not manage, for the
        plan's listing (None: nothing, or nothing known); ``spec.manage`` additive."""

    def prune(
        self, spec: LocationSpec, observed: ObservedLocation, ctx: PlanContext
    ) -> list[Change]:
        """With ``manage: {<section>: exclusive}``: a delete of every object of this
        kind the config does not manage (gated like every delete)."""

    async def export(self, ctx: ExportContext) -> Exported:
        """Every object of this kind in the location, as config (``hlsync export``):
        the config that plans no change against it."""
