"""``run(main)``: ``asyncio.run`` for a coroutine whose result may be large.

On Python 3.11, ``asyncio.run`` ends by restoring the SIGINT handler it installed
(a ``functools.partial`` holding the main task), and ``signal.signal`` formats that
handler's ``repr`` while looking it up among the ``Handlers`` enum: the task's repr
includes its result's, which walks every object of a plan of 100,000 contacts (about a
second) only to cut the text to a few dozen characters. ``run`` keeps the result out of
the main task, so that repr stays short whatever the coroutine returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``'s result, without its repr costing time at the end."""
    box: list[T] = []

    async def keep() -> None:
        box.append(await main)

    asyncio.run(keep())
    return box[0]
