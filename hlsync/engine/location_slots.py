"""``--parallel-locations N``: at most N locations read or written at once.

Each location has its own rate budget upstream, so hlsync runs them in parallel; on
one machine that costs a connection pool, memory for each location's pages and CPU
per location. :class:`LocationSlots` bounds how many locations have work in progress
at once. A location takes a slot when its first piece of work is ready to run and
gives it back when it has none ready or running (work waiting for another change,
such as a contact waiting for its tag, holds no slot), so a slot is never held while
waiting for another location and the bound cannot deadlock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class LocationSlots:
    """At most ``limit`` locations busy at once; ``None``: no bound."""

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self.limit = limit
        self._free = asyncio.Semaphore(limit) if limit is not None else None
        self._busy: dict[str, int] = {}
        self._opening: dict[str, asyncio.Lock] = {}

    @property
    def busy(self) -> int:
        """How many locations hold a slot now."""
        return sum(1 for n in self._busy.values() if n)

    @asynccontextmanager
    async def hold(self, location: str) -> AsyncIterator[None]:
        """Run the body as work of ``location``, taking its slot first if it has
        none (waiting while ``limit`` other locations are busy)."""
        if self._free is None:
            yield
            return
        async with self._opening.setdefault(location, asyncio.Lock()):
            if not self._busy.get(location):
                await self._free.acquire()
            self._busy[location] = self._busy.get(location, 0) + 1
        try:
            yield
        finally:
            self._busy[location] -= 1
            if not self._busy[location]:
                self._free.release()
