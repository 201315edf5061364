"""The plan object: round trip, checksum, refusal of malformed / edited / stale plans."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from hlsync.core.fingerprint import fingerprint, sha256_hex
from hlsync.core.model import ObservedIntegration, ObservedLocation, ObservedState
from hlsync.core.plan import Plan
from hlsync.core.render import render_plan_json
from hlsync.engine.planner import build_plan
from hlsync.errors import HlsyncError
from tests.unit.conftest import DIGEST, representative, seen


def _plan() -> Plan:
    desired, observed = representative()
    return build_plan(desired, observed)


def _resign(data: dict[str, Any]) -> dict[str, Any]:
    """Recompute the checksum so a test reaches the check after it."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    data["checksum"] = "sha256:" + sha256_hex(body)
    return data


def test_round_trip_through_json_text() -> None:
    plan = _plan()
    text = json.dumps(plan.to_dict())
    again = Plan.from_dict(json.loads(text))
    assert again == plan
    assert again.to_dict() == plan.to_dict()
    assert [c.desired for c in again.changes] == [c.desired for c in plan.changes]
    assert [c.source for c in again.changes] == [c.source for c in plan.changes]


def test_checksum_is_stable_and_content_addressed() -> None:
    first, second = _plan(), _plan()
    assert first.checksum == second.checksum
    assert first.to_dict()["checksum"] == first.checksum
    desired, observed = representative()
    other = build_plan(dataclasses.replace(desired, config_digest="ab" * 32), observed)
    assert other.checksum != first.checksum
    # key order in the file does not matter, content does
    data = first.to_dict()
    reordered = dict(reversed(list(data.items())))
    assert Plan.from_dict(reordered).checksum == first.checksum


def test_to_dict_is_a_copy() -> None:
    plan = _plan()
    data = plan.to_dict()
    for change in data["changes"]:
        change["desired"]["mutated"] = True
    assert all("mutated" not in c.desired for c in plan.changes)


def _broken(edit: str) -> dict[str, Any]:
    data = _plan().to_dict()
    if edit == "version":
        data["format_version"] = 2
    elif edit == "action":
        data["changes"][1]["action"] = "obliterate"
    elif edit == "missing":
        del data["changes"][0]["fingerprint"]
    elif edit == "type":
        data["changes"][2]["api_calls"] = "1"
    elif edit == "fields":
        data["changes"][3]["fields"] = {"path": "x"}
    elif edit == "summary":
        data["summary"]["add"] += 1
    return _resign(data)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            "version",
            "format_version 2 is not supported (this hlsync reads format_version 1)",
        ),
        ("action", "changes[1].action: 'obliterate' is not one of create, update"),
        ("missing", "changes[0].fingerprint: missing"),
        ("type", "changes[2].api_calls: expected an integer, found a string"),
        ("fields", "changes[3].fields: expected a list, found an object"),
        ("summary", "summary does not match the changes"),
    ],
)
def test_malformed_plan_files_are_refused(edit: str, message: str) -> None:
    with pytest.raises(HlsyncError) as err:
        Plan.from_dict(_broken(edit), source="plan.json")
    text = str(err.value)
    assert text.startswith("plan.json: plan.json is not a valid hlsync plan: ")
    assert message in text
    assert "hint: make a new one with 'hlsync plan --out FILE'" in text


@pytest.mark.parametrize("data", [None, [], "plan", 3])
def test_a_plan_file_that_is_not_an_object_is_refused(data: object) -> None:
    with pytest.raises(HlsyncError, match="the document: expected an object"):
        Plan.from_dict(data)


def test_an_edited_plan_is_refused_by_its_checksum() -> None:
    data = _plan().to_dict()
    creates = [c for c in data["changes"] if c["action"] == "create"]
    creates[0]["desired"]["name"] = "sneaky"
    with pytest.raises(HlsyncError, match="was modified after it was made"):
        Plan.from_dict(data, source="plan.json")
    del data["checksum"]
    with pytest.raises(HlsyncError, match="checksum: missing"):
        Plan.from_dict(data)


def test_fingerprint_covers_compared_data_only() -> None:
    ann = seen(
        "c1", "ann@example.com", {"firstName": "Ann", "lastName": "X"}, tags=("a",)
    )
    compared = ("firstName", "tags.a")
    base = fingerprint(ann, compared)
    assert fingerprint(None) == "absent"
    assert base.startswith("sha256:") and base == fingerprint(ann, compared)
    ui_edit = dataclasses.replace(
        ann, fields={**ann.fields, "lastName": "Y"}, tags=("a", "b")
    )
    assert fingerprint(ui_edit, compared) == base
    drift = dataclasses.replace(ann, fields={**ann.fields, "firstName": "Anne"})
    assert fingerprint(drift, compared) != base
    untagged = dataclasses.replace(ann, tags=())
    assert fingerprint(untagged, compared) != base
    bot = ObservedIntegration("pi", "bot", "d", ("b.readonly", "a.readonly"))
    same = dataclasses.replace(bot, scopes=("a.readonly", "b.readonly"))
    assert fingerprint(bot) == fingerprint(same)
    assert fingerprint(bot) != fingerprint(dataclasses.replace(bot, description="e"))


def _with_main(observed: ObservedState, **changes: Any) -> ObservedState:
    main = observed.locations["main"]
    locations = {**observed.locations, "main": dataclasses.replace(main, **changes)}
    return dataclasses.replace(observed, locations=locations)


