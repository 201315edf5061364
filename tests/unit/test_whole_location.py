"""The whole-location read past page 1: every contact exactly once in the set, by page
mode, ``dateAdded`` steps and cursors, with the fewest requests the counts allow."""

from __future__ import annotations

import asyncio
import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

import pytest

from hlsync.upstream.client import SearchPage
from hlsync.upstream.whole_location import read_rest, whole_body


def _instant(n: int) -> str:
    return f"2026-01-01T00:{n // 60_000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z"


class Location:
    """Search over contacts sorted by (dateAdded, id), as upstream pages them."""

    def __init__(self, instants: Sequence[int], *, total: bool = True) -> None:
        self.contacts = sorted(
            (
                {"id": f"c{i:07d}", "dateAdded": _instant(at)}
                for i, at in enumerate(instants)
            ),
            key=lambda c: (c["dateAdded"], c["id"]),
        )
        self.with_total = total
        self.bodies: list[dict[str, Any]] = []
        self.drop_after: int | None = None  # drop one contact after this many asks
        self._sorted: tuple[list[tuple[str, str]], list[str]] | None = None

    async def search_contacts(self, body: dict[str, Any]) -> SearchPage:
        """One page of the contacts the body's ``dateAdded`` ranges keep, found by
        bisection on the sorted order (a scan per request made this file slow)."""
        self.bodies.append(body)
        await asyncio.sleep(0)
        if self.drop_after is not None and len(self.bodies) > self.drop_after:
            self.drop_after = None
            del self.contacts[len(self.contacts) // 2]
            self._sorted = None
        if self._sorted is None:
            keys = [(c["dateAdded"], c["id"]) for c in self.contacts]
            self._sorted = keys, [at for at, _ in keys]
        keys, instants = self._sorted
        low, high = 0, len(keys)
        for rule in body.get("filters", ()):
            assert rule["field"] == "dateAdded" and rule["operator"] == "range"
            ((operator, bound),) = rule["value"].items()
            if operator in ("gte", "gt"):
                cut = bisect_left if operator == "gte" else bisect_right
                low = max(low, cut(instants, bound))
            else:
                cut = bisect_right if operator == "lte" else bisect_left
                high = min(high, cut(instants, bound))
        high = max(low, high)
        limit = body["pageLimit"]
        if "searchAfter" in body:
            assert "page" not in body
            start = bisect_right(keys, tuple(body["searchAfter"]), low, high)
        else:
            assert body["page"] * limit <= 10_000
            start = low + (body["page"] - 1) * limit
        page = tuple(
            {**c, "searchAfter": [c["dateAdded"], c["id"]]}
            for c in self.contacts[start : min(start + limit, high)]
        )
        return SearchPage(page, high - low if self.with_total else None)


def _read(location: Location) -> list[str]:
    taken: list[str] = []

    async def main() -> None:
        first = await location.search_contacts(whole_body(page=1))
        await read_rest(
            location,  # type: ignore[arg-type]
            first,
            lambda contacts: taken.extend(c["id"] for c in contacts),
        )

    asyncio.run(main())
    return taken


@pytest.mark.parametrize(
    ("instants", "most_requests"),
    [
        (list(range(25_300)), 51 + 2),  # each contact its own instant: 2 steps
        ([7] * 12_345, 25),  # one bulk import: 20 pages, then cursor pages
        ([n // 700 for n in range(31_000)], 62 + 3),  # runs cross page boundaries
        ([n // 12_000 for n in range(30_000)], 60 + 4),  # runs beyond page mode
        ([0] * 9_700 + list(range(1, 1_000)), 22),  # a run ends near 10,000
        ([n // 500 for n in range(20_500)], 41 + 2),  # runs of exactly one page
        (list(range(10_000)), 20),  # page mode only
        (list(range(700)), 2),
    ],
)
def test_every_contact_is_read(instants: list[int], most_requests: int) -> None:
    location = Location(instants)
    taken = _read(location)
    assert set(taken) == {c["id"] for c in location.contacts}
    assert len(location.bodies) <= most_requests
    assert len(location.bodies) >= math.ceil(len(instants) / 500)
    for body in location.bodies:  # page mode never past 10,000
        assert body.get("page", 1) * body["pageLimit"] <= 10_000


def test_steps_ask_for_their_pages_at_once() -> None:
    location = Location(list(range(30_000)))
    _read(location)
    stepped = [b for b in location.bodies if b.get("filters")]
    assert stepped and all("page" in b for b in stepped)  # page mode, not cursors
    assert not any("searchAfter" in b for b in location.bodies)


def test_without_a_total_pages_then_cursors_until_a_short_page() -> None:
    location = Location(list(range(11_200)), total=False)
    taken = _read(location)
    assert set(taken) == {c["id"] for c in location.contacts}
    assert [("searchAfter" in b) for b in location.bodies] == [False] * 20 + [True] * 3


def test_a_contact_removed_during_the_read_leaves_the_rest_read_by_cursor() -> None:
    location = Location(list(range(30_000)))
    location.drop_after = 25
    before = {c["id"] for c in location.contacts}
    taken = _read(location)
    gone = before - {c["id"] for c in location.contacts}
    assert len(gone) == 1
    # every contact still there after the newest read when the counts broke is read
    assert {c["id"] for c in location.contacts} - set(taken) <= {
        c["id"] for c in location.contacts[14_000:16_000]
    }
    assert "searchAfter" in location.bodies[-1]


@pytest.mark.parametrize("seed", range(12))
def test_random_runs_of_one_instant_are_all_read(seed: int) -> None:
    rng = random.Random(seed)
    instants: list[int] = []
    at = 0
    while len(instants) < 26_000:
        at += 1
        instants += [at] * rng.choice([1, 1, 2, 3, 499, 500, 501, 999, 4_000, 10_001])
    location = Location(instants)
    taken = _read(location)
    assert set(taken) == {c["id"] for c in location.contacts}
    pages = math.ceil(len(instants) / 500)
    assert len(location.bodies) <= pages + pages // 5 + 4
