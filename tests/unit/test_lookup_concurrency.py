"""Batched lookups start as many at once as the pacer may keep in flight (its cap), so
the pacer's Little's-law concurrency, not a fixed number, sets the read's pace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from hlsync.upstream.contact_search import lookup_contacts
from hlsync.upstream.pacing import DEFAULT_MAX_IN_FLIGHT


class Upstream:
    """Answers each lookup with the contacts it asked for, after every started
    lookup has had a turn (so all that may start do start)."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0

    async def iter_search(
        self,
        *,
        filters: Sequence[Mapping[str, Any]] = (),
        sort: Sequence[Mapping[str, str]] = (),
        page_limit: int = 100,
    ) -> AsyncIterator[dict[str, Any]]:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        for _ in range(3):
            await asyncio.sleep(0)
        self.in_flight -= 1
        for rule in filters[0]["filters"]:
            yield {"id": rule["value"], "email": rule["value"]}


def test_lookups_start_up_to_the_pacers_cap_and_find_every_key() -> None:
    keys = [f"email:p{n:05d}@example.com" for n in range(100 * 100)]
    upstream = Upstream()
    found = asyncio.run(lookup_contacts(upstream, keys, 100))  # type: ignore[arg-type]
    assert sorted(found) == keys
    assert upstream.most == DEFAULT_MAX_IN_FLIGHT  # 100 lookups, capped; not 20
