"""``/locations/{locationId}/tags``: a location's tags (reference §6).

Scope ``locations/tags.readonly`` / ``.write`` (sub-account token). Create answers 200,
as the spec declares. A tag's name is unique per location, case-insensitively: a create
or rename to a taken name answers 400 ``"The tag name already exists"``. Tags put on a
contact join this list too (``Store`` calls ``LocationItems.ensure_tags``).
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from hlsync.emulator.item_routes import ItemResource, item_routes
from hlsync.emulator.itemstore import ItemRules, Record
from hlsync.emulator.validation import Prop

LOCATION_TAG: dict[str, Prop] = {"name": Prop("string", required=True)}


def name_key(name: str) -> str:
    """A tag name as it is compared: trimmed and lower-cased."""
    return name.strip().lower()


def _build(location_id: str, fields: dict[str, Any]) -> Record:
    return {"name": fields["name"].strip(), "locationId": location_id}


def _revise(current: Record, fields: dict[str, Any]) -> Record:
    return {**current, "name": fields["name"].strip()}


RULES = ItemRules(
    persisted_as="locationTag",
    noun="Tag",
    build=_build,
    revise=_revise,
    key=lambda record: name_key(record["name"]),
    taken=lambda key: "The tag name already exists",
)


def shape(record: Record) -> Record:
    """``LocationTagsSchema``."""
    return {
        "id": record["id"],
        "name": record["name"],
        "locationId": record["locationId"],
    }


RESOURCE = ItemResource(
    scope="locations/tags",
    segment="tags",
    id_param="tagId",
    one="tag",
    many="tags",
    rules=RULES,
    shape=shape,
    create_dto=LOCATION_TAG,
    update_dto=LOCATION_TAG,
    create_status=200,
)


def routes() -> list[Route]:
    return item_routes(RESOURCE)
