"""The reader against a small fake upstream (httpx.MockTransport): the read-path rule,
what gets read, and how upstream shapes become model objects."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from hlsync.core.model import (
    AgencySpec,
    Contact,
    CustomField,
    DesiredState,
    Integration,
    LocationSpec,
    ObservedIntegration,
    Tag,
    Target,
)
from hlsync.engine.reader import (
    ObjectRef,
    read_objects,
    read_observed,
)
from hlsync.errors import HlsyncError
from hlsync.targets.access import TargetAccess, build_access
from hlsync.targets.drivers import (
    ApiIntegrationDriver,
    IntegrationScope,
    Token,
    observed_integration,
)
from hlsync.upstream.client import ApiClient, ApiError, LocationApi, RetryPolicy
from hlsync.upstream.contact_search import read_contacts


class FakeUpstream:
    """Contacts of one or more locations, in dateAdded order, with an eq index."""

    def __init__(self) -> None:
        self.contacts: dict[str, list[dict[str, Any]]] = {}
        self.fields: dict[str, list[dict[str, Any]]] = {}
        self.tags: dict[str, list[dict[str, Any]]] = {}
        self.values: dict[str, list[dict[str, Any]]] = {}
        self.refused: set[str] = set()  # path endings answered 401 (scope)
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []
        self.with_total = True

    def add_contacts(self, location: str, count: int, **extra: Any) -> None:
        items = self.contacts.setdefault(location, [])
        start = len(items)
        for i in range(start, start + count):
            items.append(
                {
                    "id": f"{location}-c{i:06d}",
                    "locationId": location,
                    "email": f"user{i}@example.com",
                    "phone": f"+1555{i:07d}",
                    "dateAdded": f"2026-01-01T00:00:00.{i:06d}Z",
                    "tags": [],
                    "customFields": [],
                    **extra,
                }
            )

    def search_requests(self, location: str | None = None) -> list[dict[str, Any]]:
        return [
            body
            for method, path, body in self.requests
            if path == "/contacts/search"
            and body is not None
            and (location is None or body["locationId"] == location)
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        path = request.url.path
        if path == "/contacts/search":
            assert body is not None
            return self._search(body)
        location = path.split("/")[2]
        if any(path.endswith(end) for end in self.refused):
            message = "The token is not authorized for this scope."
            return httpx.Response(401, json={"statusCode": 401, "message": message})
        if path.endswith("/customFields"):
            return httpx.Response(
                200, json={"customFields": self.fields.get(location, [])}
            )
        if path.endswith("/tags"):
            return httpx.Response(200, json={"tags": self.tags.get(location, [])})
        if path.endswith("/customValues"):
            values = self.values.get(location, [])
            return httpx.Response(200, json={"customValues": values})
        return httpx.Response(404, json={"statusCode": 404, "message": "Not Found"})

    def _search(self, body: dict[str, Any]) -> httpx.Response:
        items = self.contacts.get(body["locationId"], [])
        limit = body["pageLimit"]
        assert limit <= 500
        if body.get("filters"):
            (group,) = body["filters"]
            if group.get("field") == "dateAdded":  # a step of the whole-location read
                assert group["operator"] == "range"
                items = [c for c in items if in_range(c["dateAdded"], group["value"])]
            else:
                assert group["group"] == "OR"
                wanted = {(f["field"], f["value"].casefold()) for f in group["filters"]}
                items = [
                    c
                    for c in items
                    if ("email", c["email"].casefold()) in wanted
                    or ("phone", c["phone"]) in wanted
                ]
        positions = {c["id"]: n for n, c in enumerate(items)}
        if "searchAfter" in body:
            start = positions[body["searchAfter"][-1]] + 1
        else:
            start = (body["page"] - 1) * limit
            assert body["page"] * limit <= 10_000
        page = [
            {**c, "searchAfter": [c["dateAdded"], c["id"]]}
            for c in items[start : start + limit]
        ]
        answer: dict[str, Any] = {"contacts": page}
        if self.with_total:
            answer["total"] = len(items)
        return httpx.Response(200, json=answer)


def in_range(value: str, bounds: dict[str, str]) -> bool:
    """A ``range`` filter on ISO times of one format (they sort as text)."""
    checks = {
        "gte": value >= bounds.get("gte", value),
        "gt": "gt" not in bounds or value > bounds["gt"],
        "lte": value <= bounds.get("lte", value),
        "lt": "lt" not in bounds or value < bounds["lt"],
    }
    return all(checks.values())


def desired(*locations: LocationSpec) -> DesiredState:
    return DesiredState(Target(), AgencySpec(), tuple(locations), "digest", "cfg.yaml")


def email_contacts(numbers: Sequence[int], **extra: Any) -> tuple[Contact, ...]:
    return tuple(Contact(key=f"email:user{n}@example.com", **extra) for n in numbers)


async def _run_read(
    upstream: FakeUpstream,
    spec: DesiredState,
    *,
    driver: Any = None,
    company_id: str | None = None,
    refs: Sequence[ObjectRef] | None = None,
) -> Any:
    transport = httpx.MockTransport(upstream)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.test"
    ) as http:
        api = ApiClient(http, retry=RetryPolicy(attempts=1))
        access = TargetAccess(
            locations={
                loc.name: api.location(loc.id, f"token-{loc.id}")
                for loc in spec.locations
            },
            integrations=driver,
            company_id=company_id,
        )
        if refs is None:
            return await read_observed(spec, access)
        return await read_objects(spec, access, refs)


def read(upstream: FakeUpstream, spec: DesiredState, **options: Any) -> Any:
    return asyncio.run(_run_read(upstream, spec, **options))


@pytest.mark.parametrize(
    ("declared", "total", "expected_reads"),
    [
        (0, 500, 0),  # nothing declared: nothing read
        (50, 20_000, 1),  # K = 1: one batched lookup
        (100, 0, 1),
        (2_000, 20_000, 20),  # probe + 19 stretched batches = K
        (250, 20_000, 3),  # K = 3: probe + 2 batches of up to 125
        (2_000, 3_000, 6),  # W = 6 < K = 20: the probe was page 1
        (2_000, 10_000, 20),  # W = K: whole location
        (2_500, 10_700, 22),  # W = 22 < K = 25: 20 pages, then 2 (from 9,999 on)
        (300, 1_200, 3),  # W = K = 3
    ],
)
def test_contact_reads_never_exceed_min_of_whole_and_batched(
    declared: int, total: int, expected_reads: int
) -> None:
    upstream = FakeUpstream()
    upstream.add_contacts("L1", total)
    # half the declared keys exist upstream (spread over the location), half do not
    numbers = [(n * 7) % total for n in range(declared // 2 if total else 0)]
    numbers += [total + 1 + n for n in range(declared - len(numbers))]
    numbers = sorted(set(numbers))
    assert len(numbers) == declared
    spec = LocationSpec(name="main", id="L1", contacts=email_contacts(numbers))
    observed = read(upstream, desired(spec))
    reads = upstream.search_requests()
    whole = math.ceil(total / 500)
    batched = math.ceil(declared / 100)
    assert len(reads) == expected_reads
    if declared:
        assert len(reads) <= max(min(whole, batched), 1)
    existing = {f"email:user{n}@example.com" for n in numbers if n < total}
    assert set(observed.locations["main"].contacts) == existing
    # besides the searches, one list each of fields, tags and values (what is there
    # and not declared is listed as unmanaged)
    assert len(upstream.requests) == len(reads) + 3
    for body in reads:
        for group in body.get("filters", []):
            assert "group" not in group or len(group["filters"]) <= 2 * 100


def test_must_show_shape_2000_of_20000_plus_field_and_tag_lists() -> None:
    upstream = FakeUpstream()
    upstream.add_contacts("L1", 20_000)
    spec = LocationSpec(
        name="main",
        id="L1",
        custom_fields=(CustomField("pincode", "Pincode", "TEXT"),),
        tags=(Tag("vip"),),
        contacts=email_contacts(range(0, 20_000, 10)),
    )
    observed = read(upstream, desired(spec))
    assert len(observed.locations["main"].contacts) == 2_000
    # probe + 19 batches, plus the custom field, tag and custom value lists
    assert len(upstream.requests) == min(40, 20) + 3


def test_contact_shape_custom_fields_phone_keys_and_duplicates() -> None:
    upstream = FakeUpstream()
    upstream.fields["L1"] = [
        {
            "id": "f1",
            "name": "Pincode",
            "fieldKey": "contact.pincode",
            "dataType": "TEXT",
        },
        {
            "id": "f2",
            "name": "Colour",
            "fieldKey": "contact.colour",
            "dataType": "SINGLE_OPTIONS",
            "picklistOptions": ["red", "blue"],
            "placeholder": "pick",
        },
        {
            "id": "f3",
            "name": "Deal",
            "fieldKey": "opportunity.deal",
            "model": "opportunity",
        },
    ]
    upstream.contacts["L1"] = [
        {
            "id": "a1",
            "email": "Ann@Example.com",
            "phone": "+15550000001",
            "firstNameLowerCase": "ann",
            "dateAdded": "2026-01-01T00:00:00.000Z",
            "tags": ["vip", "new"],
            "customFields": [{"id": "f1", "value": "560001"}, {"id": "zz", "value": 1}],
        },
        {
            "id": "a0",
            "email": "ann@example.com",
            "phone": None,
            "dateAdded": "2026-02-01T00:00:00.000Z",
            "tags": [],
            "customFields": [],
        },
        {
            "id": "b1",
            "email": "bob@example.com",
            "phone": "+15550000002",
            "dateAdded": "2026-01-02T00:00:00.000Z",
        },
    ]
    spec = LocationSpec(
        name="main",
        id="L1",
        custom_fields=(CustomField("pincode", "Pincode", "TEXT"),),
        contacts=(
            Contact(key="email:ann@example.com", custom_fields={"pincode": "1"}),
            Contact(key="phone:+15550000002"),  # bob, declared by phone only
            Contact(key="email:nobody@example.com"),
        ),
    )
    loc = read(upstream, desired(spec)).locations["main"]
    assert set(loc.contacts) == {"email:ann@example.com", "phone:+15550000002"}
    ann = loc.contacts["email:ann@example.com"]
    assert ann.id == "a1"  # the earliest added of the two duplicates
    assert ann.tags == ("vip", "new")
    assert ann.custom_fields == {"pincode": "560001"}
    assert ann.fields["email"] == "Ann@Example.com"
    # only the declared fields (none here but the key's) are kept: memory follows the
    # config, not upstream's contact shape
    assert "firstNameLowerCase" not in ann.fields
    assert not {"id", "tags", "customFields", "searchAfter", "dateAdded"} & set(
        ann.fields
    )
    assert loc.contacts["phone:+15550000002"].id == "b1"
    assert set(loc.custom_fields) == {"pincode", "colour"}
    colour = loc.custom_fields["colour"]
    assert (colour.id, colour.data_type, colour.options, colour.placeholder) == (
        "f2",
        "SINGLE_OPTIONS",
        ("red", "blue"),
        "pick",
    )
    lookup = upstream.search_requests()[0]["filters"][0]["filters"]
    assert {"field": "phone", "operator": "eq", "value": "+15550000002"} in lookup
    assert {"field": "email", "operator": "eq", "value": "ann@example.com"} in lookup


def test_overlong_key_forces_whole_location_path() -> None:
    upstream = FakeUpstream()
    upstream.add_contacts("L1", 700)
    long_email = "x" * 80 + "@example.com"
    upstream.contacts["L1"][3]["email"] = long_email
    spec = LocationSpec(
        name="main",
        id="L1",
        contacts=(Contact(key="email:" + long_email), *email_contacts([1])),
    )
    loc = read(upstream, desired(spec)).locations["main"]
    assert set(loc.contacts) == {"email:" + long_email, "email:user1@example.com"}
    assert all("filters" not in b for b in upstream.search_requests())
    assert len(upstream.search_requests()) == 2


def test_locations_are_read_concurrently_each_list_once() -> None:
    upstream = FakeUpstream()
    upstream.add_contacts("L1", 10)
    upstream.add_contacts("L2", 10)
    upstream.tags["L2"] = [{"id": "t1", "name": "vip", "locationId": "L2"}]
    spec = desired(
        LocationSpec(name="one", id="L1", contacts=email_contacts([1])),
        LocationSpec(name="two", id="L2", tags=(Tag("vip"),)),
    )
    observed = read(upstream, spec)
    assert set(observed.locations) == {"one", "two"}
    assert observed.locations["two"].tags["vip"].id == "t1"
    assert observed.locations["one"].tags == {}
    paths = sorted(path for _, path, _ in upstream.requests)
    lists = ("/customFields", "/customValues", "/tags")
    assert paths == sorted(
        ["/contacts/search"]
        + [f"/locations/{i}{n}" for i in ("L1", "L2") for n in lists]
    )


def test_missing_location_access_is_an_hlsync_error() -> None:
    async def main() -> None:
        async with httpx.AsyncClient(base_url="http://api.test") as http:
            api = ApiClient(http)
            spec = desired(LocationSpec(name="main", id="L1"))
            await read_observed(
                spec, TargetAccess(locations={"other": api.location("L9", "t")})
            )

    with pytest.raises(
        HlsyncError, match="no API access configured for location 'main'"
    ):
        asyncio.run(main())


class FakeDriver:
    """An in-memory IntegrationDriver, to prove the reader uses the protocol."""

    def __init__(self) -> None:
        self.by_scope: dict[IntegrationScope, dict[str, ObservedIntegration]] = {}
        self.listed: list[IntegrationScope] = []

    async def list(self, scope: IntegrationScope) -> dict[str, ObservedIntegration]:
        self.listed.append(scope)
        return dict(self.by_scope.get(scope, {}))

    async def create(
        self,
        scope: IntegrationScope,
        name: str,
        description: str,
        scopes: Sequence[str],
    ) -> tuple[ObservedIntegration, Token]:
        raise AssertionError("the reader never writes")

    async def update(
        self,
        scope: IntegrationScope,
        integration_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        scopes: Sequence[str] | None = None,
    ) -> ObservedIntegration:
        raise AssertionError("the reader never writes")

    async def delete(self, scope: IntegrationScope, integration_id: str) -> None:
        raise AssertionError("the reader never writes")

    async def rotate(
        self, scope: IntegrationScope, integration_id: str, mode: Any
    ) -> tuple[ObservedIntegration, Token]:
        raise AssertionError("the reader never writes")

    async def cancel_rotation(
        self, scope: IntegrationScope, integration_id: str
    ) -> ObservedIntegration:
        raise AssertionError("the reader never writes")

    async def expire_old(
        self, scope: IntegrationScope, integration_id: str
    ) -> ObservedIntegration:
        raise AssertionError("the reader never writes")


def test_integrations_come_from_the_driver() -> None:
    driver = FakeDriver()
    ci = ObservedIntegration("i1", "ci", "", ("contacts.readonly",))
    bot = ObservedIntegration("i2", "bot", "", ("contacts.write",))
    driver.by_scope[IntegrationScope.agency("C1")] = {"ci": ci}
    driver.by_scope[IntegrationScope.location("L1")] = {"bot": bot}
    upstream = FakeUpstream()
    observed = read(
        upstream,
        desired(LocationSpec(name="main", id="L1")),
        driver=driver,
        company_id="C1",
    )
    assert observed.agency_integrations == {"ci": ci}
    assert observed.locations["main"].integrations == {"bot": bot}
    # integrations never through the upstream API; its requests are the lists that
    # name unmanaged fields, tags and values
    assert sorted(path for _, path, _ in upstream.requests) == [
        "/locations/L1/customFields",
        "/locations/L1/customValues",
        "/locations/L1/tags",
    ]


def test_read_objects_rereads_only_the_named_objects() -> None:
    upstream = FakeUpstream()
    upstream.add_contacts("L1", 2_000)
    upstream.fields["L1"] = [
        {"id": "f1", "name": "Pin", "fieldKey": "contact.pincode", "dataType": "TEXT"},
        {"id": "f2", "name": "Other", "fieldKey": "contact.other", "dataType": "TEXT"},
    ]
    upstream.tags["L1"] = [{"id": "t1", "name": "vip"}, {"id": "t2", "name": "old"}]
    driver = FakeDriver()
    bot = ObservedIntegration("i2", "bot", "", ())
    driver.by_scope[IntegrationScope.location("L1")] = {
        "bot": bot,
        "other": ObservedIntegration("i3", "other", "", ()),
    }
    spec = desired(
        LocationSpec(name="main", id="L1", contacts=email_contacts(range(1_000)))
    )
    refs = [
        ObjectRef("contact", "main", "email:user5@example.com"),
        ObjectRef("contact", "main", "email:gone@example.com"),
        ObjectRef("custom_field", "main", "pincode"),
        ObjectRef("tag", "main", "VIP"),  # tags compare without case
        ObjectRef("integration", "main", "bot"),
    ]
    loc = read(upstream, spec, driver=driver, refs=refs).locations["main"]
    assert set(loc.contacts) == {"email:user5@example.com"}
    assert set(loc.custom_fields) == {"pincode"}
    assert set(loc.tags) == {"vip"}
    assert loc.integrations == {"bot": bot}
    searches = upstream.search_requests()
    assert len(searches) == 1 and len(searches[0]["filters"][0]["filters"]) == 2


def test_read_objects_rejects_an_unknown_location() -> None:
    with pytest.raises(HlsyncError, match="location 'nowhere'"):
        read(FakeUpstream(), desired(), refs=[ObjectRef("tag", "nowhere", "vip")])


def test_read_contacts_directly_with_a_small_batch() -> None:
    upstream = FakeUpstream()
    upstream.add_contacts("L1", 30)

    async def main() -> dict[str, Any]:
        transport = httpx.MockTransport(upstream)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            loc = ApiClient(http).location("L1", "tok")
            keys = [f"phone:+1555{n:07d}" for n in range(10)]
            return await read_contacts(loc, keys, batch_size=5)

    found = asyncio.run(main())
    assert len(found) == 10
    # K = 2: a probe (T = 30 -> W = 1 <= K) and nothing more
    assert len(upstream.search_requests()) == 1


def test_token_value_is_hidden_and_admin_json_maps_to_the_model() -> None:
    token = Token("pit-secret")
    assert "secret" not in repr(token) and "secret" not in f"{token}"
    assert "secret" not in str((token,)) and token.reveal() == "pit-secret"
    integration = observed_integration(
        {
            "id": "i1",
            "name": "bot",
            "description": None,
            "scopes": ["b.write", "a.readonly"],
            "createdAt": "2026-01-01T00:00:00.000Z",
            "rotatedAt": "2026-02-01T00:00:00.000Z",
            "tokens": [
                {"id": "t2", "createdAt": "x", "expiresAt": None},
                {"id": "t1", "createdAt": "y", "expiresAt": "2026-02-08T00:00:00.000Z"},
            ],
        }
    )
    assert integration == ObservedIntegration(
        "i1",
        "bot",
        "",
        ("a.readonly", "b.write"),
        "2026-01-01T00:00:00.000Z",
        "2026-02-01T00:00:00.000Z",
        "2026-02-08T00:00:00.000Z",
    )


def test_build_access_names_every_location_without_a_token() -> None:
    from hlsync.errors import Location

    spec = desired(
        LocationSpec(name="one", id="L1", source=Location("cfg.yaml", 3, 3)),
        LocationSpec(name="two", id="L2", source=Location("cfg.yaml", 9, 3)),
        LocationSpec(name="three", id="L3"),
    )

    async def main() -> None:
        async with httpx.AsyncClient(base_url="http://api.test") as http:
            api = ApiClient(http)
            access = build_access(api, spec, {"one": "t1", "two": "t2", "three": "t3"})
            two = access.locations["two"]
            assert isinstance(two, LocationApi) and two.location_id == "L2"
            with pytest.raises(HlsyncError) as caught:
                build_access(api, spec, {"one": "t1"})
            text = str(caught.value)
            assert "cfg.yaml:9:3: no token for location 'two' (L2)" in text
            assert "no token for location 'three' (L3)" in text

    asyncio.run(main())


def test_without_total_the_whole_location_is_paged_until_a_short_page() -> None:
    upstream = FakeUpstream()
    upstream.with_total = False
    upstream.add_contacts("L1", 10_600)
    spec = LocationSpec(
        name="main",
        id="L1",
        contacts=email_contacts([3, 10_599, *range(20_000, 20_200)]),
    )
    loc = read(upstream, desired(spec)).locations["main"]
    assert set(loc.contacts) == {
        "email:user3@example.com",
        "email:user10599@example.com",
    }
    searches = upstream.search_requests()
    # no total: the rule cannot compare, so it reads the location: 20 pages + 2 cursors
    assert [("searchAfter" in b) for b in searches] == [False] * 20 + [True] * 2


def _driver_answer(payload: Any) -> Any:
    async def main() -> Any:
        transport = httpx.MockTransport(
            lambda request: httpx.Response(200, json=payload)
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as http:
            driver = ApiIntegrationDriver(
                ApiClient(http, retry=RetryPolicy(attempts=1))
            )
            return await driver.list(IntegrationScope.location("L1"))

    return asyncio.run(main())


def test_api_driver_keeps_the_newest_of_duplicates_and_rejects_malformed_answers() -> (
    None
):
    item = {"id": "i1", "name": "bot", "scopes": [], "level": "sub-account"}
    old = {**item, "createdAt": "2026-01-01T00:00:00Z"}
    new = {**item, "id": "i2", "createdAt": "2026-02-01T00:00:00Z"}
    for order in ([old, new], [new, old]):
        found = _driver_answer({"integrations": order})
        assert {k: v.id for k, v in found.items()} == {"bot": "i2", "bot#i1": "i1"}
    with pytest.raises(ApiError, match="no 'integrations' list"):
        _driver_answer({"items": []})
    assert set(_driver_answer({"integrations": [item]})) == {"bot"}


def test_a_list_the_token_may_not_read_is_noted_unless_the_plan_needs_it() -> None:
    upstream = FakeUpstream()
    upstream.refused = {"/customValues"}
    loc = read(upstream, desired(LocationSpec(name="main", id="L1")))
    observed = loc.locations["main"]
    assert observed.custom_values == {}
    assert observed.unlisted == {
        "custom_value": "the token was refused (401); it needs "
        "locations/customValues.readonly"
    }
    spec = LocationSpec(name="main", id="L1", manage={"custom_value": "exclusive"})
    with pytest.raises(ApiError, match="401"):
        read(upstream, desired(spec))


def test_the_seeding_integration_is_not_asked_for_a_list_it_may_not_read() -> None:
    upstream = FakeUpstream()
    bot = Integration("bot", scopes=("contacts.readonly", "contacts.write"))
    spec = LocationSpec(
        name="main", id="L1", integrations=(bot,), auth_integration="bot"
    )
    observed = read(upstream, desired(spec)).locations["main"]
    assert upstream.requests == []  # bot may read none of the lists
    assert observed.unlisted == {}  # the config chose so: nothing to report


def test_the_contact_total_comes_free_with_the_whole_location_probe() -> None:
    upstream = FakeUpstream()
    upstream.add_contacts("L1", 2_000)
    many = LocationSpec(name="main", id="L1", contacts=email_contacts(range(250)))
    assert read(upstream, desired(many)).locations["main"].totals == {"contact": 2_000}
    few = LocationSpec(name="main", id="L1", contacts=email_contacts(range(5)))
    assert read(upstream, desired(few)).locations["main"].totals == {}


def test_exclusive_contacts_read_every_contact_by_its_key() -> None:
    upstream = FakeUpstream()
    upstream.add_contacts("L1", 1_200)
    upstream.contacts["L1"][7]["email"] = ""  # keyed by its phone instead
    spec = LocationSpec(
        name="main",
        id="L1",
        contacts=email_contacts([1]),
        manage={"contact": "exclusive"},
    )
    observed = read(upstream, desired(spec)).locations["main"]
    assert len(observed.contacts) == 1_200
    assert "phone:+15550000007" in observed.contacts
    assert observed.totals == {"contact": 1_200}
    assert len(upstream.search_requests()) == 3  # pages of 500: no lookups
