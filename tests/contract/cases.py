"""Shared machinery of the response contract tests (``test_*_responses.py``): every
upstream operation the emulator serves has success and error cases whose responses
validate against the schema the official OpenAPI file declares for that status.

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

from tests.contract import openapi
from tests.contract.conftest import World
from tests.contract.openapi import CONTACTS_V3

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
    "timezones": {
        "type": "object",
        "required": ["timeZones"],
        "additionalProperties": False,
        "properties": {
            "timeZones": {"type": "array", "items": {"type": "string"}, "minItems": 1}
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
LOC, LOCS = "/locations/{locationId}", "/locations/search"
SEARCH, DUPLICATE = "/contacts/search", "/contacts/search/duplicate"
UPSERT = "/contacts/upsert"
TASKS, TASK = "/contacts/{contactId}/tasks", "/contacts/{contactId}/tasks/{taskId}"
NOTES, NOTE = "/contacts/{contactId}/notes", "/contacts/{contactId}/notes/{id}"
EVENTS = "/contacts/{contactId}/appointments"
BUSINESS = "/contacts/business/{businessId}"
ZONES = "/locations/{locationId}/timezones"
# The URL a case calls unless it names another: the world's own location and objects.
URLS = {
    C: "/contacts/",
    CID: "/contacts/{contact}",
    CT: "/contacts/{contact}/tags",
    BULK: "/contacts/bulk/tags/update/add",
    SEARCH: SEARCH,
    DUPLICATE: DUPLICATE,
    UPSERT: UPSERT,
    TASKS: "/contacts/{contact}/tasks",
    TASK: "/contacts/{contact}/tasks/{task}",
    NOTES: "/contacts/{contact}/notes",
    NOTE: "/contacts/{contact}/notes/{note}",
    EVENTS: "/contacts/{contact}/appointments",
    BUSINESS: "/contacts/business/{business}",
    ZONES: "/locations/{loc}/timezones",
    LOC: "/locations/{loc}",
    LOCS: LOCS,
    LT: "/locations/{loc}/tags",
    LTI: "/locations/{loc}/tags/{tag}",
    CF: "/locations/{loc}/customFields",
    CFI: "/locations/{loc}/customFields/{field}",
    CV: "/locations/{loc}/customValues",
    CVI: "/locations/{loc}/customValues/{value}",
}


def case(
    spec: str,
    path: str,
    method: str,
    status: int,
    *,
    url: str | None = None,
    **options: Any,
) -> Case:
    """A :class:`Case` calling ``URLS[path]`` unless ``url`` names another."""
    return Case(spec, path, method, status, url or URLS[path], **options)


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and "{" in value:
        return value.format(**ids)
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    return value


def expected_schema(case: Case) -> dict[str, Any]:
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


def check(world: World, case: Case) -> None:
    """Send ``case`` and validate the answer against its schema."""
    response = world.call(
        case.method,
        case.url,
        token=case.token,
        version=case.version,
        json=None if case.body is None else fill(case.body, world.ids),
        content=case.raw,
        params=case.params,
    )
    assert response.status_code == case.status, response.text
    body = response.json()
    problems = openapi.errors(body, expected_schema(case))
    assert problems == [], body
