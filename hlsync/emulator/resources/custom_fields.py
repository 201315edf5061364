"""``/locations/{locationId}/customFields``: a location's custom fields (reference §6).

Scope ``locations/customFields.readonly`` / ``.write`` (sub-account token). Create
answers 201. A field's key is ``<model>.<snake_case name>``, derived once at create and
unique per location (400 ``"Custom field with key <key> already exists"``); a field may
be addressed by its id or its key, with or without the model prefix. An update
re-describes a field; its id, key and data type never change. A listing without
``model`` lists every model.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams
from starlette.routing import Route

from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.item_routes import ItemResource, item_routes
from hlsync.emulator.itemstore import ItemRules, Record, key_part
from hlsync.emulator.validation import Prop

MODELS = ("contact", "opportunity", "all")
DATA_TYPES = (
    "TEXT",
    "LARGE_TEXT",
    "NUMERICAL",
    "PHONE",
    "MONETORY",
    "CHECKBOX",
    "SINGLE_OPTIONS",
    "MULTIPLE_OPTIONS",
    "DATE",
    "TEXTBOX_LIST",
    "FILE_UPLOAD",
    "RADIO",
    "EMAIL",
)
_S = Prop("string")
_COMMON: dict[str, Prop] = {
    "placeholder": _S,
    "acceptedFormat": Prop("strings"),
    "isMultipleFile": Prop("boolean"),
    "maxNumberOfFiles": Prop("number"),
    "textBoxListOptions": Prop("array"),
    "position": Prop("number"),
    "model": Prop("string", enum=("contact", "opportunity")),
}
CREATE_CUSTOM_FIELD: dict[str, Prop] = {
    "name": Prop("string", required=True),
    "dataType": Prop("string", required=True, enum=DATA_TYPES),
    **_COMMON,
}
UPDATE_CUSTOM_FIELD: dict[str, Prop] = {
    "name": Prop("string", required=True),
    **_COMMON,
}
# Update DTO names that the stored (and answered) record spells differently.
_RENAMES = {"isMultipleFile": "isMultiFileAllowed", "maxNumberOfFiles": "maxFileLimit"}


def _build(location_id: str, fields: dict[str, Any]) -> Record:
    """``fields`` holds name, dataType and the optional DTO fields."""
    model = fields.get("model") or "contact"
    record: Record = {
        "name": fields["name"],
        "fieldKey": f"{model}.{key_part(fields['name'])}",
        "placeholder": fields.get("placeholder") or "",
        "dataType": fields["dataType"],
        "position": fields.get("position", 0),
        "picklistOptions": [],
        "picklistImageOptions": [],
        "isAllowedCustomOption": False,
        "isMultiFileAllowed": bool(fields.get("isMultipleFile", False)),
        "maxFileLimit": fields.get("maxNumberOfFiles", 0),
        "locationId": location_id,
        "model": model,
    }
    if fields.get("acceptedFormat") is not None:
        record["acceptedFormat"] = list(fields["acceptedFormat"])
    if fields.get("textBoxListOptions") is not None:
        record["textBoxListOptions"] = list(fields["textBoxListOptions"])
    return record


def _revise(current: Record, fields: dict[str, Any]) -> Record:
    record = dict(current)
    for key, value in fields.items():
        record[_RENAMES.get(key, key)] = value
    return record


def _key_aliases(record: Record) -> tuple[str, ...]:
    key: str = record["fieldKey"]
    return (key, key.split(".", 1)[-1])


RULES = ItemRules(
    persisted_as="customField",
    noun="Custom field",
    build=_build,
    revise=_revise,
    key=lambda record: str(record["fieldKey"]),
    taken=lambda key: f"Custom field with key {key} already exists",
    order=lambda r: (r.get("position", 0), r["name"], r["id"]),
    aliases=_key_aliases,
)

_SHOWN = (
    "id",
    "name",
    "fieldKey",
    "placeholder",
    "dataType",
    "position",
    "picklistOptions",
    "picklistImageOptions",
    "isAllowedCustomOption",
    "isMultiFileAllowed",
    "maxFileLimit",
    "locationId",
    "model",
)


def shape(record: Record) -> Record:
    """``CustomFieldSchema`` of the locations API (accepted formats and text-box list
    options are kept but, as in the schema, not shown)."""
    return {name: record[name] for name in _SHOWN if record.get(name) is not None}


def of_model(found: list[Record], query: QueryParams) -> list[Record]:
    """The listed fields of the query's ``model`` (422 for an unknown one)."""
    model = query.get("model", "all")
    if model not in MODELS:
        raise EmulatorError.unprocessable(
            [f"model must be one of the following values: {', '.join(MODELS)}"]
        )
    return found if model == "all" else [r for r in found if r["model"] == model]


RESOURCE = ItemResource(
    scope="locations/customFields",
    segment="customFields",
    id_param="id",
    one="customField",
    many="customFields",
    rules=RULES,
    shape=shape,
    create_dto=CREATE_CUSTOM_FIELD,
    update_dto=UPDATE_CUSTOM_FIELD,
    create_status=201,
    select=of_model,
)


def routes() -> list[Route]:
    return item_routes(RESOURCE)
