"""Contacts operations (v2 and v3): responses validate against the declared schemas."""

from __future__ import annotations

import pytest

from tests.contract.cases import (
    BULK,
    CID,
    CT,
    NEW,
    A,
    C,
    Case,
    check,
)
from tests.contract.conftest import World
from tests.contract.openapi import CONTACTS, CONTACTS_V3

CONTACT_CASES: dict[str, Case] = {
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
}


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(CONTACT_CASES))
def test_contact_response_matches_declared_schema(world: World, name: str) -> None:
    check(world, CONTACT_CASES[name])
