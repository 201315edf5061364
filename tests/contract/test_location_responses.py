"""Location operations (location, search, tags, custom fields, custom values):
responses validate against the declared schemas; every served operation is covered."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.cases import (
    CF,
    CFI,
    CV,
    CVI,
    LOC,
    LOCS,
    LT,
    LTI,
    Case,
    case,
    check,
)
from tests.contract.conftest import World
from tests.contract.openapi import LOCATIONS
from tests.contract.test_contact_responses import CONTACT_CASES
from tests.contract.test_read_responses import READ_CASES


def _case(path: str, method: str, status: int, **options: Any) -> Case:
    """A case of the locations spec (see :func:`~tests.contract.cases.case`)."""
    return case(LOCATIONS, path, method, status, **options)


LOCATION_CASES: dict[str, Case] = {
    "location-200": _case(LOC, "GET", 200, strict=True),
    "location-200-agency": _case(LOC, "GET", 200, token="agency", strict=True),
    "location-401": _case(LOC, "GET", 401, token="bare"),
    "location-403": _case(
        LOC, "GET", 403, url="/locations/{other}", documented="forbidden"
    ),
    "locations-200": _case(LOCS, "GET", 200, token="agency", strict=True),
    "locations-401": _case(LOCS, "GET", 401, token="bare"),
    "locations-422": _case(LOCS, "GET", 422, token="agency", params={"order": "up"}),
    "tags-200": _case(LT, "GET", 200, strict=True),
    "tags-401": _case(LT, "GET", 401, token="readonly"),
    "tag-create-200": _case(LT, "POST", 200, body={"name": "new"}, strict=True),
    "tag-create-400": _case(LT, "POST", 400, body={"name": "WORLD"}),
    "tag-create-422": _case(LT, "POST", 422, body={"title": "x"}),
    "tag-get-200": _case(LTI, "GET", 200, strict=True),
    "tag-get-400": _case(LTI, "GET", 400, url="/locations/{loc}/tags/{missing}"),
    "tag-put-200": _case(LTI, "PUT", 200, body={"name": "renamed"}, strict=True),
    "tag-put-400": _case(
        LTI, "PUT", 400, url="/locations/{loc}/tags/{missing}", body={"name": "n"}
    ),
    "tag-put-422": _case(LTI, "PUT", 422, body={"name": 5}),
    "tag-delete-200": _case(LTI, "DELETE", 200, strict=True),
    "tag-delete-401": _case(LTI, "DELETE", 401, token="readonly"),
    "fields-200": _case(CF, "GET", 200, strict=True),
    "fields-401": _case(CF, "GET", 401, token="bare"),
    "fields-422": _case(CF, "GET", 422, params={"model": "deal"}),
    "field-create-201": _case(
        CF,
        "POST",
        201,
        body={"name": "Size", "dataType": "NUMERICAL", "placeholder": "42"},
        strict=True,
    ),
    "field-create-400": _case(
        CF, "POST", 400, body={"name": "nick", "dataType": "TEXT"}
    ),
    "field-create-401": _case(
        CF, "POST", 401, body={"name": "S", "dataType": "TEXT"}, token="readonly"
    ),
    "field-create-422": _case(CF, "POST", 422, body={"name": "S"}),
    "field-get-200": _case(CFI, "GET", 200, strict=True),
    "field-get-key-200": _case(
        CFI, "GET", 200, url="/locations/{loc}/customFields/contact.nick", strict=True
    ),
    "field-get-400": _case(
        CFI, "GET", 400, url="/locations/{loc}/customFields/{missing}"
    ),
    "field-put-200": _case(CFI, "PUT", 200, body={"name": "Nickname"}, strict=True),
    "field-put-422": _case(CFI, "PUT", 422, body={"name": "N", "dataType": "TEXT"}),
    "field-delete-200": _case(CFI, "DELETE", 200, strict=True),
    "field-delete-400": _case(
        CFI, "DELETE", 400, url="/locations/{loc}/customFields/{missing}"
    ),
    "values-200": _case(CV, "GET", 200, strict=True),
    "values-401": _case(CV, "GET", 401, token="readonly"),
    "value-create-201": _case(
        CV, "POST", 201, body={"name": "Brand", "value": "Acme"}, strict=True
    ),
    "value-put-422": _case(CVI, "PUT", 422, body={"value": "2"}),
    "value-create-422": _case(CV, "POST", 422, body={"name": "Brand"}),
    "value-get-200": _case(CVI, "GET", 200, strict=True),
    "value-get-400": _case(
        CVI, "GET", 400, url="/locations/{loc}/customValues/{missing}"
    ),
    "value-put-200": _case(
        CVI, "PUT", 200, body={"name": "W", "value": "2"}, strict=True
    ),
    "value-delete-200": _case(CVI, "DELETE", 200, strict=True),
    "value-delete-400": _case(
        CVI, "DELETE", 400, url="/locations/{loc}/customValues/{missing}"
    ),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(LOCATION_CASES))
def test_location_response_matches_declared_schema(world: World, name: str) -> None:
    check(world, LOCATION_CASES[name])


def test_every_served_operation_is_covered() -> None:
    """Each (method, path) a resource module serves has a success and an error case
    here (the scope gate's endpoints have theirs in tests/unit/test_scope_gate.py)."""
    from hlsync.emulator.app import RESOURCES

    served = set()
    for route in (route for resource in RESOURCES for route in resource()):
        path = getattr(route, "path", "")
        for method in getattr(route, "methods", ()) or ():
            if method != "HEAD":
                served.add((method, path.rstrip("/") or "/"))
    covered: dict[tuple[str, str], set[int]] = {}
    cases = [*CONTACT_CASES.values(), *LOCATION_CASES.values(), *READ_CASES.values()]
    for each in cases:
        key = (each.method, each.path.rstrip("/") or "/")
        covered.setdefault(key, set()).add(each.status)
    missing = [
        key
        for key in sorted(served)
        if not any(s < 300 for s in covered.get(key, ()))
        or not any(s >= 400 for s in covered.get(key, ()))
    ]
    assert missing == []
