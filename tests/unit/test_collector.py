"""The collector settings of the bulk phases are undone when they end, also on error."""

from __future__ import annotations

import gc

import pytest

from hlsync.engine import collector


@pytest.mark.parametrize("declared", [0, collector.COLLECT_FROM])
def test_reading_freezes_and_raises_the_threshold_then_restores_both(
    monkeypatch: pytest.MonkeyPatch, declared: int
) -> None:
    """A large config is collected before it is frozen; a small one is not (a full
    pass over the process costs more than its loading's garbage)."""
    collected: list[int] = []

    def collect(*generation: int) -> int:
        collected.append(1)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    before = gc.get_threshold()
    with collector.reading(declared):
        assert gc.get_threshold()[0] >= collector.YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert collected == ([1] if declared >= collector.COLLECT_FROM else [])


def test_planning_pauses_collection_and_resumes_it_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(ValueError), collector.planning():
        assert not gc.isenabled()
        raise ValueError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.planning():
            pass
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()
