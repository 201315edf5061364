"""The ``httpx.AsyncClient`` a run talks to a served upstream with: :func:`upstream_client`.

It is an :class:`UpstreamClient` on :class:`~hlsync.upstream.http11.Http11Transport`,
unless a proxy variable that httpx honours is set (``HTTP_PROXY``, ``HTTPS_PROXY``,
``ALL_PROXY``, in either case): then it is a plain ``httpx.AsyncClient`` on httpx's own
transport, which speaks to the proxy and applies ``NO_PROXY`` as httpx always did.

:class:`UpstreamClient` sends a request the way ``AsyncClient.send`` does when the
client has no auth, no event hooks, no cookies and follows no redirects — hlsync's
case: the request goes to the transport, the response gets its request, and its
cookies are stored only when it sets some (``Set-Cookie``), after which every later
request takes httpx's own way, which sends them back. What the shortcut leaves out is
work with nothing to do: an auth flow that passes the request through, a redirect loop
that returns at once, empty hook lists, an empty cookie jar and its per-response
parse of every header. Any other configuration goes through ``AsyncClient.send``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from hlsync.upstream.http11 import Http11Transport
from hlsync.upstream.tls import tls_context

__all__ = ["PROXY_VARIABLES", "UpstreamClient", "proxy_configured", "upstream_client"]

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


class UpstreamClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` on one :class:`Http11Transport` whose ``send`` skips
    the layers that have nothing to do (module docstring)."""

    def __init__(
        self,
        *,
        base_url: str,
        timeout: httpx.Timeout,
        transport: Http11Transport | None = None,
    ) -> None:
        self._wire = transport or Http11Transport()
        super().__init__(base_url=base_url, timeout=timeout, transport=self._wire)

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: Any = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        if (
            auth is not httpx.USE_CLIENT_DEFAULT
            or follow_redirects is True
            or self.auth is not None
            or self.follow_redirects
            or self.cookies
            or self.is_closed
            or any(self.event_hooks.values())
        ):
            return await super().send(
                request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
        if "timeout" not in request.extensions:
            request.extensions["timeout"] = self.timeout.as_dict()
        try:
            response = await self._wire.handle_async_request(request)
        except httpx.RequestError as exc:
            exc.request = request  # as httpx's own send does
            raise
        response.request = request
        if "set-cookie" in response.headers:
            self.cookies.extract_cookies(response)
        if not stream:
            try:
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
        return response


def proxy_configured(environ: Mapping[str, str]) -> bool:
    """Whether a proxy variable httpx honours is set in ``environ`` (either case)."""
    return any(
        environ.get(name) or environ.get(name.lower()) for name in PROXY_VARIABLES
    )


def upstream_client(base_url: str, timeout: httpx.Timeout) -> httpx.AsyncClient:
    """The HTTP client of a run against ``base_url`` (module docstring); the proxy
    variables are read from the process environment, as httpx reads them."""
    if proxy_configured(os.environ):
        return httpx.AsyncClient(
            base_url=base_url, timeout=timeout, trust_env=True, verify=tls_context()
        )
    return UpstreamClient(base_url=base_url, timeout=timeout)