def test_fresh_plan_passes_the_stale_check() -> None:
    desired, observed = representative()
    plan = build_plan(desired, observed)
    plan.raise_if_stale(observed)
    plan.raise_if_config_differs(DIGEST)
    assert ("contact", "main", "email:bob@example.com") in plan.targets()
    assert all(c.action != "noop" for c in plan.pending)
    assert len(plan.targets()) == len(plan.pending)


def test_stale_plan_names_what_changed() -> None:
    desired, observed = representative()
    plan = build_plan(desired, observed)
    main: ObservedLocation = observed.locations["main"]
    bob = main.contacts["email:bob@example.com"]
    edited = dataclasses.replace(bob, fields={**bob.fields, "firstName": "Bobby"})
    contacts = {**main.contacts, "email:bob@example.com": edited}
    contacts.pop("email:gone@example.com")
    contacts["email:ann@example.com"] = seen("c-new", "ann@example.com")
    with pytest.raises(HlsyncError) as err:
        plan.raise_if_stale(_with_main(observed, contacts=contacts))
    messages = sorted(p.message for p in err.value.problems)
    assert messages == [
        'the plan is stale: main.contact["ann@example.com"] was created by someone '
        "else after the plan was made",
        'the plan is stale: main.contact["bob@example.com"] changed after the plan was '
        'made: firstName is now "Bobby" (the plan saw "Robert")',
        'the plan is stale: main.contact["gone@example.com"] was deleted after the '
        "plan was made",
    ]


def test_noop_objects_are_not_checked_for_staleness() -> None:
    desired, observed = representative()
    plan = build_plan(desired, observed)
    main = observed.locations["main"]
    cy = main.contacts["email:cy@example.org"]
    contacts = {
        **main.contacts,
        "email:cy@example.org": dataclasses.replace(cy, id="x"),
    }
    plan.raise_if_stale(_with_main(observed, contacts=contacts))


def test_a_plan_from_another_config_is_refused() -> None:
    with pytest.raises(HlsyncError, match="made from a different configuration"):
        _plan().raise_if_config_differs("00" * 32)


def test_gates_are_listed_together() -> None:
    plan = _plan()
    with pytest.raises(HlsyncError) as err:
        plan.raise_if_unsafe(force=False)
    assert [p.message.split(" ")[0] for p in err.value.problems] == [
        'main.custom_field["score"]',
        'main.tag["legacy"]',
        'main.contact["gone@example.com"]',
    ]  # sorted by their place in the config
    plan.raise_if_unsafe(force=True)
    assert plan.gated(force=True) == ()


def test_plan_never_holds_upstream_data_it_does_not_compare() -> None:
    text = json.dumps(_plan().to_dict())
    assert "Undeclared" not in text  # bob's lastName, never declared


def test_stale_nested_field_custom_field_and_fallback_messages() -> None:
    desired, observed = representative()
    plan = build_plan(desired, observed)
    main = observed.locations["main"]
    bob = main.contacts["email:bob@example.com"]
    dnd = {"Email": {"status": "permanent"}}
    contacts = {
        **main.contacts,
        "email:bob@example.com": dataclasses.replace(
            bob, fields={**bob.fields, "dndSettings": dnd}
        ),
    }
    pin = main.custom_fields["pincode"]
    fields = {**main.custom_fields, "pincode": dataclasses.replace(pin, name="PIN")}
    with pytest.raises(HlsyncError) as err:
        plan.raise_if_stale(
            _with_main(observed, contacts=contacts, custom_fields=fields)
        )
    assert sorted(p.message for p in err.value.problems) == [
        'the plan is stale: main.contact["bob@example.com"] changed after the plan was '
        'made: dndSettings.Email.status is now "permanent" (the plan saw "inactive")',
        'the plan is stale: main.custom_field["pincode"] changed after the plan was '
        'made: name is now "PIN" (the plan saw "Pin code")',
    ]
    recased = dataclasses.replace(
        bob, fields={**bob.fields, "email": "BOB@example.com"}
    )
    contacts["email:bob@example.com"] = recased
    with pytest.raises(HlsyncError) as err:
        plan.raise_if_stale(_with_main(observed, contacts=contacts))
    assert err.value.problems[0].message.endswith(
        "changed after the plan was made (firstName, email, dndSettings, "
        "customFields.score, tags.vip)"
    )


def test_stale_check_finds_integrations_and_tags() -> None:
    desired, observed = representative()
    plan = build_plan(desired, observed)
    ci = observed.agency_integrations["ci-deployer"]
    agency = {"ci-deployer": dataclasses.replace(ci, rotated_at="2026-11-28T00:00:00Z")}
    main = observed.locations["main"]
    tags = {k: v for k, v in main.tags.items() if k != "legacy"}
    with pytest.raises(HlsyncError) as err:
        plan.raise_if_stale(
            dataclasses.replace(
                _with_main(observed, tags=tags), agency_integrations=agency
            )
        )
    assert sorted(p.message for p in err.value.problems) == [
        'the plan is stale: agency.integration["ci-deployer"] changed after the plan '
        "was made (its managed data)",
        'the plan is stale: main.tag["legacy"] was deleted after the plan was made',
    ]


def test_from_json_reads_the_rendered_file_and_locates_bad_json() -> None:
    plan = _plan()
    assert Plan.from_json(render_plan_json(plan), source="p.json") == plan
    with pytest.raises(HlsyncError) as err:
        Plan.from_json('{\n  "format_version": 1,\n  oops\n}', source="p.json")
    assert str(err.value).startswith("p.json:3:3: p.json is not JSON: ")
