"""Many small connection pools behind one transport (hlsync.upstream.pools)."""

from __future__ import annotations

import asyncio

import httpx

from hlsync.upstream.client import ApiClient
from hlsync.upstream.pools import PER_POOL, SmallPools


def _request() -> httpx.Request:
    return httpx.Request("GET", "http://127.0.0.1:9/x")


def test_a_pool_is_added_only_while_every_pool_is_busy() -> None:
    made: list[httpx.AsyncBaseTransport] = []
    closed: list[int] = []

    class Recorded(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(len(made))

    def make() -> httpx.AsyncBaseTransport:
        made.append(Recorded(lambda _: httpx.Response(200, content=b"ok")))
        return made[-1]

    async def main() -> None:
        transport = SmallPools(make=make)
        first = [
            await transport.handle_async_request(_request()) for _ in range(PER_POOL)
        ]
        assert transport.pools == 1
        one_more = await transport.handle_async_request(_request())
        assert transport.pools == 2  # PER_POOL in flight in the first one
        for response in (*first, one_more):
            assert await response.aread() == b"ok"
            await response.aclose()
        for _ in range(3 * PER_POOL):  # one at a time: the least busy pool suffices
            await (await transport.handle_async_request(_request())).aclose()
        assert transport.pools == 2
        held = [
            await transport.handle_async_request(_request())
            for _ in range(3 * PER_POOL)
        ]
        assert transport.pools == 3  # 3 x PER_POOL in flight: three pools
        for response in held:
            await response.aclose()
        await transport.aclose()

    asyncio.run(main())
    assert len(closed) == 3  # every pool closed


def test_the_client_sends_every_location_through_the_pools() -> None:
    seen: list[str] = []

    def make() -> httpx.AsyncBaseTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request.url.path)
            return httpx.Response(200, json={"tags": []})

        return httpx.MockTransport(answer)

    async def main() -> None:
        transport = SmallPools(make=make)
        async with httpx.AsyncClient(
            base_url="http://127.0.0.1:9", transport=transport
        ) as http:
            api = ApiClient(http)
            one, two = api.location("loc1", "tok-1"), api.location("loc2", "tok-2")
            await asyncio.gather(one.list_tags(), two.list_tags())
            assert repr(transport).startswith("SmallPools(pools=")

    asyncio.run(main())
    assert sorted(seen) == ["/locations/loc1/tags", "/locations/loc2/tags"]


def test_closing_goes_on_past_a_pool_that_raises() -> None:
    closed: list[str] = []

    class Failing(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append("failing")
            raise RuntimeError("boom")

    class Fine(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append("fine")

    kinds = iter((Failing, Fine))

    def make() -> httpx.AsyncBaseTransport:
        return next(kinds)(lambda _: httpx.Response(204))

    async def main() -> None:
        transport = SmallPools(make=make)
        held = [
            await transport.handle_async_request(_request())
            for _ in range(PER_POOL + 1)
        ]
        assert transport.pools == 2
        for response in held:
            await response.aclose()
        try:
            await transport.aclose()
        except RuntimeError as exc:
            assert str(exc) == "boom"
        else:
            raise AssertionError("the first pool's error was swallowed")

    asyncio.run(main())
    assert closed == ["failing", "fine"]
