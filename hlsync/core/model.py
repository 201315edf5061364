"""The desired and the observed state, as frozen data.

``config.load_config`` produces a :class:`DesiredState`; the reader produces an
:class:`ObservedState`; ``planner.build_plan(desired, observed)`` compares them. Nothing in
this module touches files or the network.

Identity rules (DESIGN.md §3):

* location: the local name in config, mapped to a HighLevel location id;
* integration: its name, per location (or the agency);
* custom field: its key (``fieldKey`` without the ``contact.`` prefix), per location;
* tag: its name, per location;
* custom value: its name, per location;
* contact: ``email:<case-folded email>`` or else ``phone:<E.164>`` (see ``contact_key``).

Contact ``fields`` hold only what the config declares, under HighLevel's own field names
(``firstName``, ``email``, ``phone``, ``address1`` …); tags and custom-field values are kept
apart because they merge differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, assert_never

from hlsync.errors import Location, Problem

Ensure = Literal["present", "absent"]
# How a location manages a kind (``manage:``): ``additive`` (the default) leaves objects
# the config does not declare alone; ``exclusive`` deletes them (gated like any delete).
Manage = Literal["additive", "exclusive"]
# The resource kinds, in the plan's ``kind`` field and its addresses. Each has one module
# under ``hlsync/kinds/`` and an entry in ``hlsync.kinds.registry`` (a test checks both).
Kind = Literal["integration", "custom_field", "tag", "custom_value", "contact"]
TargetKind = Literal["sandbox", "url", "leadconnector"]
JSONValue = Any  # str | int | float | bool | None | list | dict, as json.loads returns

LEADCONNECTOR_URL = "https://services.leadconnectorhq.com"


def contact_key(email: str | None, phone: str | None) -> str | None:
    """The identity of a contact: its case-folded email, else its E.164 phone."""
    if email:
        return "email:" + email.strip().casefold()
    if phone:
        return "phone:" + phone
    return None


@dataclass(frozen=True, slots=True)
class Target:
    """Where the account lives: the embedded sandbox, an emulator URL, or the cloud."""

    kind: TargetKind = "sandbox"
    url: str | None = None  # for kind == "url"; LEADCONNECTOR_URL for leadconnector
    sandbox_db: str | None = None  # path of the sandbox SQLite file

    @property
    def base_url(self) -> str:
        if self.kind == "leadconnector":
            return self.url or LEADCONNECTOR_URL
        if self.kind == "url" and self.url:
            return self.url
        return "http://sandbox.hlsync.invalid"


@dataclass(frozen=True, slots=True)
class TokenRef:
    """Where a token lives: an environment variable or a file. Never the token itself."""

    env: str | None = None
    file: str | None = None  # absolute path, resolved against the config file

    def describe(self) -> str:
        return f"${self.env}" if self.env else f"file {self.file}"


SinkKind = Literal["file", "env_file", "command", "held_by"]
DEFAULT_OVERLAP = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class SinkSpec:
    """Where a newly minted token is delivered (DESIGN.md §4). Never the token itself.

    * ``file``: ``path`` (absolute), written 0600 atomically, parent folder 0700;
    * ``env_file``: the entry ``key`` in the dotenv file ``path``, updated in place;
    * ``command``: ``argv`` run with the token on stdin (never in argv); a non-zero exit
      means "not delivered"; ``env``: the variables of hlsync's environment it gets on
      top of a minimal one (PATH, HOME, locale, TZ);
    * ``held_by``: the token is held outside hlsync, by ``holder`` (a note): nothing is
      ever delivered to it, so hlsync mints no token for the integration.
    """

    kind: SinkKind
    path: str | None = None
    key: str | None = None
    argv: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    holder: str | None = None
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """How an integration's token is rotated and where it goes.

    ``rotate_every``: rotate (later, with ``overlap``) once the current token is older;
    ``generation``: bumping the number means "rotate now" (like Terraform's write-only
    argument versions); ``revoke_issued_before``: an instant (ISO 8601 UTC, ``…Z``):
    a token issued before it (on the upstream's clock) is rotated now, once, on any
    runner; ``sink``: None means the default file sink beside the config.
    """

    rotate_every: timedelta | None = None
    overlap: timedelta = DEFAULT_OVERLAP
    generation: int = 0
    sink: SinkSpec | None = None
    revoke_issued_before: str | None = None


@dataclass(frozen=True, slots=True)
class Integration:
    """A Private Integration, at the agency or in one location."""

    name: str
    description: str = ""
    scopes: tuple[str, ...] = ()  # sorted, scope sets already expanded
    ensure: Ensure = "present"
    protect: bool = False
    source: Location | None = field(default=None, compare=False)
    token: TokenPolicy = field(default_factory=TokenPolicy)


@dataclass(frozen=True, slots=True)
class CustomField:
    """A contact custom field of one location."""

    key: str  # fieldKey without the "contact." prefix, e.g. "pincode"
    name: str
    data_type: str  # upstream dataType: TEXT, LARGE_TEXT, NUMERICAL, …
    options: tuple[str, ...] = ()  # picklist options, for *_OPTIONS / RADIO / CHECKBOX
    placeholder: str | None = None
    ensure: Ensure = "present"
    protect: bool = False
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Tag:
    name: str
    ensure: Ensure = "present"
    protect: bool = False
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class CustomValue:
    """A location custom value (business phone, booking link …) that templates use."""

    name: str
    value: str = ""
    ensure: Ensure = "present"
    protect: bool = False
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Contact:
    """A seed contact: only what the config declares is ever compared or written."""

    key: str  # see contact_key()
    fields: Mapping[str, JSONValue] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    tags_exclusive: bool = False  # True: tags not listed here are removed
    custom_fields: Mapping[str, JSONValue] = field(default_factory=dict)  # by field key
    ensure: Ensure = "present"
    protect: bool = False
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class LocationSpec:
    """One sub-account as the config wants it."""

    name: str  # local name in config
    id: str  # HighLevel location id
    token: TokenRef | None = None
    integrations: tuple[Integration, ...] = ()
    custom_fields: tuple[CustomField, ...] = ()
    tags: tuple[Tag, ...] = ()
    contacts: tuple[Contact, ...] = ()
    custom_values: tuple[CustomValue, ...] = ()
    default_region: str | None = None
    source: Location | None = field(default=None, compare=False)
    # write this location's contacts, fields and tags with the token of one of its own
    # declared integrations (read from that integration's sink), not with `token`
    auth_integration: str | None = None
    # `auth: {fallback: location-token}`: when that integration exists but its token is
    # unavailable, use `token` instead of repairing first (a warning on every plan)
    auth_fallback: bool = False
    # `manage:` by kind; a kind not named is additive (see ``Manage``)
    manage: Mapping[Kind, Manage] = field(default_factory=dict)

    def exclusive(self, kind: Kind) -> bool:
        """Whether objects of ``kind`` the config does not declare are deleted."""
        return self.manage.get(kind) == "exclusive"


@dataclass(frozen=True, slots=True)
class AgencySpec:
    token: TokenRef | None = None
    integrations: tuple[Integration, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    """Organisation rules every integration must follow; violations fail validate/plan."""

    forbid_scopes: tuple[str, ...] = ()  # fnmatch globs such as "payments/*"
    max_scopes: int | None = None  # per integration
    max_rotate_every: timedelta | None = None
    source: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class DesiredState:
    target: Target
    agency: AgencySpec
    locations: tuple[LocationSpec, ...]
    config_digest: str  # sha256 of the canonical resolved config
    root: str  # the config file or directory it was loaded from
    policy: Policy = field(default_factory=Policy)
    # things upstream accepts that look wrong (``validate`` and ``plan`` print them)
    warnings: tuple[Problem, ...] = field(default=(), compare=False)
    # directories besides the config folder its paths may use (``--allow-path``,
    # resolved); how it was run, not config, so outside equality and the digest
    allowed_roots: tuple[str, ...] = field(default=(), compare=False)

    def location(self, name: str) -> LocationSpec | None:
        return next((loc for loc in self.locations if loc.name == name), None)


@dataclass(frozen=True, slots=True)
class ObservedIntegration:
    id: str
    name: str
    description: str
    scopes: tuple[str, ...]
    created_at: str | None = None  # ISO 8601, upstream clock
    rotated_at: str | None = None
    old_token_expires_at: str | None = None  # set while a rotation overlap is open

    def view(self, compared: tuple[str, ...] = ()) -> dict[str, Any]:
        """What the planner compares, so what a saved plan's fingerprint covers."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "scopes": sorted(self.scopes),
            "created_at": self.created_at,
            "rotated_at": self.rotated_at,
            "old_token_expires_at": self.old_token_expires_at,
        }

    def value_at(self, path: str) -> JSONValue:
        return self.view().get(path)


