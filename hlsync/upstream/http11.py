"""HTTP/1.1 to the upstream over asyncio's own transports: :class:`Http11Transport`.

httpx's default transport (httpcore) spends most of a paced request's CPU in its
layers: anyio streams, a connection pool that scans every connection (and asks each
idle socket whether it is readable) on every request and response, and a write per
part of a request. This transport does the same HTTP/1.1 work with less: one
:class:`asyncio.Protocol` per connection that hands received bytes to h11 (the parser
httpcore uses), the request's head and body in one write, and idle connections kept
per origin in a stack, the most recently used first, so taking one is O(1).

What it keeps of httpcore's behaviour, for the live cloud as for the emulator:

* TLS with certificate verification: the SSL context httpx would make, one per process
  (:func:`~hlsync.upstream.tls.tls_context`: certifi's roots, or ``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR``), host names checked;
* keep-alive: a connection goes back to its origin's idle stack when its response was
  read to the end and neither side asked to close it; one idle for
  :data:`KEEPALIVE_EXPIRY` seconds, one the server closed, and one with bytes nobody
  asked for are closed instead of reused; at most :data:`MAX_IDLE` idle per origin;
* timeouts from the request's ``timeout`` extension (what httpx puts there): connect
  (TCP and TLS handshake) → :class:`httpx.ConnectTimeout`, each wait for the response
  → :class:`httpx.ReadTimeout`, a write the socket cannot take → ``WriteTimeout``;
* chunked bodies both ways (a request whose body is a stream is sent as it comes), and
  a response body read as it arrives: reading pauses while more than
  :data:`READ_BUFFER` bytes wait to be consumed;
* httpx's exceptions for what goes wrong (``ConnectError``, ``ReadError``,
  ``RemoteProtocolError`` — "Server disconnected without sending a response." —,
  ``LocalProtocolError``, ``UnsupportedProtocol``), so callers classify them as before.

There is no cap on connections: the pacer bounds what is in flight
(:mod:`hlsync.upstream.pacing`). Proxies are not spoken here:
:func:`hlsync.upstream.http_client.upstream_client` gives a client on httpx's own
transport, which honours ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and
``NO_PROXY``, whenever one of the proxy variables is set.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import h11
import httpx

from hlsync.upstream.tls import tls_context

__all__ = [
    "KEEPALIVE_EXPIRY",
    "MAX_IDLE",
    "READ_BUFFER",
    "Http11Transport",
]

KEEPALIVE_EXPIRY = 4.0  # seconds idle before a connection is closed (uvicorn: 5 s)
MAX_IDLE = 256  # idle connections kept per origin
READ_BUFFER = 256 * 1024  # received bytes waiting to be consumed before reading pauses
MAX_HEAD = 100 * 1024  # the largest response head (httpcore's limit)
_DEFAULT_PORTS = {b"http": 80, b"https": 443}

Origin = tuple[bytes, str, int]


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: asyncio's callbacks on one side, h11 and the awaiting
    request on the other."""

    def __init__(self, origin: Origin, lost: Callable[[_Connection], None]) -> None:
        self.origin = origin
        self._on_lost = lost
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self._incoming: list[bytes] = []
        self._buffered = 0
        self._reading_paused = False
        self._eof = False  # the server sent its FIN (or the connection is gone)
        self._lost: Exception | None = None  # why the connection broke, if it did
        self._closed = False
        self._waiter: asyncio.Future[bool] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._writing_paused = False

    # asyncio's side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._incoming.append(data)
        self._buffered += len(data)
        if self._buffered > READ_BUFFER and not self._reading_paused:
            self._reading_paused = True
            assert self.transport is not None
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = self._closed = True
        self._lost = exc
        self._wake()
        self.resume_writing()
        self._on_lost(self)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        waiter, self._writable = self._writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(False)

    # the request's side

    def reusable(self, now: float) -> bool:
        """Whether an idle connection may carry the next request."""
        return (
            not self._eof
            and not self._incoming
            and now - self.idle_since < KEEPALIVE_EXPIRY
        )

    def finished_cleanly(self) -> bool:
        """After a response read to its end: whether the connection may be kept."""
        state = self.h11
        return (
            state.our_state is h11.DONE
            and state.their_state is h11.DONE
            and not self._eof
            and not self._incoming
            and not state.trailing_data[0]
        )

    def close(self) -> None:
        """Drop the connection at once (no TLS close_notify, as httpcore does)."""
        if not self._closed:
            self._closed = self._eof = True
            if self.transport is not None:
                self.transport.abort()

    async def write(self, data: bytes, timeout: float | None) -> None:
        if self._closed:
            raise httpx.WriteError(_lost_text(self._lost, "writing"))
        assert self.transport is not None
        self.transport.write(data)
        if self._writing_paused:
            waiter = self._writable = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await waiter
            except TimeoutError:
                raise httpx.WriteTimeout("timed out writing the request") from None
            if self._closed:
                raise httpx.WriteError(_lost_text(self._lost, "writing"))

    async def next_event(self, timeout: float | None) -> Any:
        """h11's next event of the response, waiting at most ``timeout`` seconds for
        each piece of it."""
        connection = self.h11
        while True:
            try:
                event = connection.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event
            if self._incoming:
                chunks, self._incoming, self._buffered = self._incoming, [], 0
                connection.receive_data(
                    chunks[0] if len(chunks) == 1 else b"".join(chunks)
                )
                if self._reading_paused:
                    self._reading_paused = False
                    assert self.transport is not None
                    self.transport.resume_reading()
            elif self._eof:
                if self._lost is not None:
                    raise httpx.ReadError(_lost_text(self._lost, "reading"))
                pending, told = connection.trailing_data
                if told:  # h11 knew of the end and still wants more: never comes
                    raise httpx.RemoteProtocolError(
                        "Server disconnected in the middle of the response."
                    )
                if connection.their_state is h11.SEND_RESPONSE and not pending:
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response."
                    )
                connection.receive_data(b"")  # h11 ends the body or raises
            else:
                await self._wait(timeout)

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            expired = await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()
        if expired:
            raise httpx.ReadTimeout("timed out waiting for the response")


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(True)


