"""A contact's activity as the admin API takes it (contact_activity)."""

from __future__ import annotations

from typing import Any

from hlsync.emulator.contact_activity import activity_fields


def checked(**body: Any) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    return activity_fields(body, problems), problems


def test_values_are_kept_in_the_store_form() -> None:
    fields, problems = checked(
        followers=["u1", "u2", "u1"],
        validEmail=False,
        lastAppointment="2026-02-01",
        lastEmailOpenedDate=1767225600000,
        businessId="biz",
        validEmailTypo=1,  # not an activity key: left to the caller
    )
    assert problems == []
    assert fields == {
        "followers": ["u1", "u2"],
        "validEmail": False,
        "lastAppointment": "2026-02-01T00:00:00.000Z",
        "lastEmailOpenedDate": "2026-01-01T00:00:00.000Z",
        "businessId": "biz",
    }
    assert checked(followers=None) == ({"followers": None}, [])


def test_items_get_ids_and_keep_theirs() -> None:
    fields, problems = checked(
        tasks=[{"title": "Call"}, {"id": "mine", "title": "Mail", "completed": True}],
        opportunities=[{"pipelineId": "p", "pipelineStageId": "s", "status": "won"}],
    )
    assert problems == []
    first, second = fields["tasks"]
    assert len(first["id"]) == 20 and first["title"] == "Call"
    assert second == {"id": "mine", "title": "Mail", "completed": True}
    assert fields["opportunities"][0]["status"] == "won"


def test_every_problem_is_named() -> None:
    _, problems = checked(
        followers=[1],
        isValidWhatsapp="yes",
        lastEmailClickedDate="soon",
        notes="text",
        tasks=[{"body": "no title", "due": 1}, "x"],
        opportunities=[{"pipelineId": "p", "pipelineStageId": "s", "status": "maybe"}],
        appointments=[
            {"calendarId": "c", "startTime": "later", "endTime": "2026-01-01"}
        ],
    )
    assert problems == [
        "followers must be an array of strings",
        "isValidWhatsapp must be a boolean value",
        "lastEmailClickedDate must be an ISO 8601 time or epoch milliseconds",
        "opportunities.0.status must be one of open, won, lost, abandoned",
        "property tasks.0.due should not exist",
        "tasks.0.title should not be empty",
        "tasks.1 must be an object",
        "notes must be an array of objects",
        "appointments.0.startTime must be an ISO 8601 time",
    ]
