"""``/locations/{locationId}/customValues``: a location's custom values (reference §6).

Scope ``locations/customValues.readonly`` / ``.write`` (sub-account token). Create
answers 201. A value's key is ``{{ custom_values.<snake_case name> }}``, derived once at
create and unique per location (400 ``"Custom value with key <key> already exists"``);
an update changes name and value, never the key.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from hlsync.emulator.item_routes import ItemResource, item_routes
from hlsync.emulator.itemstore import ItemRules, Record, key_part
from hlsync.emulator.validation import Prop

CUSTOM_VALUE: dict[str, Prop] = {
    "name": Prop("string", required=True),
    "value": Prop("string", required=True),
}


def _build(location_id: str, fields: dict[str, Any]) -> Record:
    name = fields["name"]
    return {
        "name": name,
        "fieldKey": "{{ custom_values." + key_part(name) + " }}",
        "value": fields["value"],
        "locationId": location_id,
    }


def _revise(current: Record, fields: dict[str, Any]) -> Record:
    return {**current, "name": fields["name"], "value": fields["value"]}


RULES = ItemRules(
    persisted_as="customValue",
    noun="Custom value",
    build=_build,
    revise=_revise,
    key=lambda record: str(record["fieldKey"]),
    taken=lambda key: f"Custom value with key {key} already exists",
)


def shape(record: Record) -> Record:
    """``CustomValueSchema``."""
    return {
        "id": record["id"],
        "name": record["name"],
        "fieldKey": record["fieldKey"],
        "value": record["value"],
        "locationId": record["locationId"],
    }


RESOURCE = ItemResource(
    scope="locations/customValues",
    segment="customValues",
    id_param="id",
    one="customValue",
    many="customValues",
    rules=RULES,
    shape=shape,
    create_dto=CUSTOM_VALUE,
    update_dto=CUSTOM_VALUE,
    create_status=201,
)


def routes() -> list[Route]:
    return item_routes(RESOURCE)
