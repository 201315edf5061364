"""A scripted HTTP/1.1 server on 127.0.0.1 for transport tests: each request is parsed
(``Content-Length`` and chunked bodies) and handed with the connection's writer to an
``answer`` coroutine, which writes whatever bytes the test wants and says whether to
keep the connection open. It runs in the test's own event loop."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Received:
    """One request as the server read it; ``connection``: which accepted connection
    (0, 1, …) carried it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int


Answer = Callable[[Received, asyncio.StreamWriter], Awaitable[bool]]


def response(
    body: bytes = b"ok", status: str = "200 OK", headers: tuple[str, ...] = ()
) -> bytes:
    """A whole response with a Content-Length."""
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def answer_ok(received: Received, writer: asyncio.StreamWriter) -> bool:
    """``200 OK`` with the request's target as the body; keep the connection."""
    writer.write(response(received.target.encode()))
    return True


@dataclass(slots=True, eq=False)
class ScriptedServer:
    answer: Answer = answer_ok
    tls: ssl.SSLContext | None = None
    requests: list[Received] = field(default_factory=list)
    accepted: int = 0  # connections accepted so far
    ended: int = 0  # connections over (either side closed)
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", 0, ssl=self.tls
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        index = self.accepted
        self.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                received = await _read_request(reader, index)
                if received is None:
                    break
                self.requests.append(received)
                keep = await self.answer(received, writer)
                await writer.drain()
                if not keep:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.ended += 1
            writer.close()


async def _read_request(
    reader: asyncio.StreamReader, connection: int
) -> Received | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed the connection between requests
    line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    method, target, _ = line.split(" ", 2)
    headers = {}
    for text in lines:
        name, value = text.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Received(method, target, headers, body, connection)
