"""Every upstream operation the emulator serves: success and error responses validate
against the response schema the official OpenAPI file declares for that status.

``strict`` cases also forbid fields the schema does not declare (so e.g. the v2 create
response cannot grow ``name``/``timezone``). Where the spec declares no schema (search,
duplicate search, 403) the shape reference §3/§5.6 documents is used instead
(``DOCUMENTED`` below). Known spec defects, each handled in the open:

- ``UpdateTagsResponseDTO.responses`` is typed ``array<string>`` while its example (and
  upstream) hold objects: the items schema is replaced by the example's object shape.
- ``ContactsSearchSchema`` (``GET /contacts/``) lists fewer fields than upstream returns,
  so that case is not strict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.contract import openapi
from tests.contract.conftest import World
from tests.contract.openapi import CONTACTS, CONTACTS_V3, LOCATIONS

ERROR = {
    "type": "object",
    "required": ["statusCode", "message"],
    "properties": {"statusCode": {"type": "number"}, "message": {"type": "string"}},
}
UNPROCESSABLE = {
    "type": "object",
    "required": ["statusCode", "message", "error"],
    "properties": {
        "statusCode": {"const": 422},
        "message": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "error": {"const": "Unprocessable Entity"},
    },
}
DOCUMENTED: dict[str, dict[str, Any]] = {
    "search": {
        "type": "object",
        "required": ["contacts", "total", "traceId"],
        "additionalProperties": False,
        "properties": {
            "contacts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "locationId", "searchAfter"],
                    "properties": {
                        "id": {"type": "string"},
                        "searchAfter": {"type": "array", "minItems": 2},
                        "customFields": {"type": "array"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "total": {"type": "integer"},
            "traceId": {"type": "string"},
        },
    },
    "duplicate": {
        "type": "object",
        "required": ["contact"],
        "additionalProperties": False,
        "properties": {"contact": {"type": ["object", "null"]}},
    },
    "error": ERROR,
    "forbidden": {
        **ERROR,
        "properties": {
            "statusCode": {"const": 403},
            "message": {"const": "The token does not have access to this location"},
        },
    },
}
BULK_ITEM = {
    "type": "object",
    "required": ["contactId", "message", "type"],
    "additionalProperties": False,
    "properties": {
        "contactId": {"type": "string"},
        "message": {"type": "string"},
        "type": {"enum": ["success", "error"]},
        "oldTags": {"type": "array", "items": {"type": "string"}},
        "tagsAdded": {"type": "array", "items": {"type": "string"}},
        "tagsRemoved": {"type": "array", "items": {"type": "string"}},
    },
}


@dataclass(frozen=True, slots=True)
class Case:
    spec: str
    path: str
    method: str
    status: int
    url: str
    body: Any = None
    token: str = "full"
    strict: bool = False
    documented: str | None = None
    raw: str | None = None
    params: dict[str, str] | None = None

    @property
    def version(self) -> str:
        return "v3" if self.spec == CONTACTS_V3 else "2021-07-28"


A = "lochlsyncAlpha000001"
NEW = {
    "locationId": A,
    "firstName": "Ada",
    "lastName": "Byron",
    "email": "Ada@X.io",
    "phone": "+1 888-555-0101",
    "tags": ["one", "two"],
    "dateOfBirth": "1990-09-25",
    "customFields": [{"id": "{field}", "field_value": "Addy"}],
}
C, CID, CT = "/contacts/", "/contacts/{contactId}", "/contacts/{contactId}/tags"
BULK = "/contacts/bulk/tags/update/{type}"
LT, LTI = "/locations/{locationId}/tags", "/locations/{locationId}/tags/{tagId}"
CF, CFI = (
    "/locations/{locationId}/customFields",
    "/locations/{locationId}/customFields/{id}",
)
CV, CVI = (
    "/locations/{locationId}/customValues",
    "/locations/{locationId}/customValues/{id}",
)

CASES: dict[str, Case] = {
    "create-201": Case(CONTACTS, C, "POST", 201, "/contacts/", NEW, strict=True),
    "create-400": Case(
        CONTACTS, C, "POST", 400, "/contacts/", {"locationId": A, "email": "WORLD@x.io"}
    ),
    "create-401": Case(CONTACTS, C, "POST", 401, "/contacts/", NEW, token="readonly"),
    "create-401-agency": Case(
        CONTACTS, C, "POST", 401, "/contacts/", NEW, token="agency"
    ),
    "create-422": Case(
        CONTACTS,
        C,
        "POST",
        422,
        "/contacts/",
        {"locationId": A, "additionalEmails": []},
    ),
    "get-200": Case(CONTACTS, CID, "GET", 200, "/contacts/{contact}", strict=True),
    "get-400": Case(CONTACTS, CID, "GET", 400, "/contacts/{missing}"),
    "get-401": Case(CONTACTS, CID, "GET", 401, "/contacts/{contact}", token="bare"),
    "update-200": Case(
        CONTACTS,
        CID,
        "PUT",
        200,
        "/contacts/{contact}",
        {"lastName": "Z", "tags": ["x"]},
        strict=True,
    ),
    "update-400": Case(
        CONTACTS, CID, "PUT", 400, "/contacts/{missing}", {"lastName": "Z"}
    ),
    "update-401": Case(
        CONTACTS,
        CID,
        "PUT",
        401,
        "/contacts/{contact}",
        {"lastName": "Z"},
        token="readonly",
    ),
    "update-422": Case(
        CONTACTS, CID, "PUT", 422, "/contacts/{contact}", {"locationId": A}
    ),
    "delete-200": Case(CONTACTS, CID, "DELETE", 200, "/contacts/{spare}", strict=True),
    "delete-400": Case(CONTACTS, CID, "DELETE", 400, "/contacts/{missing}"),
    "delete-401": Case(
        CONTACTS, CID, "DELETE", 401, "/contacts/{spare}", token="readonly"
    ),
    "upsert-200": Case(
        CONTACTS, "/contacts/upsert", "POST", 200, "/contacts/upsert", NEW, strict=True
    ),
    "upsert-400": Case(
        CONTACTS, "/contacts/upsert", "POST", 400, "/contacts/upsert", raw="{"
    ),
    "upsert-401": Case(
        CONTACTS,
        "/contacts/upsert",
        "POST",
        401,
        "/contacts/upsert",
        NEW,
        token="readonly",
    ),
    "upsert-422": Case(
        CONTACTS,
        "/contacts/upsert",
        "POST",
        422,
        "/contacts/upsert",
        {"email": "a@b.io"},
    ),
    "search-200": Case(
        CONTACTS,
        "/contacts/search",
        "POST",
        200,
        "/contacts/search",
        {"locationId": A, "pageLimit": 5},
        documented="search",
    ),
    "search-400": Case(
        CONTACTS,
        "/contacts/search",
        "POST",
        400,
        "/contacts/search",
        raw="[",
        documented="error",
    ),
    "search-401": Case(
        CONTACTS,
        "/contacts/search",
        "POST",
        401,
        "/contacts/search",
        {"locationId": A, "pageLimit": 5},
        token="bare",
        documented="error",
    ),
    "duplicate-200": Case(
        CONTACTS,
        "/contacts/search/duplicate",
        "GET",
        200,
        "/contacts/search/duplicate",
        params={"locationId": A, "email": "world@x.io"},
        documented="duplicate",
    ),
    "duplicate-400": Case(
        CONTACTS,
        "/contacts/search/duplicate",
        "GET",
        400,
        "/contacts/search/duplicate",
        params={"email": "world@x.io"},
    ),
    "duplicate-401": Case(
        CONTACTS,
        "/contacts/search/duplicate",
        "GET",
        401,
        "/contacts/search/duplicate",
        params={"locationId": A},
        token="bare",
    ),
    "list-200": Case(CONTACTS, C, "GET", 200, "/contacts/", params={"locationId": A}),
    "list-401": Case(
        CONTACTS, C, "GET", 401, "/contacts/", params={"locationId": A}, token="bare"
    ),
    "list-422": Case(
        CONTACTS, C, "GET", 422, "/contacts/", params={"locationId": A, "limit": "500"}
    ),
    "tag-add-201": Case(
        CONTACTS,
        CT,
        "POST",
        201,
        "/contacts/{contact}/tags",
        {"tags": ["a"]},
        strict=True,
    ),
    "tag-add-400": Case(
        CONTACTS, CT, "POST", 400, "/contacts/{missing}/tags", {"tags": ["a"]}
    ),
    "tag-add-401": Case(
        CONTACTS,
        CT,
        "POST",
        401,
        "/contacts/{contact}/tags",
        {"tags": ["a"]},
        token="readonly",
    ),
    "tag-add-422": Case(
        CONTACTS, CT, "POST", 422, "/contacts/{contact}/tags", {"tag": "a"}
    ),
    "tag-remove-200": Case(
        CONTACTS,
        CT,
        "DELETE",
        200,
        "/contacts/{contact}/tags",
        {"tags": ["a"]},
        strict=True,
    ),
    "tag-remove-400": Case(
        CONTACTS, CT, "DELETE", 400, "/contacts/{missing}/tags", {"tags": ["a"]}
    ),
    "tag-remove-401": Case(
        CONTACTS,
        CT,
        "DELETE",
        401,
        "/contacts/{contact}/tags",
        {"tags": ["a"]},
        token="readonly",
    ),
    "tag-remove-422": Case(CONTACTS, CT, "DELETE", 422, "/contacts/{contact}/tags", {}),
    "bulk-201": Case(
        CONTACTS,
        BULK,
        "POST",
        201,
        "/contacts/bulk/tags/update/add",
        {"locationId": A, "contacts": ["{contact}", "abc", "{missing}"], "tags": ["b"]},
        strict=True,
    ),
    "bulk-400": Case(
        CONTACTS, BULK, "POST", 400, "/contacts/bulk/tags/update/add", raw="{"
    ),
    "bulk-422": Case(
        CONTACTS,
        BULK,
        "POST",
        422,
        "/contacts/bulk/tags/update/add",
        {"locationId": A, "tags": ["b"]},
    ),
    "v3-create-201": Case(
        CONTACTS_V3,
        C,
        "POST",
        201,
        "/contacts/",
        {**NEW, "dndSettings": {"call": {"status": "active"}}},
        strict=True,
    ),
    "v3-create-422": Case(
        CONTACTS_V3,
        C,
        "POST",
        422,
        "/contacts/",
        {"locationId": A, "dndSettings": {"Call": {"status": "active"}}},
    ),
    "v3-get-200": Case(
        CONTACTS_V3, CID, "GET", 200, "/contacts/{contact}", strict=True
    ),
    "v3-get-400": Case(CONTACTS_V3, CID, "GET", 400, "/contacts/{missing}"),
    "v3-update-200": Case(
        CONTACTS_V3,
        CID,
        "PUT",
        200,
        "/contacts/{contact}",
        {"customFields": [{"id": "{field}", "fieldValue": "v"}]},
    ),
    "v3-upsert-200": Case(
        CONTACTS_V3,
        "/contacts/upsert",
        "POST",
        200,
        "/contacts/upsert",
        NEW,
        strict=True,
    ),
    "v3-delete-200": Case(
        CONTACTS_V3, CID, "DELETE", 200, "/contacts/{spare}", strict=True
    ),
    "v3-tag-add-201": Case(
        CONTACTS_V3,
        CT,
        "POST",
        201,
        "/contacts/{contact}/tags",
        {"tags": ["a"]},
        strict=True,
    ),
    "v3-bulk-201": Case(
        CONTACTS_V3,
        BULK,
        "POST",
        201,
        "/contacts/bulk/tags/update/remove",
        {"locationId": A, "contacts": ["{contact}"], "tags": [], "removeAllTags": True},
        strict=True,
    ),
    "v3-search-200": Case(
        CONTACTS_V3,
        "/contacts/search",
        "POST",
        200,
        "/contacts/search",
        {"locationId": A, "pageLimit": 5},
        documented="search",
    ),
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


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and "{" in value:
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


def _expected_schema(case: Case) -> dict[str, Any]:
    if case.documented is not None:
        return DOCUMENTED[case.documented]
    found = openapi.response_schema(
        case.spec, case.path, case.method, case.status, strict=case.strict
    )
    assert found is not None, "no declared schema: name a documented one"
    if case.path == BULK and case.status == 201:
        found["properties"]["responses"]["items"] = BULK_ITEM
    if case.status == 422:
        return {"allOf": [found, UNPROCESSABLE]}
    if case.status in (400, 401):
        return {"allOf": [found, ERROR]}
    return found


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(CASES))
def test_response_matches_declared_schema(world: World, name: str) -> None:
    case = CASES[name]
    response = world.call(
        case.method,
        case.url,
        token=case.token,
        version=case.version,
        json=None if case.body is None else _fill(case.body, world.ids),
        content=case.raw,
        params=case.params,
    )
    assert response.status_code == case.status, response.text
    body = response.json()
    problems = openapi.errors(body, _expected_schema(case))
    assert problems == [], f"{name}: {body}"


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
    for case in CASES.values():
        key = (case.method, case.path.rstrip("/") or "/")
        covered.setdefault(key, set()).add(case.status)
    missing = [
        key
        for key in sorted(served)
        if not any(s < 300 for s in covered.get(key, ()))
        or not any(s >= 400 for s in covered.get(key, ()))
    ]
    assert missing == []
