"""The planner's fast path for unchanged contacts (``contact_diff.plainly_unchanged``):
it may only ever say "unchanged" where the full comparison finds nothing, and the
change it plans is the one the full comparison would."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hlsync.core.model import Contact, ObservedContact
from hlsync.core.model import LocationSpec as Spec
from hlsync.engine.planner import build_plan
from hlsync.kinds import contact as contact_kind
from hlsync.kinds.contact_diff import diff_contact, plainly_unchanged
from tests.unit.conftest import (
    contact,
    desired_state,
    observed_location,
    observed_state,
    representative,
    seen,
)

TYPES = {"pincode": "TEXT", "interests": "MULTIPLE_OPTIONS", "score": "NUMERICAL"}
VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", "Ann", "ann", "ANN", "+14155550101", "+1 415-555-0101"]),
    st.sampled_from(["1990-01-02", "1990-01-02T00:00:00.000Z", "01/02/1990"]),
    st.just({"Email": {"status": "active"}}),
    st.just({"Email": {"status": "active", "message": ""}}),
)
NAMES = st.sampled_from(["firstName", "phone", "dateOfBirth", "dndSettings"])
CUSTOM = st.one_of(
    st.none(),
    st.sampled_from(["7", 7, 7.0, "golf", ["golf", "chess"], ["chess", "golf"]]),
)
TAGS = st.lists(st.sampled_from(["vip", "VIP", "new", "staff"]), max_size=3)


@st.composite
def pairs(draw: st.DrawFn) -> tuple[Contact, ObservedContact, frozenset[str]]:
    names = draw(st.lists(NAMES, unique=True, max_size=3))
    want = {n: draw(VALUES) for n in names}
    have = {n: draw(st.one_of(st.just(want[n]), VALUES)) for n in names}
    keys = draw(st.lists(st.sampled_from(sorted(TYPES)), unique=True, max_size=2))
    custom_want = {k: draw(CUSTOM) for k in keys}
    custom_have = {k: draw(st.one_of(st.just(custom_want[k]), CUSTOM)) for k in keys}
    tags = tuple(draw(TAGS))
    have_tags = tuple(draw(st.one_of(st.just(list(tags)), TAGS)))
    decl = contact(
        "ann@example.com",
        want,
        tags=tags,
        custom=custom_want,
        tags_exclusive=draw(st.booleans()),
    )
    obs = seen("c1", "ann@example.com", have, tags=have_tags, custom=custom_have)
    cleared = frozenset(draw(st.lists(st.sampled_from(sorted(TYPES)), max_size=1)))
    return decl, obs, cleared


@settings(max_examples=300, deadline=None)
@given(pairs())
def test_the_fast_path_never_hides_a_difference(
    pair: tuple[Contact, ObservedContact, frozenset[str]],
) -> None:
    decl, obs, cleared = pair
    if plainly_unchanged(decl, obs, cleared):
        diff = diff_contact(
            decl,
            obs,
            location_id="L1",
            field_types=TYPES,
            cleared_custom_fields=cleared,
        )
        assert diff.fields == () and diff.api_calls == 0


def test_identical_data_takes_the_fast_path() -> None:
    decl = contact("ann@example.com", {"firstName": "Ann"}, tags=("vip",))
    obs = seen("c1", "Ann@Example.com", {"firstName": "Ann"}, tags=("VIP", "x"))
    assert not plainly_unchanged(decl, obs, ())  # the email's case: compare in full
    obs = seen("c1", "ann@example.com", {"firstName": "Ann"}, tags=("VIP", "x"))
    assert plainly_unchanged(decl, obs, ())
    decl = contact("ann@example.com", custom={"pincode": "1"})
    obs = seen("c1", "ann@example.com", custom={"pincode": "1"})
    assert plainly_unchanged(decl, obs, ())
    assert not plainly_unchanged(decl, obs, ("pincode",))  # being replaced: cleared


def _plan_both_ways(
    monkeypatch: pytest.MonkeyPatch, desired: Any, observed: Any
) -> Any:
    fast = build_plan(desired, observed)
    monkeypatch.setattr(contact_kind, "plainly_unchanged", lambda *a: False)
    slow = build_plan(desired, observed)
    return fast, slow


def test_the_fast_path_plans_what_the_full_comparison_plans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    same = [
        contact(f"p{n}@example.com", {"firstName": f"P{n}"}, tags=("vip",))
        for n in range(5)
    ]
    spec = Spec(name="main", id="L1", contacts=tuple(same))
    found = tuple(
        seen(f"c{n}", f"p{n}@example.com", {"firstName": f"P{n}"}, tags=("vip",))
        for n in range(5)
    )
    desired = desired_state(spec)
    observed = observed_state(observed_location("main", "L1", contacts=found))
    fast, slow = _plan_both_ways(monkeypatch, desired, observed)
    assert fast == slow and fast.to_dict() == slow.to_dict()
    assert [c.action for c in fast.changes if c.kind == "contact"] == ["noop"] * 5


def test_the_representative_plan_is_the_same_either_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, slow = _plan_both_ways(monkeypatch, *representative())
    assert fast.to_dict() == slow.to_dict()
