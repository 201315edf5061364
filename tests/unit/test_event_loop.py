"""``event_loop.run``: the coroutine's result, whatever its size, without its repr."""

from __future__ import annotations

import asyncio

import pytest

from hlsync.engine import event_loop


class _Loud:
    """A result that counts how often its repr is taken."""

    def __init__(self) -> None:
        self.reprs = 0

    def __repr__(self) -> str:
        self.reprs += 1
        return "_Loud()"


async def _answer() -> _Loud:
    await asyncio.sleep(0)
    return _Loud()


def test_the_result_comes_back_and_its_repr_is_never_taken() -> None:
    result = event_loop.run(_answer())
    assert isinstance(result, _Loud)
    assert result.reprs == 0


def test_an_error_in_the_coroutine_is_raised_as_is() -> None:
    async def fails() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        event_loop.run(fails())