@dataclass(frozen=True, slots=True)
class ObservedCustomField:
    id: str
    key: str  # without the "contact." prefix
    name: str
    data_type: str
    options: tuple[str, ...] = ()
    placeholder: str | None = None

    def view(self, compared: tuple[str, ...] = ()) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "data_type": self.data_type,
            "options": list(self.options),
            "placeholder": self.placeholder,
        }

    def value_at(self, path: str) -> JSONValue:
        return self.view().get(path)


@dataclass(frozen=True, slots=True)
class ObservedTag:
    id: str
    name: str

    def view(self, compared: tuple[str, ...] = ()) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}

    def value_at(self, path: str) -> JSONValue:
        return self.view().get(path)


@dataclass(frozen=True, slots=True)
class ObservedCustomValue:
    id: str
    name: str
    value: str

    def view(self, compared: tuple[str, ...] = ()) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "value": self.value}

    def value_at(self, path: str) -> JSONValue:
        return self.view().get(path)


@dataclass(frozen=True, slots=True)
class ObservedContact:
    id: str
    key: str
    fields: Mapping[str, JSONValue]  # as upstream returns them
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, JSONValue] = field(default_factory=dict)  # by field key

    def view(self, compared: tuple[str, ...] = ()) -> dict[str, Any]:
        """Only the ``compared`` paths count (declared fields only, DESIGN.md §3), so a
        UI user editing an undeclared field does not make a saved plan stale: a field
        name (``firstName``), ``customFields.<key>``, ``tags`` (the whole set, for
        exclusive tag lists) or ``tags.<name>`` (presence of one tag, without case)."""
        view: dict[str, Any] = {"id": self.id, "key": self.key}
        present = {t.casefold() for t in self.tags}
        for path in compared:
            if path == "tags":
                view[path] = sorted(self.tags)
            elif path.startswith("tags."):
                view[path] = path[5:].casefold() in present
            elif path.startswith("customFields."):
                view[path] = self.custom_fields.get(path[13:])
            else:
                view[path] = self.fields.get(path)
        return view

    def value_at(self, path: str) -> JSONValue:
        if path == "tags":
            return sorted(self.tags)
        head, _, rest = path.partition(".")
        if head == "customFields":
            return self.custom_fields.get(rest)
        value: JSONValue = self.fields.get(head)
        for part in rest.split(".") if rest else ():
            if isinstance(value, Mapping):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return None
        return value


