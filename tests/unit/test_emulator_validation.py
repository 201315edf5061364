"""Request-body checks and normalisation of the upstream routes, and response shapes."""

from __future__ import annotations

from typing import Any

import pytest

from hlsync.emulator import contact_shapes as shapes
from hlsync.emulator.contact_body import contact_fields, normalize_date_of_birth
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.resources.contacts import CREATE_CONTACT, UPDATE_CONTACT
from hlsync.emulator.validation import check_body, normalize_phone

DEFS = {
    "f1": {"id": "f1", "dataType": "NUMERICAL"},
    "f2": {"id": "f2", "dataType": "MULTIPLE_OPTIONS"},
    "f3": {"id": "f3", "dataType": "TEXT"},
    "contact.nick": {"id": "f3", "dataType": "TEXT"},
}


def fields(body: dict[str, Any], v3: bool = False) -> dict[str, Any]:
    return contact_fields(body, v3=v3, resolve_field=DEFS.get)


def messages(action: Any) -> list[str]:
    with pytest.raises(EmulatorError) as caught:
        action()
    assert caught.value.status == 422
    found: list[str] = caught.value.body["message"]
    return found


def test_check_body_lists_every_problem() -> None:
    body = {"firstName": 1, "dnd": "no", "tags": ["a", 2], "colour": "red"}
    assert messages(lambda: check_body(body, CREATE_CONTACT)) == [
        "property colour should not exist",
        "firstName must be a string",
        "dnd must be a boolean value",
        "each value in tags must be a string",
        "locationId should not be empty",
    ]
    assert messages(lambda: check_body([], UPDATE_CONTACT)) == [
        "body must be a JSON object"
    ]
    assert messages(lambda: check_body({"postalCode": None}, UPDATE_CONTACT)) == [
        "postalCode must be a string"
    ]
    ok: dict[str, Any] = {"email": None, "dateOfBirth": None, "tags": []}
    assert check_body(ok, UPDATE_CONTACT) is ok


@pytest.mark.parametrize(
    "text",
    [
        "1990/09/25",
        "09/25/1990",
        "1990-09-25",
        "09-25-1990",
        "1990.09.25",
        "09.25.1990",
        "1990_09_25",
        "09_25_1990",
        "1990-09-25T10:00:00Z",
    ],
)
def test_date_of_birth_formats(text: str) -> None:
    assert normalize_date_of_birth(text) == "1990-09-25T00:00:00.000Z"


def test_bad_dates_and_phones() -> None:
    assert normalize_date_of_birth("1990-02-30") is None
    assert normalize_date_of_birth("1990/09-25") is None
    assert normalize_date_of_birth(19900925) is None
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("(888) 555-0101") == "+18885550101"
    assert normalize_phone("123") is None
    # stored as HighLevel's own seed example writes it, though no such number exists
    assert normalize_phone("+1234567890") == "+1234567890"
    assert normalize_phone("+999 123") is None  # no such country code
    assert normalize_phone("call me") is None


def test_contact_fields_normalise() -> None:
    got = fields(
        {
            "locationId": "L",
            "name": "Ann  Lee Smith",
            "email": " Ann@X.io ",
            "phone": "+1 888-555-0101",
            "dndSettings": {"SMS": {"status": "active", "message": "no"}},
            "customFields": [
                {"id": "f1", "field_value": "42.5"},
                {"id": "f2", "value": "red"},
                {"key": "contact.nick", "field_value": 7},
                {"id": "unknown", "field_value": "ignored"},
            ],
            "city": None,
        }
    )
    assert got == {
        "firstName": "Ann",
        "lastName": "Lee Smith",
        "email": "Ann@X.io",
        "phone": "+18885550101",
        "dndSettings": {"SMS": {"status": "active", "message": "no"}},
        "customFields": [
            {"id": "f1", "value": 42.5},
            {"id": "f2", "value": ["red"]},
            {"id": "f3", "value": "7"},
        ],
        "city": None,
    }


def test_contact_field_problems() -> None:
    body = {
        "dndSettings": {"sms": {"status": "on"}, "Call": {"status": "x", "why": 1}},
        "inboundDndSettings": {"all": {"status": "permanent"}},
        "customFields": [
            {"id": "f1", "field_value": True},
            {"id": "f2", "field_value": [1]},
            {"id": "f3"},
            "nope",
        ],
    }
    assert messages(lambda: fields(body)) == [
        "property dndSettings.sms should not exist",
        "dndSettings.Call.status must be one of the following values: "
        "active, inactive, permanent",
        "property dndSettings.Call.why should not exist",
        "inboundDndSettings.all.status must be one of the following values: "
        "active, inactive",
        "customFields.0.field_value must be a number",
        "customFields.1.field_value must be an array of strings",
        "customFields.2.field_value should not be empty",
        "customFields.3 must be an object",
    ]


def test_v3_spellings() -> None:
    got = fields(
        {
            "dndSettings": {"whatsApp": {"status": "inactive"}},
            "customFields": [{"id": "f3", "fieldValue": "v"}],
        },
        v3=True,
    )
    assert got["dndSettings"] == {"WhatsApp": {"status": "inactive"}}
    assert got["customFields"] == [{"id": "f3", "value": "v"}]


def test_shapes_follow_the_schemas() -> None:
    record = {
        "id": "c1",
        "locationId": "L",
        "firstName": "Ann",
        "lastName": "Lee",
        "email": "Ann@X.io",
        "timezone": "UTC",
        "dateOfBirth": "1990-09-25T00:00:00.000Z",
        "dndSettings": {"SMS": {"status": "active"}},
        "tags": [],
        "customFields": [],
        "dnd": False,
        "type": "lead",
        "dateAdded": "2026-01-01T00:00:00.000Z",
        "dateUpdated": "2026-01-01T00:00:00.000Z",
    }
    created = shapes.created_contact(record)
    assert "name" not in created and "timezone" not in created
    assert (created["birthMonth"], created["birthDay"]) == (8, 25)
    got = shapes.contact(record)
    assert got["name"] == "Ann Lee" and got["fullNameLowerCase"] == "ann lee"
    assert got["emailLowerCase"] == "ann@x.io" and "address1" not in got
    assert shapes.contact(record, v3=True)["dndSettings"] == {
        "sms": {"status": "active"}
    }
    searched = shapes.searched_contact(record, [1, "c1"])
    assert searched["searchAfter"] == [1, "c1"] and "dndSettings" not in searched
