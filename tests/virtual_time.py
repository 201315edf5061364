"""Virtual time for asyncio tests: a clock and a sleep where time jumps to the next
timer once every task is waiting (the pacing and progress tests run minutes of paced
traffic in a second)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Sized
from dataclasses import dataclass, field


@dataclass
class VirtualTime:
    """A clock and sleep for asyncio where time jumps when every task is waiting:
    ``run`` lets the tasks settle (many loop turns), then wakes the next timers."""

    now: float = 0.0
    _timers: list[tuple[float, int, asyncio.Future[None]]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + delay, next(self._seq), future))
        await future

    async def run(self, main: Awaitable[None]) -> None:
        """Run ``main``; whenever no other callback is ready to run (every task waits
        on a timer here, or on a future only those timers lead to), jump to the next
        timer. Readiness is read off the loop's queue of ready callbacks (CPython's
        ``_ready``): a fixed number of loop turns per jump cost ~10 s of CPU a suite."""
        loop = asyncio.get_running_loop()
        ready: Sized = loop._ready  # type: ignore[attr-defined]
        task = asyncio.ensure_future(main)
        while not task.done():
            await asyncio.sleep(0)
            if ready:
                continue  # others can still run: let them
            if task.done() or not self._timers:
                continue
            self.now = max(self.now, self._timers[0][0])
            while self._timers and self._timers[0][0] <= self.now:
                future = heapq.heappop(self._timers)[2]
                if not future.done():
                    future.set_result(None)
        await task