def _lost_text(exc: Exception | None, doing: str) -> str:
    if exc is None:
        return f"the connection was closed while {doing}"
    return str(exc) or type(exc).__name__


class _Body(httpx.AsyncByteStream):
    """A response's body as it arrives; the connection goes back to its pool when
    the body has been read to its end, and is closed when the body is closed first."""

    def __init__(
        self, pool: Http11Transport, connection: _Connection, timeout: float | None
    ) -> None:
        self._pool = pool
        self._connection: _Connection | None = connection
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        try:
            while True:
                event = await connection.next_event(self._timeout)
                kind = type(event)
                if kind is h11.Data:
                    yield bytes(event.data)
                elif kind is h11.EndOfMessage:
                    self._connection = None
                    self._pool.put_back(connection)
                    return
                else:
                    raise httpx.RemoteProtocolError(
                        f"unexpected {kind.__name__} in a response body"
                    )
        except BaseException:
            self._connection = None
            self._pool.drop(connection)
            raise

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool.drop(connection)


class Http11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive over asyncio transports (see the module docstring).

    ``verify``: the SSL context for ``https`` (default: the process's one,
    :func:`~hlsync.upstream.tls.tls_context`);
    ``clock``: monotonic seconds, for the keep-alive expiry.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verify = verify
        self._clock = clock
        self._idle: dict[Origin, deque[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"Http11Transport(connections={len(self._open)})"

    @property
    def connections(self) -> int:
        """Open connections, busy or idle."""
        return len(self._open)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        scheme = url.raw_scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{url.scheme}://'."
            )
        origin = (
            scheme,
            url.raw_host.decode("ascii"),
            url.port or _DEFAULT_PORTS[scheme],
        )
        timeouts: Mapping[str, float | None] = request.extensions.get("timeout", {})
        connection = self._take(origin) or await self._connect(
            origin, timeouts.get("connect")
        )
        try:
            await self._send(connection, request, timeouts.get("write"))
            read = timeouts.get("read")
            while True:
                event = await connection.next_event(read)
                if type(event) is h11.Response:
                    break
                if type(event) is not h11.InformationalResponse:
                    raise httpx.RemoteProtocolError(
                        f"unexpected {type(event).__name__} instead of a response"
                    )
        except BaseException:
            self.drop(connection)
            raise
        return httpx.Response(
            event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(self, connection, read),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": event.reason},
        )

    async def _send(
        self, connection: _Connection, request: httpx.Request, timeout: float | None
    ) -> None:
        state = connection.h11
        try:
            head = state.send(
                h11.Request(
                    method=request.method,
                    target=request.url.raw_path,
                    headers=request.headers.raw,
                )
            )
            try:
                content: bytes | None = request.content
            except httpx.RequestNotRead:
                content = None
            if content is not None:
                data = state.send(h11.Data(data=content)) if content else b""
                end = state.send(h11.EndOfMessage())
                await connection.write(
                    b"".join((head or b"", data or b"", end or b"")), timeout
                )
                return
            await connection.write(head or b"", timeout)
            assert isinstance(request.stream, httpx.AsyncByteStream)
            async for chunk in request.stream:
                if chunk:
                    await connection.write(
                        state.send(h11.Data(data=chunk)) or b"", timeout
                    )
            await connection.write(state.send(h11.EndOfMessage()) or b"", timeout)
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from exc

    def _take(self, origin: Origin) -> _Connection | None:
        """An idle connection to ``origin`` still fit for a request, if any."""
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = self._clock()
        while idle:
            connection = idle.pop()
            if connection.reusable(now):
                return connection
            self.drop(connection)
        return None

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        tls = self._tls() if scheme == b"https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(origin, self._forget),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"timed out connecting to {host}:{port}"
            ) from None
        except OSError as exc:  # refused, unreachable, unknown host, TLS failures
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        self._open.add(connection)
        return connection

    def _tls(self) -> ssl.SSLContext:
        if self._verify is None:
            self._verify = tls_context()
        return self._verify

    def put_back(self, connection: _Connection) -> None:
        """A connection whose response was read to its end: idle again, or closed."""
        if self._closed or not connection.finished_cleanly():
            self.drop(connection)
            return
        connection.h11.start_next_cycle()
        idle = self._idle.setdefault(connection.origin, deque())
        if len(idle) >= MAX_IDLE:
            self.drop(idle.popleft())
        connection.idle_since = self._clock()
        idle.append(connection)

    def drop(self, connection: _Connection) -> None:
        """Close a connection that will not be reused."""
        self._open.discard(connection)
        connection.close()

    def _forget(self, connection: _Connection) -> None:
        """A connection is gone (closed by either side): no longer open or idle."""
        self._open.discard(connection)
        idle = self._idle.get(connection.origin)
        if idle and connection in idle:
            idle.remove(connection)

    async def aclose(self) -> None:
        """Close every connection, busy or idle."""
        self._closed = True
        self._idle.clear()
        connections, self._open = self._open, set()
        for connection in connections:
            connection.close()
