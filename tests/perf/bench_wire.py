"""Where a write's client CPU goes: each HTTP layer against the bare socket exchange.

3,000 contact upserts, 8 at a time, against ``hlsync emulator serve`` with its rate
limit lifted, through each stack in turn; the figure is the CPU time of this process
per request (the emulator runs in its own process), and its ratio to the bound
measured in the same run: the bare exchange — the request's bytes written on an
asyncio stream and the response read to its ``Content-Length`` — without building,
parsing or pacing anything beyond that.

* ``bare``: the bound;
* ``httpcore`` / ``Http11Transport``: an ``httpx.Request`` built and handed to
  httpx's default transport or to hlsync's (:mod:`hlsync.upstream.http11`), the body
  read through the transport's stream;
* ``httpx.AsyncClient`` / ``UpstreamClient``: the same through a client's ``post``;
* ``ApiClient``: hlsync's own call (``upsert_contact``: headers, pacer, retries,
  errors) on the client a run uses (:func:`hlsync.upstream.http_client.upstream_client`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections.abc import Awaitable, Callable

import httpx

from hlsync.upstream.client import ApiClient
from hlsync.upstream.http11 import Http11Transport
from hlsync.upstream.http_client import UpstreamClient, upstream_client
from hlsync.upstream.tls import tls_context
from tests.perf.support import (
    UNLIMITED,
    BenchmarkError,
    EmulatorSpec,
    Figure,
    RemoteEmulator,
    emulator_process,
    main_for,
)

TITLE = "wire"
REQUESTS = 3_000
CONCURRENCY = 8
PATH = "/contacts/upsert"

Call = Callable[[dict[str, str]], Awaitable[None]]


def _headers(emu: RemoteEmulator) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {emu.token}",
        "Version": "2021-07-28",
        "Accept": "application/json",
    }


async def _bare(emu: RemoteEmulator) -> tuple[Call, Callable[[], Awaitable[None]]]:
    host, port = emu.base_url.removeprefix("http://").split(":")
    streams = [
        await asyncio.open_connection(host, int(port)) for _ in range(CONCURRENCY)
    ]
    free = list(streams)
    head = "".join(f"{k}: {v}\r\n" for k, v in _headers(emu).items())

    async def call(body: dict[str, str]) -> None:
        reader, writer = free.pop()
        data = json.dumps(body).encode()
        writer.write(
            f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n{head}"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        answer = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in answer.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        json.loads(await reader.readexactly(length))
        free.append((reader, writer))

    async def close() -> None:
        for _, writer in streams:
            writer.close()
            await writer.wait_closed()

    return call, close


def _transport_call(
    emu: RemoteEmulator, transport: httpx.AsyncBaseTransport
) -> tuple[Call, Callable[[], Awaitable[None]]]:
    url = httpx.URL(emu.base_url + PATH)
    headers = _headers(emu)
    timeout = httpx.Timeout(60.0).as_dict()

    async def call(body: dict[str, str]) -> None:
        request = httpx.Request(
            "POST", url, json=body, headers=headers, extensions={"timeout": timeout}
        )
        answer = await transport.handle_async_request(request)
        json.loads(await answer.aread())
        await answer.aclose()

    return call, transport.aclose


def _client_call(
    emu: RemoteEmulator, client: httpx.AsyncClient
) -> tuple[Call, Callable[[], Awaitable[None]]]:
    headers = _headers(emu)

    async def call(body: dict[str, str]) -> None:
        (await client.post(PATH, json=body, headers=headers)).json()

    return call, client.aclose


def _api_call(emu: RemoteEmulator) -> tuple[Call, Callable[[], Awaitable[None]]]:
    client = upstream_client(emu.base_url, httpx.Timeout(60.0))
    location = ApiClient(client).location(emu.location_id, emu.token)

    async def call(body: dict[str, str]) -> None:
        await location.upsert_contact(body)

    return call, client.aclose


async def _stack(
    name: str, emu: RemoteEmulator
) -> tuple[Call, Callable[[], Awaitable[None]]]:
    timeout = httpx.Timeout(60.0)
    if name == "bare":
        return await _bare(emu)
    if name == "httpcore":
        return _transport_call(emu, httpx.AsyncHTTPTransport(verify=tls_context()))
    if name == "Http11Transport":
        return _transport_call(emu, Http11Transport())
    if name == "httpx.AsyncClient":
        client = httpx.AsyncClient(
            base_url=emu.base_url, timeout=timeout, verify=tls_context()
        )
        return _client_call(emu, client)
    if name == "UpstreamClient":
        return _client_call(emu, UpstreamClient(base_url=emu.base_url, timeout=timeout))
    return _api_call(emu)


STACKS = (
    "bare",
    "httpcore",
    "Http11Transport",
    "httpx.AsyncClient",
    "UpstreamClient",
    "ApiClient",
)


async def _drive(name: str, emu: RemoteEmulator, numbers: itertools.count[int]) -> None:
    call, close = await _stack(name, emu)
    location = emu.location_id

    async def worker(count: int) -> None:
        for _ in range(count):
            n = next(numbers)
            await call(
                {
                    "locationId": location,
                    "firstName": f"W{n}",
                    "email": f"w{n}@example.com",
                }
            )

    try:
        await asyncio.gather(
            *(worker(REQUESTS // CONCURRENCY) for _ in range(CONCURRENCY))
        )
    finally:
        await close()


def run() -> list[Figure]:
    figures: list[Figure] = []
    numbers = itertools.count()
    cpu: dict[str, float] = {}
    with emulator_process(EmulatorSpec(limits=UNLIMITED)) as emu:
        for name in STACKS:
            emu.reset()
            before, served = time.process_time(), emu.cpu_seconds()
            asyncio.run(_drive(name, emu, numbers))
            spent = time.process_time() - before
            answered = len(emu.requests())
            if answered != REQUESTS // CONCURRENCY * CONCURRENCY:
                raise BenchmarkError(f"{name}: {answered} requests served")
            cpu[name] = spent / answered
            after = emu.cpu_seconds()
            server = (
                ""
                if served is None or after is None
                else (f"; emulator {1000 * (after - served) / answered:.3f} ms/request")
            )
            figures.append(
                Figure(
                    TITLE,
                    f"{name}: client CPU per request",
                    1000 * cpu[name],
                    "ms",
                    f"{cpu[name] / cpu['bare']:.1f}x the bare exchange{server}; "
                    f"load average {os.getloadavg()[0]:.1f}",
                )
            )
    return figures


if __name__ == "__main__":
    main_for(run)
