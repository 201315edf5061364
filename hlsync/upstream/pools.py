"""Small connection pools per pacing key: :class:`PoolPerKey`, an httpx transport.

httpcore's pool does work proportional to the square of its connections on every
request and every response (it scans them all, and for each idle one counts them all
again, asking each socket whether it is readable). One pool for a whole run makes that
cost grow with the number of locations × their requests in flight (at 100 locations it
dominated hlsync's CPU), and one pool per key still cost ~6 ms of CPU per request at
40 in flight (200 ms latency at 100 requests/s). So each (token, location) key of the
pacer gets small pools: a request goes to the key's least busy pool, and a key gets
another pool (up to :data:`SPREAD`) while all of its pools have :data:`PER_POOL`
requests in flight. A pool then holds about as many connections as it has requests in
flight, a few (the pacer's Little's-law limit is at most 64 per key); 4 per pool cost
~10 % less CPU than 8 on 1,500 paced creates, 2 no less than 4.

The key travels in the request's :data:`POOL_EXTENSION` extension
(:meth:`ApiClient.request` sets it: the pacer's key, a hash of the token, never the
token); requests without it share the pools of the key ``""``. All pools share one TLS
context, the one httpx would make (building one costs ~0.1 s).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

__all__ = ["PER_POOL", "POOL_EXTENSION", "POOL_LIMITS", "SPREAD", "PoolPerKey"]

POOL_EXTENSION = "hlsync_pool"
PER_POOL = 4  # requests in flight per pool before a key gets another pool
SPREAD = 16  # pools per key at most (16 x 4 = the pacer's cap of 64)
POOL_LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=8)


@dataclass(slots=True, eq=False)
class _Pool:
    transport: httpx.AsyncBaseTransport
    active: int = 0  # requests sent through it whose response is not closed


class _Counted(httpx.AsyncByteStream):
    """A response body that gives its pool's slot back when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, pool: _Pool) -> None:
        self._stream = stream
        self._pool: _Pool | None = pool

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.active -= 1
            self._pool = None
        await self._stream.aclose()


class PoolPerKey(httpx.AsyncBaseTransport):
    """Routes each request to the least busy pool of its key (:data:`POOL_EXTENSION`),
    adding a pool while every one has :data:`PER_POOL` requests in flight."""

    def __init__(
        self,
        *,
        limits: httpx.Limits = POOL_LIMITS,
        verify: ssl.SSLContext | None = None,
        make: Callable[[], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self._limits = limits
        self._verify = verify
        self._make = make
        self._pools: dict[str, list[_Pool]] = {}

    def __repr__(self) -> str:
        return f"PoolPerKey(keys={len(self._pools)})"

    def _new_pool(self) -> httpx.AsyncBaseTransport:
        if self._make is not None:
            return self._make()
        if self._verify is None:
            self._verify = httpx.create_ssl_context()  # what httpx would make
        return httpx.AsyncHTTPTransport(verify=self._verify, limits=self._limits)

    def pools(self, key: str) -> int:
        """How many pools ``key`` has."""
        return len(self._pools.get(key, ()))

    def _pick(self, key: str) -> _Pool:
        pools = self._pools.setdefault(key, [])
        best = min(pools, key=lambda pool: pool.active, default=None)
        if best is None or (best.active >= PER_POOL and len(pools) < SPREAD):
            best = _Pool(self._new_pool())
            pools.append(best)
        return best

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = request.extensions.get(POOL_EXTENSION, "")
        pool = self._pick(key if isinstance(key, str) else "")
        pool.active += 1
        try:
            response = await pool.transport.handle_async_request(request)
        except BaseException:
            pool.active -= 1
            raise
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Counted(stream, pool),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        groups, self._pools = list(self._pools.values()), {}
        for group in groups:
            for pool in group:
                await pool.transport.aclose()
