"""The probes ``hlsync verify`` sends: one request per catalog scope and token level,
none that can change data.

A token's scopes cannot be read back from HighLevel (reference §7.2): the only signal is
``401 The token is not authorized for this scope.`` So every scope of the catalog (91,
reference §2.3) has one probe per level it exists at, a request to one of the scope's
own endpoints (``data/scope_routes.json`` lists them as the official files spell them),
and the answer says whether the token holds it:

* a **read** scope (``.readonly``, ``.read``) is probed with a read that needs no
  object: a list (2xx: held), an object whose id cannot exist (:data:`NO_SUCH`: 404
  after the scope check: held), or, where a list's answer needs data nothing can stand
  for, a list whose required query parameter is left out (400/422: held);
* a **write** scope is probed with a request the upstream must refuse *for its body*:
  a create (or, where the scope has none, an update or an action on an object that
  cannot exist) that leaves out a field the operation requires or gives one of the
  wrong kind, and carries a property no DTO has (:data:`FOREIGN`; upstream refuses
  unknown properties, 422 ``"property X should not exist"``, reference §3): two
  reasons to refuse it, either one enough. 400 or 422 (and 404 for an object that
  cannot exist) means held: the body was looked at, so the scope was granted first.
  Where a field could be read as "all of them" it is given empty (``locationIds:
  []``, ``accountIds: []``, ``locationIds: ""``), so that even an upstream that
  skipped validation would act on nothing. Only ``socialplanner/account.write`` has
  no endpoint but a DELETE: its probe deletes an account that cannot exist
  (:data:`NO_SUCH`), so any answer past the scope check, 2xx included, means held and
  nothing was deleted.

The assumption (written down because everything rests on it): **upstream checks a
request's guards before it validates the query or the body** — the token, then the
scope, then the location, then the body — as NestJS runs guards before pipes. A
missing scope therefore answers 401 whatever the request, and a held one never gets
past validation. The emulator checks in that order too (``emulator/auth.require``
before ``validation.check_body``; the scope gate, ``emulator/scope_gate.py``, serves
every catalog endpoint no resource models), so ``verify`` means the same against it as
upstream; ``tests/integration/test_probe_order.py`` proves the order, that every
probe's route is served and guarded by its scope, and that no probe writes. Should a
write probe ever be accepted (2xx), ``verify`` stops with an error naming it instead of
calling the scope held; a 404 ``Cannot GET …`` (no such route) and a 400 about the
``Version`` header say nothing about the scope and are errors too.

Most probes name their location (path, query or body: ``locationId``, ``altId``), so
a token of another location is refused (403), never mistaken for a held scope. A few
cannot (the operation names none, or the location is what is left out); those say
nothing about whose token it is, and the others do. ``saas/company.write``'s only
endpoint names the company (:data:`COMPANY`): ``verify`` looks it up from the
location first. Probes send the ``Version`` their operation declares
(``2021-04-15`` for calendars, conversations and SaaS).

Known limit: ``oauth.readonly`` and ``oauth.write`` guard endpoints the official file
marks ``Agency-Access-Only`` (OAuth tokens, no Private Integration token): upstream may
refuse a Private Integration's token there even with the box ticked, which ``verify``
then reports as ``MISSING``.

Pure data and decisions: the requests are sent by :mod:`hlsync.live.verify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hlsync.upstream.errors import lacks_scope

LOCATION = "{locationId}"  # the probed location's id, in paths, queries and bodies
COMPANY = "{companyId}"  # the company (agency) owning it
# an id no HighLevel object has (their ids are alphanumeric, never hyphenated)
NO_SUCH = "hlsync-probe-no-such-id"
# a property no HighLevel DTO has: upstream refuses a body that carries it (422)
FOREIGN = "hlsyncScopeProbe"
V2021 = "2021-07-28"
V2021_04 = "2021-04-15"  # calendars, conversations, SaaS

Verdict = Literal["held", "missing", "refused", "accepted"]


@dataclass(frozen=True, slots=True)
class Probe:
    """One request: ``path``, ``query`` and ``body`` may hold :data:`LOCATION` and
    :data:`COMPANY`."""

    scope: str
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None
    version: str = V2021

    @property
    def writes(self) -> bool:
        """A write probe: must be refused for its body (module docstring)."""
        return not self.scope.endswith((".readonly", ".read"))

    @property
    def shown(self) -> str:
        """``POST /locations/{locationId}/tags``: how a report names the probe."""
        return f"{self.method} {self.path}"

    @property
    def names_location(self) -> bool:
        """Whether a token of another location is refused (403) by this probe."""
        return LOCATION in self.path or LOCATION in self._values()

    @property
    def needs_company(self) -> bool:
        return COMPANY in self.path or COMPANY in self._values()

    @property
    def no_such_object(self) -> bool:
        """The probe names an object that cannot exist."""
        return NO_SUCH in self.path

    def _values(self) -> list[Any]:
        return [*self.query.values(), *(self.body or {}).values()]

    def path_for(self, location_id: str, company_id: str = "") -> str:
        return self.path.replace(LOCATION, location_id).replace(COMPANY, company_id)

    def query_for(self, location_id: str, company_id: str = "") -> dict[str, str]:
        return {k: _fill(v, location_id, company_id) for k, v in self.query.items()}

    def body_for(self, location_id: str, company_id: str = "") -> dict[str, Any] | None:
        if self.body is None:
            return None
        return {k: _fill(v, location_id, company_id) for k, v in self.body.items()}

    def verdict(self, status: int, message: str | None) -> Verdict | None:
        """What an answer means: ``held``, ``missing`` (401 not authorized for this
        scope), ``refused`` (another 401 or a 403: the token itself is refused),
        ``accepted`` (a write probe answered 2xx: the assumption broke), or None when
        the answer says nothing about the scope (no such route, a Version refused,
        a 5xx, …: an error to report)."""
        text = message or ""
        if lacks_scope(status, message):
            return "missing"
        if status in (401, 403):
            return "refused"
        if status == 404 and text.startswith("Cannot "):
            return None
        if status == 400 and "version header" in text.lower():
            return None
        if 200 <= status < 300:
            if self.writes and not (self.method == "DELETE" and self.no_such_object):
                return "accepted"
            return "held"
        if status in (400, 422):
            return "held"
        if status == 404 and (not self.writes or self.no_such_object):
            return "held"  # no such object, after the scope check
        return None


def _fill(value: Any, location_id: str, company_id: str) -> Any:
    if value == LOCATION:
        return location_id
    if value == COMPANY:
        return company_id
    return value


def _read(scope: str, path: str, version: str = V2021, **query: str) -> Probe:
    """A GET: a list, an object that cannot exist, or a query left short."""
    return Probe(scope, "GET", path, query, None, version)


def _refused(
    scope: str, method: str, path: str, version: str = V2021, **fields: Any
) -> Probe:
    """A write the upstream must refuse for its body: ``fields`` (never all the
    operation requires) plus :data:`FOREIGN`."""
    return Probe(scope, method, path, {}, {**fields, FOREIGN: True}, version)


def _located(scope: str, method: str, path: str, version: str = V2021) -> Probe:
    """:func:`_refused` naming the location in the body."""
    return _refused(scope, method, path, version, locationId=LOCATION)


def _alt(scope: str, path: str) -> Probe:
    """:func:`_refused` naming the location as ``altId`` (invoices, payments)."""
    return _refused(scope, "POST", path, altId=LOCATION, altType="location")


AT = {"locationId": LOCATION}
ALT = {"altId": LOCATION, "altType": "location"}
PAGE = {"limit": "1", "offset": "0"}
_LOC = "/locations/{locationId}/"
_SOCIAL = "/social-media-posting/{locationId}"
_SAAS = "/saas-api/public-api"

SUB_ACCOUNT: tuple[Probe, ...] = (
    _read("blogs/author.readonly", "/blogs/authors", **AT, **PAGE),
    _read("blogs/category.readonly", "/blogs/categories", **AT, **PAGE),
    # urlSlug left out: refused for its query (an empty answer would need a claim)
    _read("blogs/check-slug.readonly", "/blogs/posts/url-slug-exists", **AT),
    _read("blogs/list.readonly", "/blogs/site/all", **AT, skip="0", limit="1"),
    _located("blogs/post-update.write", "PUT", f"/blogs/posts/{NO_SUCH}"),
    _located("blogs/post.write", "POST", "/blogs/posts"),
    _read("blogs/posts.readonly", "/blogs/posts/all", **AT, blogId=NO_SUCH, **PAGE),
    _read("businesses.readonly", "/businesses", **AT),
    _located("businesses.write", "POST", "/businesses"),
    _read("calendars.readonly", "/calendars", V2021_04, **AT),
    _located("calendars.write", "POST", "/calendars", V2021_04),
    _read(
        "calendars/events.readonly",
        "/calendars/events",
        V2021_04,
        **AT,
        startTime="0",
        endTime="1",
    ),
    _located(
        "calendars/events.write", "POST", "/calendars/events/block-slots", V2021_04
    ),
    _read("calendars/groups.readonly", "/calendars/groups", V2021_04, **AT),
    # validating a slug writes nothing even when the body is right
    _located(
        "calendars/groups.write", "POST", "/calendars/groups/validate-slug", V2021_04
    ),
    _read(
        "calendars/resources.readonly",
        "/calendars/resources/equipments",
        V2021_04,
        **AT,
        limit="1",
        skip="0",
    ),
    _located(
        "calendars/resources.write", "POST", "/calendars/resources/equipments", V2021_04
    ),
    _read("campaigns.readonly", "/campaigns", **AT),
    Probe("contacts.readonly", "POST", "/contacts/search", {}, AT | {"pageLimit": 1}),
    # only locationId is required, so the body also gives dndSettings, an object
    # in the DTO, as a string: refused for two reasons, either one enough
    _refused("contacts.write", "POST", "/contacts/", **AT, dndSettings="-"),
    _read("conversations.readonly", "/conversations/search", V2021_04, **AT, limit="1"),
    _located("conversations.write", "POST", "/conversations", V2021_04),
    _located(
        "conversations/livechat.write",
        "POST",
        "/conversations/providers/live-chat/typing",
        V2021_04,
    ),
    _read(
        "conversations/message.readonly",
        f"/conversations/locations/{{locationId}}/messages/{NO_SUCH}/transcription",
        V2021_04,
    ),
    # the scope's other endpoints send or upload; this one names no location
    _refused(
        "conversations/message.write",
        "PUT",
        f"/conversations/messages/{NO_SUCH}/status",
        V2021_04,
    ),
    _located("courses.write", "POST", "/courses/courses-exporter/public/import"),
    _read("emails/builder.readonly", "/emails/builder", **AT, limit="1"),
    _located("emails/builder.write", "POST", "/emails/builder"),
    _read("emails/schedule.readonly", "/emails/schedule", **AT, limit="1"),
    _read("forms.readonly", "/forms", **AT, limit="1"),
    _read("funnels/funnel.readonly", "/funnels/funnel/list", **AT, limit="1"),
    # limit and offset left out: refused for its query
    _read("funnels/page.readonly", "/funnels/page", **AT, funnelId=NO_SUCH),
    _read("funnels/pagecount.readonly", "/funnels/page/count", **AT, funnelId=NO_SUCH),
    _read("funnels/redirect.readonly", "/funnels/lookup/redirect/list", **AT, **PAGE),
    _located("funnels/redirect.write", "POST", "/funnels/lookup/redirect"),
    _read("invoices.readonly", "/invoices", **ALT, **PAGE),
    _alt("invoices.write", "/invoices"),
    _read("invoices/schedule.readonly", "/invoices/schedule", **ALT, **PAGE),
    _alt("invoices/schedule.write", "/invoices/schedule"),
    _read("invoices/template.readonly", "/invoices/template", **ALT, **PAGE),
    _alt("invoices/template.write", "/invoices/template"),
    _read("links.readonly", "/links", **AT),
    _located("links.write", "POST", "/links"),
    _read("locations.readonly", "/locations/{locationId}"),
    _read("locations/customFields.readonly", _LOC + "customFields"),
    _refused("locations/customFields.write", "POST", _LOC + "customFields"),  # no name
    _read("locations/customValues.readonly", _LOC + "customValues"),
    _refused("locations/customValues.write", "POST", _LOC + "customValues"),
    _read("locations/tags.readonly", _LOC + "tags"),
    _refused("locations/tags.write", "POST", _LOC + "tags"),  # no name
    Probe("locations/tasks.readonly", "POST", _LOC + "tasks/search", {}, {}),
    _read("locations/templates.readonly", _LOC + "templates", originId=LOCATION),
    _read(
        "medias.readonly",
        "/medias/files",
        **ALT,
        sortBy="createdAt",
        sortOrder="desc",
        type="file",
        limit="1",
    ),
    # no file, no fileUrl: nothing to upload; hosted, a boolean, given as a string
    _refused("medias.write", "POST", "/medias/upload-file", hosted="-"),
    _read(
        "objects/record.readonly",
        f"/objects/custom_objects.{NO_SUCH}/records/{NO_SUCH}",
    ),
    Probe(
        "objects/record.write",
        "PUT",
        f"/objects/custom_objects.{NO_SUCH}/records/{NO_SUCH}",
        AT,
        {FOREIGN: True},
    ),
    _read("objects/schema.readonly", "/objects", **AT),
    # the catalog lists no endpoint for it; the official file gives it this one
    _located("objects/schema.write", "PUT", f"/objects/custom_objects.{NO_SUCH}"),
    _read("opportunities.readonly", "/opportunities/pipelines", **AT),
    _located("opportunities.write", "POST", "/opportunities"),
    # altType left out: refused for its query
    _read(
        "payments/integration.readonly",
        "/payments/integrations/provider/whitelabel",
        altId=LOCATION,
    ),
    _alt("payments/integration.write", "/payments/integrations/provider/whitelabel"),
    _read("payments/orders.readonly", "/payments/orders", **ALT, limit="1"),
    _alt("payments/orders.write", f"/payments/orders/{NO_SUCH}/fulfillments"),
    _read(
        "payments/subscriptions.readonly", "/payments/subscriptions", **ALT, limit="1"
    ),
    _read("payments/transactions.readonly", "/payments/transactions", **ALT, limit="1"),
    _read("products.readonly", "/products", **AT, limit="1"),
    _located("products.write", "POST", "/products"),
    _read("products/prices.readonly", f"/products/{NO_SUCH}/price", **AT, limit="1"),
    _located("products/prices.write", "POST", f"/products/{NO_SUCH}/price"),
    # locationIds, the one required field, given as an empty string: of the wrong
    # kind, and naming no location even where it were read anyway
    _refused(
        "saas/company.write",
        "POST",
        f"{_SAAS}/bulk-disable-saas/{{companyId}}",
        V2021_04,
        locationIds="",
    ),
    # companyId left out: refused for its query
    _read("saas/location.read", f"{_SAAS}/locations", V2021_04),
    _refused(
        "saas/location.write", "POST", f"{_SAAS}/enable-saas/{{locationId}}", V2021_04
    ),
    _read("socialplanner/account.readonly", _SOCIAL + "/accounts"),
    Probe("socialplanner/account.write", "DELETE", f"{_SOCIAL}/accounts/{NO_SUCH}"),
    _read("socialplanner/category.readonly", _SOCIAL + "/categories", limit="1"),
    _read("socialplanner/csv.readonly", f"{_SOCIAL}/csv/{NO_SUCH}"),
    _refused("socialplanner/csv.write", "POST", _SOCIAL + "/set-accounts"),
    _read(
        "socialplanner/oauth.readonly",
        f"/social-media-posting/oauth/{{locationId}}/facebook/accounts/{NO_SUCH}",
    ),
    _refused(
        "socialplanner/oauth.write",
        "POST",
        f"/social-media-posting/oauth/{{locationId}}/instagram/accounts/{NO_SUCH}",
    ),
    _read("socialplanner/post.readonly", f"{_SOCIAL}/posts/{NO_SUCH}"),
    _refused("socialplanner/post.write", "POST", _SOCIAL + "/posts", accountIds=[]),
    _read("socialplanner/tag.readonly", _SOCIAL + "/tags", limit="1"),
    _read("surveys.readonly", "/surveys", **AT, limit="1"),
    _read("users.readonly", "/users", **AT),
    _refused("users.write", "POST", "/users", locationIds=[]),
    _read("workflows.readonly", "/workflows", **AT),
)

_BOTH = {
    "emails/schedule.readonly",
    "locations.readonly",
    "saas/company.write",
    "saas/location.read",
    "users.write",
}
AGENCY: tuple[Probe, ...] = (
    *(p for p in SUB_ACCOUNT if p.scope in _BOTH),
    # the companyId (body) left out; it names the location it would change
    _refused("locations.write", "PUT", "/locations/{locationId}"),
    # companyId and appId left out: refused for its query
    _read("oauth.readonly", "/oauth/installedLocations"),
    _located("oauth.write", "POST", "/oauth/locationToken"),  # no companyId
    # the update of a subscription needs its ids (agency tokens only)
    _refused(
        "saas/location.write",
        "PUT",
        f"{_SAAS}/update-saas-subscription/{{locationId}}",
        V2021_04,
    ),
    _read("snapshots.readonly", "/snapshots"),  # companyId left out
    # GET /users needs a sub-account token; one user of the agency
    _read("users.readonly", f"/users/{NO_SUCH}"),
)

PROBES: Mapping[str, Probe] = {p.scope: p for p in SUB_ACCOUNT}
AGENCY_PROBES: Mapping[str, Probe] = {p.scope: p for p in AGENCY}


def probe_for(scope: str, *, agency: bool) -> Probe | None:
    """The probe of ``scope`` for a token of that level, or None when the scope does
    not exist at that level."""
    return (AGENCY_PROBES if agency else PROBES).get(scope)