Observed = (
    ObservedIntegration
    | ObservedCustomField
    | ObservedTag
    | ObservedCustomValue
    | ObservedContact
)


@dataclass(frozen=True, slots=True)
class ObservedLocation:
    name: str
    id: str
    integrations: Mapping[str, ObservedIntegration] = field(default_factory=dict)
    custom_fields: Mapping[str, ObservedCustomField] = field(default_factory=dict)
    tags: Mapping[str, ObservedTag] = field(default_factory=dict)
    contacts: Mapping[str, ObservedContact] = field(default_factory=dict)  # by key
    custom_values: Mapping[str, ObservedCustomValue] = field(default_factory=dict)
    settings: Mapping[str, JSONValue] = field(default_factory=dict)
    # kinds that could not be listed in full, and why (the token lacks the scope): their
    # unmanaged objects are unknown
    unlisted: Mapping[Kind, str] = field(default_factory=dict)
    # how many objects of a kind the location holds, where a read learnt it for free
    # (contacts: the ``total`` of a whole-location search page)
    totals: Mapping[Kind, int] = field(default_factory=dict)
    # the id of the integration whose token is the location's own (None: not known):
    # never listed as unmanaged, deleted by an exclusive ``integrations`` or exported
    token_holder: str | None = None

    def objects(self, kind: Kind) -> Mapping[str, Observed]:
        """The observed objects of one kind, by key."""
        match kind:
            case "integration":
                return self.integrations
            case "custom_field":
                return self.custom_fields
            case "tag":
                return self.tags
            case "custom_value":
                return self.custom_values
            case "contact":
                return self.contacts
            case _:
                assert_never(kind)

    def find(self, kind: Kind, key: str) -> Observed | None:
        """The object (kind, key), or None; tag names match without case (upstream)."""
        objects = self.objects(kind)
        if kind != "tag":
            return objects.get(key)
        wanted = key.casefold()
        return next((o for n, o in objects.items() if n.casefold() == wanted), None)


@dataclass(frozen=True, slots=True)
class ObservedState:
    agency_integrations: Mapping[str, ObservedIntegration] = field(default_factory=dict)
    locations: Mapping[str, ObservedLocation] = field(default_factory=dict)  # by name
    # the upstream's clock when it was read (its `Date` header), ISO 8601; time-based
    # decisions (token rotation) use this, never the local clock
    upstream_now: str | None = None
    # the id of the agency integration whose token is the agency's own (None: not
    # known), as ``ObservedLocation.token_holder``
    agency_token_holder: str | None = None
