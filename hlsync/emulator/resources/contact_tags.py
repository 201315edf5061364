"""``/contacts/{contactId}/tags`` and ``/contacts/bulk/tags/update/{type}``: the tags on
contacts, one contact at a time or in bulk (the spec's "Tags" and "Bulk" operations).

Scope ``contacts.write``, on the contact's location (or the body's ``locationId`` for a
bulk update); see ``contacts`` for the order of checks.

Assumptions (upstream leaves these open; reference §10):

- ``POST``/``DELETE /contacts/{id}/tags`` answer the contact's full tag list afterwards
  (the v3 spec says so). Tags put on a contact join the location's tag list.
- Bulk tag updates report ``succeded: true`` once processed, with per-contact errors
  counted in ``errorCount``; an unknown but well-formed id answers "contact not found".
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import (
    is_v3,
    json_body,
    location_body,
    ok,
    routes_for,
    state_of,
)
from hlsync.emulator.itemstore import is_valid_id
from hlsync.emulator.resources.contacts import WRITE, contact_for, contact_not_found
from hlsync.emulator.store import Record, Store
from hlsync.emulator.validation import Prop, check_body

TAGS: dict[str, Prop] = {"tags": Prop("strings", required=True)}
BULK_TAGS: dict[str, Prop] = {
    "contacts": Prop("strings", required=True),
    "tags": Prop("strings", required=True),
    "locationId": Prop("string", required=True),
    "removeAllTags": Prop("boolean"),
}


async def add_contact_tags(request: Request) -> JSONResponse:
    return await _contact_tags(request, add=True)


async def remove_contact_tags(request: Request) -> JSONResponse:
    return await _contact_tags(request, add=False)


async def _contact_tags(request: Request, *, add: bool) -> JSONResponse:
    body = await json_body(request)
    record = contact_for(request, WRITE)
    check_body(body, TAGS)
    if record is None:
        raise contact_not_found(request.path_params["contactId"])
    state = state_of(request)
    with state.lock:
        if add:
            updated = state.store.add_contact_tags(record["id"], body["tags"])
        else:
            updated = state.store.remove_contact_tags(record["id"], body["tags"])
    return ok({"tags": updated["tags"]}, 201 if add else 200)


async def bulk_tags(request: Request) -> JSONResponse:
    body = await location_body(request, WRITE)
    kind = request.path_params["type"]
    problems = []
    if kind not in ("add", "remove"):
        problems.append("type must be one of the following values: add, remove")
    try:
        check_body(body, BULK_TAGS)
    except EmulatorError as exc:
        problems.extend(exc.body["message"])
    if kind == "add" and isinstance(body, dict) and body.get("removeAllTags"):
        problems.append("removeAllTags can only be used with remove")
    if problems:
        raise EmulatorError.unprocessable(problems)
    state = state_of(request)
    responses: list[dict[str, Any]] = []
    with state.lock:
        for contact_id in body["contacts"]:
            responses.append(_bulk_one(state.store, body, kind, contact_id))
    errors = sum(1 for r in responses if r["type"] == "error")
    result: dict[str, Any] = {"succeded": True, "errorCount": errors}
    if is_v3(request):
        result["succeeded"] = True
    result["responses"] = responses
    return ok(result, 201)


def _bulk_one(store: Store, body: dict[str, Any], kind: str, contact_id: str) -> Record:
    def error(message: str) -> Record:
        return {"contactId": contact_id, "message": message, "type": "error"}

    if not is_valid_id(contact_id):
        return error("contact id is not a valid firebase id")
    record = store.get_contact(contact_id)
    if record is None:
        return error(
            "contact is deleted"
            if store.was_deleted(contact_id)
            else "contact not found"
        )
    if record["locationId"] != body["locationId"]:
        return error("contact does not belong to location")
    old = list(record.get("tags", []))
    if kind == "add":
        new = store.add_contact_tags(contact_id, body["tags"])["tags"]
    elif body.get("removeAllTags"):
        new = store.update_contact(contact_id, {"tags": []})["tags"]
    else:
        new = store.remove_contact_tags(contact_id, body["tags"])["tags"]
    return {
        "contactId": contact_id,
        "message": "Tags updated",
        "type": "success",
        "oldTags": old,
        "tagsAdded": [t for t in new if t not in old],
        "tagsRemoved": [t for t in old if t not in new],
    }


def routes() -> list[Route]:
    return routes_for(
        [
            ("/contacts/bulk/tags/update/{type}", bulk_tags, ("POST",)),
            ("/contacts/{contactId}/tags", add_contact_tags, ("POST",)),
            ("/contacts/{contactId}/tags", remove_contact_tags, ("DELETE",)),
        ]
    )
