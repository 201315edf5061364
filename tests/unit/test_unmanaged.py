"""What exists upstream but the config does not manage: listed in the plan, or
deleted (gated) where the location manages the kind exclusively (``manage:``)."""

from __future__ import annotations

import dataclasses

import pytest

from hlsync.core.model import (
    Contact,
    CustomField,
    CustomValue,
    Integration,
    LocationSpec,
    ObservedCustomField,
    ObservedCustomValue,
    ObservedIntegration,
    ObservedLocation,
    Tag,
)
from hlsync.core.plan import Plan, Unmanaged
from hlsync.core.render import render_plan_markdown, render_plan_text
from hlsync.engine.planner import build_plan
from hlsync.errors import HlsyncError
from tests.unit.conftest import (
    desired_state,
    observed_location,
    observed_state,
    seen,
)

LOC = "LOC-1"
BOT = ObservedIntegration("i-bot", "bot", "", ("contacts.readonly",))
ZAP = ObservedIntegration("i-zap", "zapier", "", ("contacts.write",))
ANN = seen("c1", "ann@example.com", tags=("used-by-ann",))
OWN = ObservedIntegration("i-own", "emulator-bootstrap", "", ("contacts.write",))


def _observed(**extra: object) -> ObservedLocation:
    base = observed_location(
        "main",
        LOC,
        integrations=(BOT, ZAP, OWN),
        custom_fields=(
            ObservedCustomField("f1", "pincode", "Pincode", "TEXT"),
            ObservedCustomField("f2", "shoe_size", "Shoe size", "NUMERICAL"),
        ),
        tags=("vip", "Legacy", "used-by-ann"),
        custom_values=(
            ObservedCustomValue("v1", "Booking Link", "https://x"),
            ObservedCustomValue("v2", "Promo", "spring"),
            ObservedCustomValue("v3", "hlsync lock", "{}"),
        ),
        contacts=(ANN,),
    )
    return dataclasses.replace(base, **extra)  # type: ignore[arg-type]


def _spec(**extra: object) -> LocationSpec:
    spec = LocationSpec(
        name="main",
        id=LOC,
        integrations=(Integration("bot", scopes=("contacts.readonly",)),),
        custom_fields=(CustomField("pincode", "Pincode", "TEXT"),),
        tags=(Tag("VIP", protect=True),),
        custom_values=(CustomValue("Booking Link", "https://x"),),
        contacts=(Contact("email:ann@example.com", tags=("used-by-ann",)),),
    )
    return dataclasses.replace(spec, **extra)  # type: ignore[arg-type]


def _plan(spec: LocationSpec, observed: ObservedLocation) -> Plan:
    return build_plan(desired_state(spec), observed_state(observed))


def test_additive_kinds_list_what_they_leave_alone_and_change_nothing() -> None:
    plan = _plan(_spec(), _observed(totals={"contact": 480}, token_holder="i-own"))
    assert not plan.has_changes
    assert plan.unmanaged == (
        # not the one holding the location's own token: part of its access
        Unmanaged("main", "integration", 1, ("zapier",)),
        Unmanaged("main", "custom_field", 1, ("shoe_size",)),
        # "vip" is declared as VIP (case does not count); a contact uses the other
        Unmanaged("main", "tag", 1, ("Legacy",)),
        # the apply lock's own value is never listed
        Unmanaged("main", "custom_value", 1, ("Promo",)),
        # 480 in the location, one of them declared
        Unmanaged("main", "contact", 479),
    )
    text = render_plan_text(plan)
    assert text.startswith("No changes.")
    assert "  main: 1 integration: zapier\n" in text
    assert "  main: 479 contacts\n" in text
    markdown = render_plan_markdown(plan)
    assert "<summary>Not managed by this config: 483 objects</summary>" in markdown
    assert "- main: 1 custom value: Promo" in markdown
    again = Plan.from_dict(plan.to_dict())
    assert again.unmanaged == plan.unmanaged


def test_contacts_are_not_counted_when_that_would_cost_requests() -> None:
    plan = _plan(_spec(), _observed())
    assert "contact" not in {u.kind for u in plan.unmanaged}


def test_a_kind_the_token_cannot_list_says_so() -> None:
    refused = "the token was refused (401); it needs locations/customValues.readonly"
    observed = _observed(custom_values={}, unlisted={"custom_value": refused})
    plan = _plan(_spec(custom_values=()), observed)
    (entry,) = [u for u in plan.unmanaged if u.kind == "custom_value"]
    assert entry == Unmanaged("main", "custom_value", 0, note=f"not listed: {refused}")
    assert "  main: not listed (its token may not read them): custom values\n" in (
        render_plan_text(plan)
    )


def test_exclusive_kinds_delete_the_unmanaged_behind_the_force_gate() -> None:
    manage = {
        "integration": "exclusive",
        "custom_field": "exclusive",
        "tag": "exclusive",
        "custom_value": "exclusive",
    }
    plan = _plan(_spec(manage=manage), _observed(token_holder="i-own"))
    deletes = {c.address: c for c in plan.pending}
    assert sorted(deletes) == [
        'main.custom_field["shoe_size"]',
        'main.custom_value["Promo"]',
        'main.integration["zapier"]',  # never the one holding the location's token
        'main.tag["Legacy"]',
    ]
    assert all(c.action == "delete" and c.gate == "delete" for c in plan.pending)
    assert deletes['main.tag["Legacy"]'].object_id == "tag-Legacy"
    assert "manages tags exclusively" in str(deletes['main.tag["Legacy"]'].desired)
    assert plan.unmanaged == ()
    with pytest.raises(HlsyncError, match="deleting is irreversible"):
        plan.raise_if_unsafe(force=False)
    plan.raise_if_unsafe(force=True)
    assert "    why: not in the config, and main manages tags exclusively" in (
        render_plan_text(plan)
    )
    # deletes of contacts run first, then fields, tags and values, integrations last
    kinds = [c.kind for c in plan.pending]
    assert kinds.index("integration") == len(kinds) - 1


def test_exclusive_integrations_warn_when_the_own_token_is_unknown() -> None:
    plan = _plan(_spec(manage={"integration": "exclusive"}), _observed())
    assert {c.key for c in plan.pending} == {"zapier", "emulator-bootstrap"}
    assert any("cannot tell which integration" in w for w in plan.warnings)


def test_exclusive_contacts_delete_the_unlisted_and_warn_about_keyless_ones() -> None:
    observed = _observed(
        contacts={
            "email:ann@example.com": ANN,
            "email:bob@example.com": seen("c2", "bob@example.com"),
        },
        totals={"contact": 5},
    )
    plan = _plan(_spec(manage={"contact": "exclusive"}), observed)
    (delete,) = [c for c in plan.pending if c.kind == "contact"]
    assert (delete.address, delete.object_id) == (
        'main.contact["bob@example.com"]',
        "c2",
    )
    assert any("3 contact(s) without an email or phone" in w for w in plan.warnings)
