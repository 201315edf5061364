"""``/contacts/{contactId}/tasks``, ``/notes`` and ``/appointments``: what other parts of
the product recorded about a contact (the spec's "Tasks", "Notes" and "Appointments"
read operations).

Scope ``contacts.readonly`` on the contact's location (see ``contacts`` for the order of
checks). The records are the contact's activity (``contact_activity``), which the admin
API sets; the emulator serves no route that writes them.

Assumptions (upstream leaves these open; reference §10):

- A missing contact answers 400 ``"Contact with id <id> not found"``, a missing task or
  note 400 ``"Task with id <id> not found"`` / ``"Note with id <id> not found"``, as
  for the contact itself.
- Listings keep the order the records were set in; each item carries ``contactId``
  (appointments also ``locationId``), as the response schemas show.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import ok, routes_for
from hlsync.emulator.resources.contacts import READ, contact_for, contact_not_found
from hlsync.emulator.store import Record


def _records(request: Request, kind: str) -> list[Record]:
    """The path's contact and its ``kind`` records, shaped with their owner's ids."""
    contact = contact_for(request, READ)
    if contact is None:
        raise contact_not_found(request.path_params["contactId"])
    owner = {"contactId": contact["id"]}
    if kind == "appointments":
        owner["locationId"] = contact["locationId"]
    return [{**item, **owner} for item in contact.get(kind) or ()]


def _one(request: Request, kind: str, noun: str, id_param: str) -> Record:
    found = _records(request, kind)
    wanted = request.path_params[id_param]
    for item in found:
        if item["id"] == wanted:
            return item
    raise EmulatorError.bad_request(f"{noun} with id {wanted} not found")


async def list_tasks(request: Request) -> JSONResponse:
    return ok({"tasks": _records(request, "tasks")})


async def get_task(request: Request) -> JSONResponse:
    return ok({"task": _one(request, "tasks", "Task", "taskId")})


async def list_notes(request: Request) -> JSONResponse:
    return ok({"notes": _records(request, "notes")})


async def get_note(request: Request) -> JSONResponse:
    return ok({"note": _one(request, "notes", "Note", "id")})


async def list_appointments(request: Request) -> JSONResponse:
    return ok({"events": _records(request, "appointments")})


def routes() -> list[Route]:
    return routes_for(
        [
            ("/contacts/{contactId}/tasks", list_tasks, ("GET",)),
            ("/contacts/{contactId}/tasks/{taskId}", get_task, ("GET",)),
            ("/contacts/{contactId}/notes", list_notes, ("GET",)),
            ("/contacts/{contactId}/notes/{id}", get_note, ("GET",)),
            ("/contacts/{contactId}/appointments", list_appointments, ("GET",)),
        ]
    )
