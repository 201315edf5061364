"""One connection pool per pacing key (hlsync.upstream.pools)."""

from __future__ import annotations

import asyncio

import httpx

from hlsync.upstream.client import ApiClient
from hlsync.upstream.pacing import pace_key
from hlsync.upstream.pools import PER_POOL, POOL_EXTENSION, SPREAD, PoolPerKey


def test_each_pacing_key_gets_its_own_pool_and_all_are_closed() -> None:
    made: list[list[str]] = []
    closed: list[int] = []

    def make() -> httpx.AsyncBaseTransport:
        seen: list[str] = []
        made.append(seen)

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request.url.path)
            return httpx.Response(200, json={"tags": []})

        class Recorded(httpx.MockTransport):
            async def aclose(self) -> None:
                closed.append(len(made))

        return Recorded(answer)

    async def main() -> None:
        transport = PoolPerKey(make=make)
        async with httpx.AsyncClient(
            base_url="http://127.0.0.1:9", transport=transport
        ) as http:
            api = ApiClient(http)
            one, two = api.location("loc1", "tok-1"), api.location("loc2", "tok-2")
            await asyncio.gather(one.list_tags(), two.list_tags(), one.list_tags())
            assert transport.pools(pace_key("tok-1", "loc1")) == 1
            assert repr(transport) == "PoolPerKey(keys=2)"

    asyncio.run(main())
    assert sorted(made) == [
        ["/locations/loc1/tags", "/locations/loc1/tags"],
        ["/locations/loc2/tags"],
    ]
    assert len(closed) == 2


def test_a_request_without_a_key_uses_the_shared_pool() -> None:
    pools: list[httpx.AsyncBaseTransport] = []

    def make() -> httpx.AsyncBaseTransport:
        pools.append(httpx.MockTransport(lambda _: httpx.Response(204)))
        return pools[-1]

    async def main() -> None:
        transport = PoolPerKey(make=make)
        request = httpx.Request("GET", "http://127.0.0.1:9/x")
        assert (await transport.handle_async_request(request)).status_code == 204
        other = httpx.Request(
            "GET", "http://127.0.0.1:9/y", extensions={POOL_EXTENSION: ""}
        )
        await transport.handle_async_request(other)
        await transport.aclose()

    asyncio.run(main())
    assert len(pools) == 1


def test_a_key_gets_another_pool_only_while_its_pools_are_busy() -> None:
    made: list[httpx.AsyncBaseTransport] = []

    def make() -> httpx.AsyncBaseTransport:
        made.append(httpx.MockTransport(lambda _: httpx.Response(200, content=b"ok")))
        return made[-1]

    def request() -> httpx.Request:
        return httpx.Request(
            "GET", "http://127.0.0.1:9/x", extensions={POOL_EXTENSION: "k"}
        )

    async def main() -> None:
        transport = PoolPerKey(make=make)
        first = [
            await transport.handle_async_request(request()) for _ in range(PER_POOL)
        ]
        assert transport.pools("k") == 1
        one_more = await transport.handle_async_request(request())
        assert transport.pools("k") == 2  # PER_POOL in flight in the first one
        for response in (*first, one_more):
            await response.aclose()
        for _ in range(3 * PER_POOL):  # one at a time: the least busy pool suffices
            await (await transport.handle_async_request(request())).aclose()
        assert transport.pools("k") == 2
        held = [
            await transport.handle_async_request(request())
            for _ in range(PER_POOL * SPREAD + 5)
        ]
        assert transport.pools("k") == SPREAD  # never more
        for response in held:
            await response.aclose()
        await transport.aclose()

    asyncio.run(main())
