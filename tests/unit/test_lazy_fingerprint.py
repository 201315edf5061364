"""An unchanged contact's fingerprint is worked out only when read, and is then the
text an eager one would have been: equal, hashed alike, saved alike."""

from __future__ import annotations

import dataclasses

from hlsync.core.fingerprint import LazyFingerprint, fingerprint
from hlsync.core.model import ObservedContact
from hlsync.core.plan import Change

ANN = ObservedContact(
    id="c1",
    key="email:ann@example.com",
    fields={"email": "ann@example.com", "firstName": "Ann"},
    tags=("vip",),
)
COMPARED = ("firstName", "tags.vip")


def _noop(value: str | LazyFingerprint) -> Change:
    return Change(
        address='main.contact["ann@example.com"]',
        action="noop",
        kind="contact",
        location="main",
        location_id="L1",
        key=ANN.key,
        object_id=ANN.id,
        fingerprint=value,
        compared=COMPARED,
    )


def test_it_is_the_eager_text_once_read() -> None:
    lazy = LazyFingerprint(ANN, COMPARED)
    eager = fingerprint(ANN, COMPARED)
    assert lazy._text is None  # nothing hashed yet
    assert str(lazy) == eager
    assert lazy == eager and eager == lazy  # both directions
    assert hash(lazy) == hash(eager)
    assert lazy != fingerprint(ANN, ("firstName",))
    assert LazyFingerprint(ANN, COMPARED) == lazy


def test_a_change_holding_one_is_the_change_holding_its_text() -> None:
    lazy, eager = (
        _noop(LazyFingerprint(ANN, COMPARED)),
        _noop(fingerprint(ANN, COMPARED)),
    )
    assert lazy == eager
    assert hash(lazy) == hash(eager)
    assert lazy.to_dict() == eager.to_dict()
    assert lazy.stale_reason(ANN) is None
    moved = dataclasses.replace(ANN, fields={**ANN.fields, "firstName": "Anne"})
    assert lazy.stale_reason(moved) == eager.stale_reason(moved) is not None
