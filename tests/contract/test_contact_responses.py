"""Contacts operations (v2 and v3): responses validate against the declared schemas."""

from __future__ import annotations

import pytest

from tests.contract.cases import (
    BULK,
    CID,
    CT,
    DUPLICATE,
    NEW,
    SEARCH,
    UPSERT,
    A,
    C,
    Case,
    case,
    check,
)
from tests.contract.conftest import World
from tests.contract.openapi import CONTACTS, CONTACTS_V3

CONTACT_CASES: dict[str, Case] = {
    "create-201": case(CONTACTS, C, "POST", 201, body=NEW, strict=True),
    "create-400": case(
        CONTACTS, C, "POST", 400, body={"locationId": A, "email": "WORLD@x.io"}
    ),
    "create-401": case(CONTACTS, C, "POST", 401, body=NEW, token="readonly"),
    "create-401-agency": case(CONTACTS, C, "POST", 401, body=NEW, token="agency"),
    "create-422": case(
        CONTACTS, C, "POST", 422, body={"locationId": A, "additionalEmails": []}
    ),
    "get-200": case(CONTACTS, CID, "GET", 200, strict=True),
    "get-400": case(CONTACTS, CID, "GET", 400, url="/contacts/{missing}"),
    "get-401": case(CONTACTS, CID, "GET", 401, token="bare"),
    "update-200": case(
        CONTACTS, CID, "PUT", 200, body={"lastName": "Z", "tags": ["x"]}, strict=True
    ),
    "update-400": case(
        CONTACTS, CID, "PUT", 400, url="/contacts/{missing}", body={"lastName": "Z"}
    ),
    "update-401": case(
        CONTACTS, CID, "PUT", 401, body={"lastName": "Z"}, token="readonly"
    ),
    "update-422": case(CONTACTS, CID, "PUT", 422, body={"locationId": A}),
    "delete-200": case(
        CONTACTS, CID, "DELETE", 200, url="/contacts/{spare}", strict=True
    ),
    "delete-400": case(CONTACTS, CID, "DELETE", 400, url="/contacts/{missing}"),
    "delete-401": case(
        CONTACTS, CID, "DELETE", 401, url="/contacts/{spare}", token="readonly"
    ),
    "upsert-200": case(CONTACTS, UPSERT, "POST", 200, body=NEW, strict=True),
    "upsert-400": case(CONTACTS, UPSERT, "POST", 400, raw="{"),
    "upsert-401": case(CONTACTS, UPSERT, "POST", 401, body=NEW, token="readonly"),
    "upsert-422": case(CONTACTS, UPSERT, "POST", 422, body={"email": "a@b.io"}),
    "search-200": case(
        CONTACTS,
        SEARCH,
        "POST",
        200,
        body={"locationId": A, "pageLimit": 5},
        documented="search",
    ),
    "search-400": case(CONTACTS, SEARCH, "POST", 400, documented="error", raw="["),
    "search-401": case(
        CONTACTS,
        SEARCH,
        "POST",
        401,
        body={"locationId": A, "pageLimit": 5},
        token="bare",
        documented="error",
    ),
    "duplicate-200": case(
        CONTACTS,
        DUPLICATE,
        "GET",
        200,
        documented="duplicate",
        params={"locationId": A, "email": "world@x.io"},
    ),
    "duplicate-400": case(
        CONTACTS, DUPLICATE, "GET", 400, params={"email": "world@x.io"}
    ),
    "duplicate-401": case(
        CONTACTS, DUPLICATE, "GET", 401, token="bare", params={"locationId": A}
    ),
    "list-200": case(CONTACTS, C, "GET", 200, params={"locationId": A}),
    "list-401": case(CONTACTS, C, "GET", 401, token="bare", params={"locationId": A}),
    "list-422": case(CONTACTS, C, "GET", 422, params={"locationId": A, "limit": "500"}),
    "tag-add-201": case(CONTACTS, CT, "POST", 201, body={"tags": ["a"]}, strict=True),
    "tag-add-400": case(
        CONTACTS, CT, "POST", 400, url="/contacts/{missing}/tags", body={"tags": ["a"]}
    ),
    "tag-add-401": case(
        CONTACTS, CT, "POST", 401, body={"tags": ["a"]}, token="readonly"
    ),
    "tag-add-422": case(CONTACTS, CT, "POST", 422, body={"tag": "a"}),
    "tag-remove-200": case(
        CONTACTS, CT, "DELETE", 200, body={"tags": ["a"]}, strict=True
    ),
    "tag-remove-400": case(
        CONTACTS,
        CT,
        "DELETE",
        400,
        url="/contacts/{missing}/tags",
        body={"tags": ["a"]},
    ),
    "tag-remove-401": case(
        CONTACTS, CT, "DELETE", 401, body={"tags": ["a"]}, token="readonly"
    ),
    "tag-remove-422": case(CONTACTS, CT, "DELETE", 422, body={}),
    "bulk-201": case(
        CONTACTS,
        BULK,
        "POST",
        201,
        body={
            "locationId": A,
            "contacts": ["{contact}", "abc", "{missing}"],
            "tags": ["b"],
        },
        strict=True,
    ),
    "bulk-400": case(CONTACTS, BULK, "POST", 400, raw="{"),
    "bulk-422": case(
        CONTACTS, BULK, "POST", 422, body={"locationId": A, "tags": ["b"]}
    ),
    "v3-create-201": case(
        CONTACTS_V3,
        C,
        "POST",
        201,
        body={**NEW, "dndSettings": {"call": {"status": "active"}}},
        strict=True,
    ),
    "v3-create-422": case(
        CONTACTS_V3,
        C,
        "POST",
        422,
        body={"locationId": A, "dndSettings": {"Call": {"status": "active"}}},
    ),
    "v3-get-200": case(CONTACTS_V3, CID, "GET", 200, strict=True),
    "v3-get-400": case(CONTACTS_V3, CID, "GET", 400, url="/contacts/{missing}"),
    "v3-update-200": case(
        CONTACTS_V3,
        CID,
        "PUT",
        200,
        body={"customFields": [{"id": "{field}", "fieldValue": "v"}]},
    ),
    "v3-upsert-200": case(CONTACTS_V3, UPSERT, "POST", 200, body=NEW, strict=True),
    "v3-delete-200": case(
        CONTACTS_V3, CID, "DELETE", 200, url="/contacts/{spare}", strict=True
    ),
    "v3-tag-add-201": case(
        CONTACTS_V3, CT, "POST", 201, body={"tags": ["a"]}, strict=True
    ),
    "v3-bulk-201": case(
        CONTACTS_V3,
        BULK,
        "POST",
        201,
        url="/contacts/bulk/tags/update/remove",
        body={
            "locationId": A,
            "contacts": ["{contact}"],
            "tags": [],
            "removeAllTags": True,
        },
        strict=True,
    ),
    "v3-search-200": case(
        CONTACTS_V3,
        SEARCH,
        "POST",
        200,
        body={"locationId": A, "pageLimit": 5},
        documented="search",
    ),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(CONTACT_CASES))
def test_contact_response_matches_declared_schema(world: World, name: str) -> None:
    check(world, CONTACT_CASES[name])
