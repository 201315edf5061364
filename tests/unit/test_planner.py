"""build_plan on DesiredState / ObservedState built in Python: no YAML, no HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pytest

from hlsync.config.loader import load_config
from hlsync.core.model import (
    Contact,
    CustomField,
    DesiredState,
    Integration,
    LocationSpec,
    ObservedContact,
    ObservedCustomField,
    ObservedCustomValue,
    ObservedIntegration,
    ObservedState,
    Tag,
)
from hlsync.core.plan import Change, FieldChange, Plan
from hlsync.engine.planner import PlanOptions, build_plan
from hlsync.errors import HlsyncError
from hlsync.kinds.contact_diff import date_ymd, e164
from tests.unit.conftest import (
    contact,
    desired_state,
    observed_location,
    observed_state,
    representative,
    seen,
    src,
)

LOC = "LOC-1"


def plan_for(
    spec: LocationSpec,
    obs_kwargs: Mapping[str, object] | None = None,
    *,
    options: PlanOptions | None = None,
) -> Plan:
    observed = observed_state(observed_location("main", LOC, **(obs_kwargs or {})))  # type: ignore[arg-type]
    return build_plan(desired_state(spec), observed, options=options)


def main(**kw: object) -> LocationSpec:
    return LocationSpec(name="main", id=LOC, **kw)  # type: ignore[arg-type]


def only(plan: Plan, address: str) -> Change:
    found = [c for c in plan.changes if c.address == address]
    assert len(found) == 1, [c.address for c in plan.changes]
    return found[0]


ANN = 'main.contact["ann@example.com"]'


def test_equal_contact_with_differently_cased_email_is_a_noop() -> None:
    spec = main(
        contacts=(
            contact(
                "Ann@Example.com",
                {"phone": "+14155550101", "dateOfBirth": "1990-09-25", "city": "Oslo"},
            ),
        )
    )
    observed = seen(
        "c1",
        "ann@EXAMPLE.com",
        {
            "phone": "+1 415-555-0101",
            "dateOfBirth": "1990-09-25T00:00:00.000Z",
            "city": "Oslo",
        },
    )
    plan = plan_for(spec, {"contacts": (observed,)})
    change = only(plan, ANN)
    assert change.action == "noop"
    assert change.api_calls == 0
    assert not plan.has_changes


def test_undeclared_observed_field_is_ignored() -> None:
    spec = main(contacts=(contact("ann@example.com", {"firstName": "Ann"}),))
    observed = seen(
        "c1", "ann@example.com", {"firstName": "Ann", "lastName": "Set in the UI"}
    )
    assert only(plan_for(spec, {"contacts": (observed,)}), ANN).action == "noop"


def test_drift_on_a_declared_field_is_an_update_with_a_put_body() -> None:
    spec = main(
        contacts=(contact("ann@example.com", {"firstName": "Ann", "city": "Oslo"}),)
    )
    observed = seen("c1", "ann@example.com", {"firstName": "Anne", "city": "Oslo"})
    change = only(plan_for(spec, {"contacts": (observed,)}), ANN)
    assert change.action == "update"
    assert change.object_id == "c1"
    assert change.fields == (FieldChange("firstName", "Anne", "Ann"),)
    assert change.desired == {
        "write": "put",
        "body": {"firstName": "Ann"},
        "tags_add": [],
        "tags_remove": [],
    }
    assert change.api_calls == 1


def test_company_name_is_not_in_the_update_dto_so_it_upserts() -> None:
    spec = main(contacts=(contact("Ann@example.com", {"companyName": "Acme"}),))
    observed = seen("c1", "ann@example.com", {"companyName": "Old"})
    change = only(plan_for(spec, {"contacts": (observed,)}), ANN)
    assert change.desired["write"] == "upsert"
    assert change.desired["body"] == {
        "locationId": LOC,
        "email": "Ann@example.com",
        "companyName": "Acme",
    }


def test_declared_tags_are_added_and_others_kept_when_not_exclusive() -> None:
    spec = main(contacts=(contact("ann@example.com", tags=("vip", "Gold")),))
    observed = seen("c1", "ann@example.com", tags=("gold", "staff"))
    change = only(
        plan_for(spec, {"contacts": (observed,), "tags": ("vip", "gold", "staff")}), ANN
    )
    assert change.desired["tags_add"] == ["vip"]
    assert change.desired["tags_remove"] == []
    assert change.fields == (
        FieldChange("tags", ["gold", "staff"], ["gold", "staff", "vip"]),
    )
    assert change.desired["write"] is None
    assert change.api_calls == 1


def test_exclusive_tags_remove_the_extra_ones() -> None:
    spec = main(
        contacts=(contact("ann@example.com", tags=("vip",), tags_exclusive=True),)
    )
    observed = seen("c1", "ann@example.com", tags=("VIP", "staff", "old"))
    change = only(plan_for(spec, {"contacts": (observed,), "tags": ("vip",)}), ANN)
    assert change.desired["tags_add"] == []
    assert change.desired["tags_remove"] == ["old", "staff"]
    assert change.api_calls == 1
    assert "tags" in change.compared


def test_custom_field_values_compare_by_type() -> None:
    spec = main(
        custom_fields=(
            CustomField("colors", "Colors", "MULTIPLE_OPTIONS", ("red", "blue")),
            CustomField("age", "Age", "NUMERICAL"),
            CustomField("since", "Since", "DATE"),
            CustomField("note", "Note", "TEXT"),
        ),
        contacts=(
            contact(
                "ann@example.com",
                custom={
                    "colors": ["red", "blue"],
                    "age": 42,
                    "since": "2024-01-05",
                    "note": "hi",
                },
            ),
        ),
    )
    fields = (
        ObservedCustomField(
            "f1", "colors", "Colors", "MULTIPLE_OPTIONS", ("red", "blue")
        ),
        ObservedCustomField("f2", "age", "Age", "NUMERICAL"),
        ObservedCustomField("f3", "since", "Since", "DATE"),
        ObservedCustomField("f4", "note", "Note", "TEXT"),
    )
    same = seen(
        "c1",
        "ann@example.com",
        custom={
            "colors": ["blue", "red"],
            "age": "42",
            "since": "01/05/2024",
            "note": "hi",
        },
    )
    plan = plan_for(spec, {"contacts": (same,), "custom_fields": fields})
    assert not plan.has_changes
    drift = dataclasses.replace(
        same, custom_fields={**same.custom_fields, "note": "Hi"}
    )
    change = only(plan_for(spec, {"contacts": (drift,), "custom_fields": fields}), ANN)
    assert change.fields == (FieldChange("customFields.note", "Hi", "hi"),)
    assert change.desired["body"] == {
        "customFields": [{"key": "note", "field_value": "hi"}]
    }


def test_nested_objects_compare_declared_keys_only_with_plain_paths() -> None:
    spec = main(
        contacts=(
            contact(
                "ann@example.com", {"dndSettings": {"Email": {"status": "active"}}}
            ),
        )
    )
    observed = seen(
        "c1",
        "ann@example.com",
        {"dndSettings": {"Email": {"status": "inactive", "code": "x"}, "SMS": {}}},
    )
    change = only(plan_for(spec, {"contacts": (observed,)}), ANN)
    assert change.fields == (
        FieldChange("dndSettings.Email.status", "inactive", "active"),
    )
    # undeclared keys beside the declared one are written back unchanged
    assert change.desired["body"] == {
        "dndSettings": {"Email": {"status": "active", "code": "x"}, "SMS": {}}
    }
    same = seen(
        "c1", "ann@example.com", {"dndSettings": {"Email": {"status": "active"}}}
    )
    assert only(plan_for(spec, {"contacts": (same,)}), ANN).action == "noop"


def test_new_contact_is_an_upsert_that_waits_for_its_field_and_tag() -> None:
    spec = main(
        custom_fields=(CustomField("pincode", "Pincode", "TEXT"),),
        contacts=(
            contact(
                "Ann@example.com",
                {"firstName": "Ann"},
                tags=("vip", "staff"),
                custom={"pincode": "1"},
            ),
        ),
    )
    plan = plan_for(spec, {"tags": ("staff",)})
    change = only(plan, ANN)
    assert change.action == "create"
    assert change.fingerprint == "absent"
    # no tags in the upsert: on a contact that exists they would replace its tags
    assert change.desired == {
        "body": {
            "locationId": LOC,
            "firstName": "Ann",
            "email": "Ann@example.com",
            "customFields": [{"key": "pincode", "field_value": "1"}],
        },
        "tags_add": ["vip", "staff"],
    }
    assert change.api_calls == 2
    assert change.depends_on == ('main.custom_field["pincode"]', 'main.tag["vip"]')
    exclusive = dataclasses.replace(spec.contacts[0], tags_exclusive=True)
    alone = only(plan_for(main(contacts=(exclusive,)), {}), ANN)
    assert alone.desired["body"]["tags"] == ["vip", "staff"]  # replacing is wanted
    assert (alone.desired["tags_add"], alone.api_calls) == ([], 1)
    tag = only(plan, 'main.tag["vip"]')
    assert (tag.action, tag.desired) == ("create", {"name": "vip"})
    assert not [c for c in plan.changes if c.address == 'main.tag["staff"]']
    order = [c.address for c in plan.changes]
    assert order.index(ANN) > order.index('main.tag["vip"]')


def test_ensure_absent_deletes_with_a_gate_or_is_a_noop() -> None:
    spec = main(contacts=(contact("ann@example.com", ensure="absent", source=src(9)),))
    plan = plan_for(spec, {"contacts": (seen("c1", "ann@example.com"),)})
    change = only(plan, ANN)
    assert (change.action, change.object_id, change.gate) == ("delete", "c1", "delete")
    with pytest.raises(HlsyncError) as err:
        plan.raise_if_unsafe(force=False)
    assert str(err.value) == (
        f"hlsync.yaml:9:5: {ANN} deleting is irreversible\n"
        "  hint: review the plan, then apply again with --force"
    )
    plan.raise_if_unsafe(force=True)
    gone = plan_for(spec)
    assert only(gone, ANN).action == "noop"
    gone.raise_if_unsafe(force=False)


def test_protect_refuses_a_delete_even_with_force() -> None:
    spec = main(tags=(Tag("vip", ensure="absent", protect=True, source=src(4)),))
    plan = plan_for(spec, {"tags": ("VIP",)})
    change = only(plan, 'main.tag["vip"]')
    assert (change.action, change.gate, change.object_id) == (
        "delete",
        "protected",
        "tag-VIP",
    )
    assert change.key == "VIP"  # upstream's spelling, for the saved-plan re-read
    with pytest.raises(HlsyncError, match="protect: true"):
        plan.raise_if_unsafe(force=True)


def test_a_contact_using_an_absent_tag_is_an_error() -> None:
    spec = main(
        tags=(Tag("old", ensure="absent"),),
        custom_fields=(CustomField("pin", "Pin", "TEXT", ensure="absent"),),
        contacts=(
            contact(
                "ann@example.com", tags=("OLD",), custom={"pin": "1"}, source=src(7)
            ),
        ),
    )
    with pytest.raises(HlsyncError) as err:
        plan_for(spec)
    assert len(err.value.problems) == 2
    assert all(str(p.location) == "hlsync.yaml:7:5" for p in err.value.problems)


def test_missing_observed_location_is_an_error() -> None:
    desired = desired_state(main(source=src(2)))
    with pytest.raises(HlsyncError, match="no observed state for location 'main'"):
        build_plan(desired, observed_state())


def test_custom_field_updates_in_place_and_replaces_on_a_type_change() -> None:
    spec = main(
        custom_fields=(
            CustomField("color", "Colour", "SINGLE_OPTIONS", ("red", "green")),
            CustomField("age", "Age", "NUMERICAL"),
            CustomField("kept", "Kept", "TEXT", placeholder=None),
        ),
        contacts=(contact("ann@example.com", custom={"age": 3}),),
    )
    observed = {
        "custom_fields": (
            ObservedCustomField("f1", "color", "Color", "SINGLE_OPTIONS", ("red",)),
            ObservedCustomField("f2", "age", "Age", "TEXT"),
            ObservedCustomField("f3", "kept", "Kept", "TEXT", (), "typed in the UI"),
        ),
        "contacts": (seen("c1", "ann@example.com", custom={"age": "3"}),),
    }
    plan = plan_for(spec, observed)
    color = only(plan, 'main.custom_field["color"]')
    assert color.action == "update"
    assert color.fields == (
        FieldChange("name", "Color", "Colour"),
        FieldChange("options", ["red"], ["red", "green"]),
    )
    assert color.gate is None
    age = only(plan, 'main.custom_field["age"]')
    assert (age.action, age.gate, age.api_calls) == ("replace", "replace", 2)
    assert age.desired["data_type"] == "NUMERICAL"
    assert only(plan, 'main.custom_field["kept"]').action == "noop"
    # the replace wipes the stored value, so the contact writes it again, afterwards
    ann = only(plan, ANN)
    assert ann.fields == (FieldChange("customFields.age", None, 3),)
    assert ann.depends_on == ('main.custom_field["age"]',)
    assert plan.summary.add == 1 and plan.summary.destroy == 1


def test_picklist_options_upstream_lacks_are_a_warning_not_silence() -> None:
    why = (
        "(HighLevel's API cannot write picklist options); "
        "set them in the HighLevel UI (Settings > Custom Fields)"
    )
    spec = main(
        custom_fields=(
            CustomField("tier", "Tier", "SINGLE_OPTIONS", ("bronze", "gold")),
            CustomField("sport", "Sport", "MULTIPLE_OPTIONS", ("yoga", "spin")),
            CustomField("level", "Level", "RADIO", ("a", "b")),
            CustomField("color", "Color", "SINGLE_OPTIONS", ("red",)),
            CustomField("size", "Size", "SINGLE_OPTIONS", ("s", "m")),
            CustomField("gone", "Gone", "SINGLE_OPTIONS", ("x",), ensure="absent"),
        ),
    )
    observed = {
        "custom_fields": (
            ObservedCustomField("f1", "tier", "Tier", "SINGLE_OPTIONS"),
            ObservedCustomField("f3", "level", "Level", "TEXT"),
            ObservedCustomField("f4", "color", "Color", "SINGLE_OPTIONS", ("red",)),
            ObservedCustomField("f5", "size", "Size", "SINGLE_OPTIONS", ("s",)),
            ObservedCustomField("f6", "gone", "Gone", "SINGLE_OPTIONS"),
        ),
    }
    plan = plan_for(spec, observed)
    assert plan.warnings == (
        f'main.custom_field["tier"]: options [bronze, gold] are not set upstream {why}',
        f'main.custom_field["sport"]: will be created without its options '
        f"[yoga, spin] {why}",
        f'main.custom_field["level"]: will be created without its options [a, b] {why}',
    )
    # still no change for the options hlsync cannot write; differing ones are one
    assert only(plan, 'main.custom_field["tier"]').action == "noop"
    size = only(plan, 'main.custom_field["size"]')
    assert size.fields == (FieldChange("options", ["s"], ["s", "m"]),)


def test_integration_scope_changes_list_endpoints_and_privilege() -> None:
    spec = main(
        integrations=(
            Integration(
                "bot",
                "Bot",
                ("contacts.readonly", "contacts.write", "locations/tags.readonly"),
            ),
        )
    )
    obs = ObservedIntegration(
        "pi1", "bot", "Bot", ("contacts.readonly", "opportunities.readonly")
    )
    change = only(plan_for(spec, {"integrations": (obs,)}), 'main.integration["bot"]')
    assert change.action == "update"
    assert change.desired["scopes_add"] == ["contacts.write", "locations/tags.readonly"]
    assert change.desired["scopes_remove"] == ["opportunities.readonly"]
    by_scope = {d.scope: d for d in change.scopes}
    assert by_scope["contacts.write"].privilege_increase
    assert "POST /contacts/" in by_scope["contacts.write"].endpoints
    assert not by_scope["locations/tags.readonly"].privilege_increase
    assert not by_scope["opportunities.readonly"].added
    assert "GET /opportunities/search" in by_scope["opportunities.readonly"].endpoints


def test_a_new_agency_scope_is_a_privilege_increase() -> None:
    desired = desired_state(agency=(Integration("ci", "", ("locations.readonly",)),))
    plan = build_plan(desired, observed_state())
    change = only(plan, 'agency.integration["ci"]')
    assert (change.action, change.location, change.location_id) == (
        "create",
        None,
        None,
    )
    assert change.scopes[0].privilege_increase


@pytest.mark.parametrize(("removed", "gated"), [(5, False), (6, True)])
def test_scope_removals_beyond_the_threshold_need_force(
    removed: int, gated: bool
) -> None:
    readonly = sorted(
        s
        for s in (
            "contacts.readonly",
            "opportunities.readonly",
            "calendars.readonly",
            "conversations.readonly",
            "forms.readonly",
            "links.readonly",
            "medias.readonly",
            "surveys.readonly",
        )
    )
    spec = main(integrations=(Integration("bot", "", tuple(readonly[removed:])),))
    obs = ObservedIntegration("pi1", "bot", "", tuple(readonly))
    plan = plan_for(spec, {"integrations": (obs,)})
    change = only(plan, 'main.integration["bot"]')
    assert (change.gate == "scope_removals") is gated
    strict = plan_for(
        spec, {"integrations": (obs,)}, options=PlanOptions(max_scope_removals=0)
    )
    assert only(strict, 'main.integration["bot"]').gate == "scope_removals"


def test_order_is_by_layer_then_location_then_address() -> None:
    desired, observed = representative()
    plan = build_plan(desired, observed)
    layers = {
        "integration": 0,
        "custom_field": 1,
        "tag": 1,
        "contact": 2,
    }
    delete_layers = {"contact": 3, "custom_field": 4, "tag": 4, "integration": 5}

    def key(c: Change) -> tuple[int, bool, str, str]:
        layer = delete_layers[c.kind] if c.action == "delete" else layers[c.kind]
        return (layer, c.location is not None, c.location or "", c.address)

    assert [key(c) for c in plan.changes] == sorted(key(c) for c in plan.changes)
    assert plan.changes[0].address == 'agency.integration["ci-deployer"]'
    addresses = [c.address for c in plan.changes]
    assert addresses.index('main.contact["gone@example.com"]') < addresses.index(
        'main.tag["legacy"]'
    )


def test_plan_does_not_depend_on_config_order() -> None:
    desired, observed = representative()
    first = desired.locations[0]
    shuffled = dataclasses.replace(
        first,
        contacts=tuple(reversed(first.contacts)),
        custom_fields=tuple(reversed(first.custom_fields)),
    )
    again = dataclasses.replace(desired, locations=(shuffled, *desired.locations[1:]))
    assert build_plan(again, observed).changes == build_plan(desired, observed).changes


def test_unchanged_account_plans_only_noops() -> None:
    spec = main(
        integrations=(Integration("bot", "Bot", ("contacts.readonly",)),),
        custom_fields=(CustomField("pin", "Pin", "TEXT"),),
        tags=(Tag("vip"),),
        contacts=(contact("ann@example.com", {"firstName": "Ann"}, tags=("vip",)),),
    )
    plan = plan_for(
        spec,
        {
            "integrations": (
                ObservedIntegration("pi", "bot", "Bot", ("contacts.readonly",)),
            ),
            "custom_fields": (ObservedCustomField("f", "pin", "Pin", "TEXT"),),
            "tags": ("vip",),
            "contacts": (
                seen("c1", "ann@example.com", {"firstName": "Ann"}, tags=("vip",)),
            ),
        },
    )
    assert [c.action for c in plan.changes] == ["noop"] * 4
    assert plan.summary.noop == 4 and plan.summary.api_calls == 0
    assert all(c.desired == {} for c in plan.changes)


def test_many_contacts_estimate_the_rate_limited_time() -> None:
    contacts = tuple(
        contact(f"user{i}@example.com", {"firstName": "U"}) for i in range(250)
    )
    other = LocationSpec(name="other", id="LOC-2", contacts=contacts[:50])
    desired = desired_state(main(contacts=contacts), other)
    observed = observed_state(
        observed_location("main", LOC), observed_location("other", "LOC-2")
    )
    plan = build_plan(desired, observed)
    assert plan.summary.api_calls == 300
    assert plan.summary.estimated_seconds == 25  # 250 calls in main, at 10 per second


def test_integration_ensure_absent_is_deleted_last() -> None:
    spec = main(
        integrations=(Integration("old-bot", ensure="absent", source=src(3)),),
        contacts=(contact("ann@example.com", ensure="absent"),),
    )
    plan = plan_for(
        spec,
        {
            "integrations": (ObservedIntegration("pi9", "old-bot", "", ()),),
            "contacts": (seen("c1", "ann@example.com"),),
        },
    )
    assert [(c.address, c.action, c.gate) for c in plan.changes] == [
        (ANN, "delete", "delete"),
        ('main.integration["old-bot"]', "delete", "delete"),
    ]
    assert plan.changes[1].desired == {"name": "old-bot"}
    assert plan.changes[1].object_id == "pi9"


def test_phone_keyed_contact_sends_its_phone() -> None:
    phone_only = Contact(key="phone:+14155550123", fields={"firstName": "P"})
    change = only(
        plan_for(main(contacts=(phone_only,))), 'main.contact["+14155550123"]'
    )
    assert change.desired["body"] == {
        "locationId": LOC,
        "phone": "+14155550123",
        "firstName": "P",
    }
    seen_phone = ObservedContact(
        "c1", "phone:+14155550123", {"phone": "+1 (415) 555-0123", "firstName": "Q"}
    )
    update = only(
        plan_for(main(contacts=(phone_only,)), {"contacts": (seen_phone,)}),
        'main.contact["+14155550123"]',
    )
    assert update.fields == (FieldChange("firstName", "Q", "P"),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-09-25", "1990-09-25"),
        ("1990/9/5", "1990-09-05"),
        ("09.25.1990", "1990-09-25"),
        ("1990_09_25", "1990-09-25"),
        ("1990-09-25T00:00:00.000Z", "1990-09-25"),
        ("next tuesday", "next tuesday"),
    ],
)
def test_dates_normalise_to_ymd(text: str, expected: str) -> None:
    assert date_ymd(text) == expected


def test_phone_normalisation_keeps_what_does_not_parse() -> None:
    assert e164("+44 20 7946 0958") == "+442079460958"
    assert e164("0207 946 0958") == "0207 946 0958"  # no country code: left as is


def test_a_number_field_holding_text_upstream_is_drift() -> None:
    spec = main(
        custom_fields=(CustomField("age", "Age", "NUMERICAL"),),
        contacts=(contact("ann@example.com", custom={"age": 42}),),
    )
    observed = {
        "custom_fields": (ObservedCustomField("f", "age", "Age", "NUMERICAL"),),
        "contacts": (seen("c1", "ann@example.com", custom={"age": "forty-two"}),),
    }
    change = only(plan_for(spec, observed), ANN)
    assert change.fields == (FieldChange("customFields.age", "forty-two", 42),)


def _as_applied(desired: DesiredState) -> ObservedState:
    """What upstream would hold after a perfect apply, in upstream's own spellings:
    lower-cased tags, ISO timestamps for dates, custom values keyed by field key."""
    locations = {}
    for spec in desired.locations:
        contacts = []
        for i, c in enumerate(spec.contacts):
            if c.ensure == "absent":
                continue
            fields = dict(c.fields)
            if isinstance(fields.get("dateOfBirth"), str):
                fields["dateOfBirth"] = (
                    date_ymd(fields["dateOfBirth"]) + "T00:00:00.000Z"
                )
            fields["dateUpdated"] = "2026-11-28T00:00:00.000Z"  # never declared
            contacts.append(
                ObservedContact(
                    f"c{i}",
                    c.key,
                    fields,
                    tuple(t.lower() for t in c.tags),
                    dict(c.custom_fields),
                )
            )
        used = {t.lower() for c in spec.contacts for t in c.tags}
        used |= {t.name.lower() for t in spec.tags if t.ensure == "present"}
        locations[spec.name] = observed_location(
            spec.name,
            spec.id,
            integrations=tuple(
                ObservedIntegration(f"pi-{i.name}", i.name, i.description, i.scopes)
                for i in spec.integrations
                if i.ensure == "present"
            ),
            custom_fields=tuple(
                ObservedCustomField(
                    f"cf-{f.key}", f.key, f.name, f.data_type, f.options, f.placeholder
                )
                for f in spec.custom_fields
                if f.ensure == "present"
            ),
            tags=tuple(sorted(used)),
            contacts=tuple(contacts),
            custom_values=tuple(
                ObservedCustomValue(f"cv-{v.name}", v.name, v.value)
                for v in spec.custom_values
                if v.ensure == "present"
            ),
        )
    agency = tuple(
        ObservedIntegration(f"pi-{i.name}", i.name, i.description, i.scopes)
        for i in desired.agency.integrations
        if i.ensure == "present"
    )
    return observed_state(*locations.values(), agency=agency)


@pytest.mark.parametrize("example", ["quickstart", "agency"])
def test_examples_plan_creates_then_nothing_once_applied(example: str) -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / example
    if not path.is_dir():
        pytest.skip(f"examples/{example} is not there")
    desired = load_config(path)
    empty = observed_state(
        *(observed_location(s.name, s.id) for s in desired.locations)
    )
    first = build_plan(desired, empty)
    assert first.has_changes
    assert {c.action for c in first.pending} == {"create"}
    again = build_plan(desired, _as_applied(desired))
    assert [c.address for c in again.pending] == []
