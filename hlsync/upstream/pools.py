"""Many small connection pools behind one httpx transport: :class:`SmallPools`.

httpcore's pool does work proportional to the square of its connections on every
request and every response (it scans them all, and for each idle one counts them all
again, asking each socket whether it is readable). One pool for a whole run made that
cost grow with everything in flight: ~6 ms of CPU per request at 40 in flight (200 ms
latency at 100 requests/s), and most of the CPU at 100 locations. So requests go to
the least busy of several small pools, and a pool is added only while every pool has
:data:`PER_POOL` requests in flight: each pool holds a few connections, and, as with
one pool, an idle connection is reused by the next request whatever its location or
token (4 per pool cost ~10 % less CPU than 8 on 1,500 paced creates, 2 no less than 4).
All pools share the process's one TLS context (``upstream/tls.py``).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

from hlsync.upstream.tls import tls_context

__all__ = ["PER_POOL", "POOL_LIMITS", "SmallPools"]

PER_POOL = 4  # requests in flight per pool before another pool is added
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


class SmallPools(httpx.AsyncBaseTransport):
    """Routes each request to the least busy pool, adding a pool while every one has
    :data:`PER_POOL` requests in flight."""

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
        self._pools: list[_Pool] = []

    def __repr__(self) -> str:
        return f"SmallPools(pools={len(self._pools)})"

    @property
    def pools(self) -> int:
        """How many pools there are so far."""
        return len(self._pools)

    def _new_pool(self) -> httpx.AsyncBaseTransport:
        if self._make is not None:
            return self._make()
        if self._verify is None:
            self._verify = tls_context()
        return httpx.AsyncHTTPTransport(verify=self._verify, limits=self._limits)

    def _pick(self) -> _Pool:
        best = min(self._pools, key=lambda pool: pool.active, default=None)
        if best is None or best.active >= PER_POOL:
            best = _Pool(self._new_pool())
            self._pools.append(best)
        return best

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pick()
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
        """Close every pool, even when closing one raises (a cancelled run closes its
        client while cancelled): the first exception is raised after the last."""
        pools, self._pools = self._pools, []
        first: BaseException | None = None
        for pool in pools:
            try:
                await pool.transport.aclose()
            except BaseException as exc:
                first = first or exc
        if first is not None:
            raise first
