"""One connection pool per pacing key: :class:`PoolPerKey`, an httpx transport.

httpcore's pool does work proportional to the square of its connections on every
request and every response (it scans them all, and for each idle one counts them all
again, asking each socket whether it is readable). One pool for a whole run makes that
cost grow with the number of locations × their requests in flight: at 100 locations it
dominates hlsync's CPU. Each (token, location) key of the pacer gets its own pool
instead, so a pool holds about as many connections as its key has requests in flight
(the pacer's Little's-law limit). The key travels in the request's
:data:`POOL_EXTENSION` extension (:meth:`ApiClient.request` sets it; it holds the
pacer's key, a hash of the token, never the token); a request without it uses a shared
pool. All pools share one TLS context, the one httpx would make (building one
costs ~0.1 s).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx

__all__ = ["KEY_LIMITS", "POOL_EXTENSION", "PoolPerKey"]

POOL_EXTENSION = "hlsync_pool"
# Per key: the pacer keeps at most 64 requests of a key in flight.
KEY_LIMITS = httpx.Limits(max_connections=128, max_keepalive_connections=64)


class PoolPerKey(httpx.AsyncBaseTransport):
    """Routes each request to the pool of its key (:data:`POOL_EXTENSION`)."""

    def __init__(
        self,
        *,
        limits: httpx.Limits = KEY_LIMITS,
        verify: ssl.SSLContext | None = None,
        make: Callable[[], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self._limits = limits
        self._verify = verify
        self._make = make
        self._pools: dict[str, httpx.AsyncBaseTransport] = {}

    def __repr__(self) -> str:
        return f"PoolPerKey(pools={len(self._pools)})"

    def _new_pool(self) -> httpx.AsyncBaseTransport:
        if self._make is not None:
            return self._make()
        if self._verify is None:
            self._verify = httpx.create_ssl_context()  # what httpx would make
        return httpx.AsyncHTTPTransport(verify=self._verify, limits=self._limits)

    def pool(self, key: str) -> httpx.AsyncBaseTransport:
        """The pool of ``key`` (made on first use)."""
        found = self._pools.get(key)
        if found is None:
            found = self._pools[key] = self._new_pool()
        return found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = request.extensions.get(POOL_EXTENSION, "")
        return await self.pool(
            key if isinstance(key, str) else ""
        ).handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
