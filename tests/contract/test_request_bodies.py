"""Request bodies: the emulator accepts what the official spec accepts and rejects what it
rejects, with upstream's 422 message array.

- Our DTO tables (in ``hlsync.emulator.resources``) list exactly the properties, and the
  required ones, of the spec's request schemas (v2 and v3): a drift fails here.
- A body built from the spec's own examples validates against the spec and is accepted.
- Each mutation the spec rejects — a property of the wrong type, a required property
  missing — answers 422 naming the property. An undeclared property answers 422 too:
  the schemas do not say ``additionalProperties: false``, but upstream forbids unknown
  properties (reference §3, I#262), so that is the documented contract.

Properties whose own example contradicts their declared type are spec defects, skipped by
``openapi.self_inconsistent`` (``dateOfBirth`` is declared ``object`` with a date string
example; ``removeAllTags`` is ``boolean`` with example ``"false"``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from hlsync.emulator import validation
from hlsync.emulator.resources import (
    contact_tags,
    contacts,
    custom_fields,
    custom_values,
    tags,
)
from tests.contract import openapi
from tests.contract.conftest import World
from tests.contract.openapi import CONTACTS, CONTACTS_V3, LOCATIONS

A = "lochlsyncAlpha000001"
WRONG = {
    "string": 12345,
    "boolean": "yes",
    "number": "many",
    "array": "x",
    "object": "x",
}


@dataclass(frozen=True, slots=True)
class Op:
    spec: str
    path: str
    method: str
    url: str
    dto: dict[str, validation.Prop]
    ok: int

    @property
    def version(self) -> str:
        return "v3" if self.spec == CONTACTS_V3 else "2021-07-28"


C, CID = "/contacts/", "/contacts/{contactId}"
UPSERT, TAGS = "/contacts/upsert", "/contacts/{contactId}/tags"
BULK = "/contacts/bulk/tags/update/{type}"
OPS: dict[str, Op] = {
    "create": Op(CONTACTS, C, "POST", "/contacts/", contacts.CREATE_CONTACT, 201),
    "update": Op(
        CONTACTS, CID, "PUT", "/contacts/{contact}", contacts.UPDATE_CONTACT, 200
    ),
    "upsert": Op(CONTACTS, UPSERT, "POST", UPSERT, contacts.UPSERT_CONTACT, 200),
    "v3-create": Op(CONTACTS_V3, C, "POST", "/contacts/", contacts.CREATE_CONTACT, 201),
    "v3-update": Op(
        CONTACTS_V3, CID, "PUT", "/contacts/{contact}", contacts.UPDATE_CONTACT, 200
    ),
    "v3-upsert": Op(CONTACTS_V3, UPSERT, "POST", UPSERT, contacts.UPSERT_CONTACT, 200),
    "tags-add": Op(
        CONTACTS, TAGS, "POST", "/contacts/{contact}/tags", contact_tags.TAGS, 201
    ),
    "tags-remove": Op(
        CONTACTS, TAGS, "DELETE", "/contacts/{contact}/tags", contact_tags.TAGS, 200
    ),
    "bulk-tags": Op(
        CONTACTS,
        BULK,
        "POST",
        "/contacts/bulk/tags/update/remove",
        contact_tags.BULK_TAGS,
        201,
    ),
    "location-tag": Op(
        LOCATIONS,
        "/locations/{locationId}/tags",
        "POST",
        "/locations/{loc}/tags",
        tags.LOCATION_TAG,
        200,
    ),
    "location-tag-update": Op(
        LOCATIONS,
        "/locations/{locationId}/tags/{tagId}",
        "PUT",
        "/locations/{loc}/tags/{tag}",
        tags.LOCATION_TAG,
        200,
    ),
    "custom-field": Op(
        LOCATIONS,
        "/locations/{locationId}/customFields",
        "POST",
        "/locations/{loc}/customFields",
        custom_fields.CREATE_CUSTOM_FIELD,
        201,
    ),
    "custom-field-update": Op(
        LOCATIONS,
        "/locations/{locationId}/customFields/{id}",
        "PUT",
        "/locations/{loc}/customFields/{field}",
        custom_fields.UPDATE_CUSTOM_FIELD,
        200,
    ),
    "custom-value": Op(
        LOCATIONS,
        "/locations/{locationId}/customValues",
        "POST",
        "/locations/{loc}/customValues",
        custom_values.CUSTOM_VALUE,
        201,
    ),
    "custom-value-update": Op(
        LOCATIONS,
        "/locations/{locationId}/customValues/{id}",
        "PUT",
        "/locations/{loc}/customValues/{value}",
        custom_values.CUSTOM_VALUE,
        200,
    ),
}


def _valid_body(op: Op, world: World) -> dict[str, Any]:
    body = openapi.example_of(openapi.request_schema(op.spec, op.path, op.method))
    assert isinstance(body, dict)
    if "locationId" in body:
        body["locationId"] = A
    if "customFields" in body:
        key = "fieldValue" if op.spec == CONTACTS_V3 else "field_value"
        body["customFields"] = [{"id": world.ids["field"], key: "from the spec"}]
    if "contacts" in body:
        body["contacts"] = [world.ids["contact"]]
    return body


def _send(world: World, op: Op, body: Any) -> tuple[int, Any]:
    response = world.call(op.method, op.url, version=op.version, json=body)
    return response.status_code, response.json()


@pytest.mark.parametrize("name", sorted(OPS))
def test_dto_properties_match_the_spec(name: str) -> None:
    op = OPS[name]
    schema = openapi.request_schema(op.spec, op.path, op.method)
    assert set(op.dto) == set(schema["properties"])
    required = {key for key, prop in op.dto.items() if prop.required}
    assert required == set(schema.get("required", []))


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(OPS))
def test_spec_valid_body_is_accepted(world: World, name: str) -> None:
    op = OPS[name]
    schema = openapi.request_schema(op.spec, op.path, op.method)
    body = _valid_body(op, world)
    assert openapi.errors(body, schema) == []
    status, answer = _send(world, op, body)
    assert status == op.ok, answer


@pytest.mark.integration
@pytest.mark.parametrize("name", sorted(OPS))
def test_spec_rejected_bodies_answer_422(world: World, name: str) -> None:
    op = OPS[name]
    schema = openapi.request_schema(op.spec, op.path, op.method)
    valid = _valid_body(op, world)
    mutations: list[tuple[str, str, dict[str, Any]]] = []
    for prop, sub in schema["properties"].items():
        kind = sub.get("type")
        kind = kind[0] if isinstance(kind, list) else kind
        if kind not in WRONG or openapi.self_inconsistent(sub):
            continue
        body = copy.deepcopy(valid)
        body[prop] = WRONG[kind]
        mutations.append((f"{prop} of the wrong type", prop, body))
    for prop in schema.get("required", []):
        body = copy.deepcopy(valid)
        del body[prop]
        mutations.append((f"{prop} missing", prop, body))
    assert mutations, "nothing to mutate"
    for label, prop, body in mutations:
        assert openapi.errors(body, schema), f"the spec accepts {label}"
        status, answer = _send(world, op, body)
        assert status == 422, f"{label}: {status} {answer}"
        assert any(prop in message for message in answer["message"]), (label, answer)
    body = {**valid, "notInTheSpec": 1}
    status, answer = _send(world, op, body)
    assert (status, answer["message"]) == (
        422,
        ["property notInTheSpec should not exist"],
    )
