"""Location operations (location, search, tags, custom fields, custom values):
responses validate against the declared schemas; every served operation is covered."""

from __future__ import annotations

import pytest

from tests.contract.cases import (
    CF,
    CFI,
    CV,
    CVI,
    LT,
    LTI,
    Case,
    check,
)
from tests.contract.conftest import World
from tests.contract.openapi import LOCATIONS
from tests.contract.test_contact_responses import CONTACT_CASES

LOCATION_CASES: dict[str, Case] = {
    "location-200": Case(
        LOCATIONS,
        "/locations/{locationId}",
        "GET",
        200,
        "/locations/{loc}",
        strict=True,
    ),
    "location-200-agency": Case(
        LOCATIONS,
        "/locations/{locationId}",
        "GET",
        200,
        "/locations/{loc}",
        token="agency",
        strict=True,
    ),
    "location-401": Case(
        LOCATIONS,
        "/locations/{locationId}",
        "GET",
        401,
        "/locations/{loc}",
        token="bare",
    ),
    "location-403": Case(
        LOCATIONS,
        "/locations/{locationId}",
        "GET",
        403,
        "/locations/{other}",
        documented="forbidden",
    ),
    "locations-200": Case(
        LOCATIONS,
        "/locations/search",
        "GET",
        200,
        "/locations/search",
        token="agency",
        strict=True,
    ),
    "locations-401": Case(
        LOCATIONS, "/locations/search", "GET", 401, "/locations/search", token="bare"
    ),
    "locations-422": Case(
        LOCATIONS,
        "/locations/search",
        "GET",
        422,
        "/locations/search",
        token="agency",
        params={"order": "up"},
    ),
    "tags-200": Case(LOCATIONS, LT, "GET", 200, "/locations/{loc}/tags", strict=True),
    "tags-401": Case(
        LOCATIONS, LT, "GET", 401, "/locations/{loc}/tags", token="readonly"
    ),
    "tag-create-200": Case(
        LOCATIONS,
        LT,
        "POST",
        200,
        "/locations/{loc}/tags",
        {"name": "new"},
        strict=True,
    ),
    "tag-create-400": Case(
        LOCATIONS, LT, "POST", 400, "/locations/{loc}/tags", {"name": "WORLD"}
    ),
    "tag-create-422": Case(
        LOCATIONS, LT, "POST", 422, "/locations/{loc}/tags", {"title": "x"}
    ),
    "tag-get-200": Case(
        LOCATIONS, LTI, "GET", 200, "/locations/{loc}/tags/{tag}", strict=True
    ),
    "tag-get-400": Case(LOCATIONS, LTI, "GET", 400, "/locations/{loc}/tags/{missing}"),
    "tag-put-200": Case(
        LOCATIONS,
        LTI,
        "PUT",
        200,
        "/locations/{loc}/tags/{tag}",
        {"name": "renamed"},
        strict=True,
    ),
    "tag-put-400": Case(
        LOCATIONS, LTI, "PUT", 400, "/locations/{loc}/tags/{missing}", {"name": "n"}
    ),
    "tag-put-422": Case(
        LOCATIONS, LTI, "PUT", 422, "/locations/{loc}/tags/{tag}", {"name": 5}
    ),
    "tag-delete-200": Case(
        LOCATIONS, LTI, "DELETE", 200, "/locations/{loc}/tags/{tag}", strict=True
    ),
    "tag-delete-401": Case(
        LOCATIONS, LTI, "DELETE", 401, "/locations/{loc}/tags/{tag}", token="readonly"
    ),
    "fields-200": Case(
        LOCATIONS, CF, "GET", 200, "/locations/{loc}/customFields", strict=True
    ),
    "fields-401": Case(
        LOCATIONS, CF, "GET", 401, "/locations/{loc}/customFields", token="bare"
    ),
    "fields-422": Case(
        LOCATIONS,
        CF,
        "GET",
        422,
        "/locations/{loc}/customFields",
        params={"model": "deal"},
    ),
    "field-create-201": Case(
        LOCATIONS,
        CF,
        "POST",
        201,
        "/locations/{loc}/customFields",
        {"name": "Size", "dataType": "NUMERICAL", "placeholder": "42"},
        strict=True,
    ),
    "field-create-400": Case(
        LOCATIONS,
        CF,
        "POST",
        400,
        "/locations/{loc}/customFields",
        {"name": "nick", "dataType": "TEXT"},
    ),
    "field-create-401": Case(
        LOCATIONS,
        CF,
        "POST",
        401,
        "/locations/{loc}/customFields",
        {"name": "S", "dataType": "TEXT"},
        token="readonly",
    ),
    "field-create-422": Case(
        LOCATIONS, CF, "POST", 422, "/locations/{loc}/customFields", {"name": "S"}
    ),
    "field-get-200": Case(
        LOCATIONS, CFI, "GET", 200, "/locations/{loc}/customFields/{field}", strict=True
    ),
    "field-get-key-200": Case(
        LOCATIONS,
        CFI,
        "GET",
        200,
        "/locations/{loc}/customFields/contact.nick",
        strict=True,
    ),
    "field-get-400": Case(
        LOCATIONS, CFI, "GET", 400, "/locations/{loc}/customFields/{missing}"
    ),
    "field-put-200": Case(
        LOCATIONS,
        CFI,
        "PUT",
        200,
        "/locations/{loc}/customFields/{field}",
        {"name": "Nickname"},
        strict=True,
    ),
    "field-put-422": Case(
        LOCATIONS,
        CFI,
        "PUT",
        422,
        "/locations/{loc}/customFields/{field}",
        {"name": "N", "dataType": "TEXT"},
    ),
    "field-delete-200": Case(
        LOCATIONS,
        CFI,
        "DELETE",
        200,
        "/locations/{loc}/customFields/{field}",
        strict=True,
    ),
    "field-delete-400": Case(
        LOCATIONS, CFI, "DELETE", 400, "/locations/{loc}/customFields/{missing}"
    ),
    "values-200": Case(
        LOCATIONS, CV, "GET", 200, "/locations/{loc}/customValues", strict=True
    ),
    "values-401": Case(
        LOCATIONS, CV, "GET", 401, "/locations/{loc}/customValues", token="readonly"
    ),
    "value-create-201": Case(
        LOCATIONS,
        CV,
        "POST",
        201,
        "/locations/{loc}/customValues",
        {"name": "Brand", "value": "Acme"},
        strict=True,
    ),
    "value-put-422": Case(
        LOCATIONS,
        CVI,
        "PUT",
        422,
        "/locations/{loc}/customValues/{value}",
        {"value": "2"},
    ),
    "value-create-422": Case(
        LOCATIONS, CV, "POST", 422, "/locations/{loc}/customValues", {"name": "Brand"}
    ),
    "value-get-200": Case(
        LOCATIONS, CVI, "GET", 200, "/locations/{loc}/customValues/{value}", strict=True
    ),
    "value-get-400": Case(
        LOCATIONS, CVI, "GET", 400, "/locations/{loc}/customValues/{missing}"
    ),
    "value-put-200": Case(
        LOCATIONS,
        CVI,
        "PUT",
        200,
        "/locations/{loc}/customValues/{value}",
        {"name": "W", "value": "2"},
        strict=True,
    ),
    "value-delete-200": Case(
        LOCATIONS,
        CVI,
        "DELETE",
        200,
        "/locations/{loc}/customValues/{value}",
        strict=True,
    ),
    "value-delete-400": Case(
        LOCATIONS, CVI, "DELETE", 400, "/locations/{loc}/customValues/{missing}"
    ),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(LOCATION_CASES))
def test_location_response_matches_declared_schema(world: World, name: str) -> None:
    check(world, LOCATION_CASES[name])


def test_every_served_operation_is_covered() -> None:
    """Each (method, path) the emulator serves has a success and an error case here."""
    from hlsync.emulator.upstream import upstream_routes

    served = set()
    for route in upstream_routes():
        path = getattr(route, "path", "")
        for method in getattr(route, "methods", ()) or ():
            if method != "HEAD":
                served.add((method, path.rstrip("/") or "/"))
    covered: dict[tuple[str, str], set[int]] = {}
    for case in [*CONTACT_CASES.values(), *LOCATION_CASES.values()]:
        key = (case.method, case.path.rstrip("/") or "/")
        covered.setdefault(key, set()).add(case.status)
    missing = [
        key
        for key in sorted(served)
        if not any(s < 300 for s in covered.get(key, ()))
        or not any(s >= 400 for s in covered.get(key, ()))
    ]
    assert missing == []
