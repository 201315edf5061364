"""Http11Transport and UpstreamClient (hlsync.upstream.http11, http_client) against a
scripted server on 127.0.0.1 (tests/scripted_server.py): keep-alive and its ends,
chunked bodies both ways, timeouts, broken connections, TLS with a certificate made
for the test, cookies and the proxy fallback."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import struct
import subprocess
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from hlsync.upstream import http11
from hlsync.upstream.client import ApiClient
from hlsync.upstream.http11 import KEEPALIVE_EXPIRY, Http11Transport
from hlsync.upstream.http_client import (
    UpstreamClient,
    proxy_configured,
    upstream_client,
)
from tests.conftest import under_ci
from tests.scripted_server import Received, ScriptedServer, response

pytestmark = pytest.mark.integration

TIMEOUT = httpx.Timeout(10.0)


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


async def get(
    transport: httpx.AsyncBaseTransport, url: str, **options: Any
) -> tuple[int, bytes]:
    request = httpx.Request("GET", url, **options)
    answer = await transport.handle_async_request(request)
    body = b"".join([chunk async for chunk in answer.stream])  # type: ignore[union-attr]
    await answer.aclose()
    return answer.status_code, body


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run (no clock) until ``condition`` holds: callbacks of data that
    is already on the loopback."""
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def test_sequential_requests_reuse_one_connection() -> None:
    async def main() -> None:
        async with ScriptedServer() as server:
            transport = Http11Transport()
            for n in range(5):
                assert await get(transport, f"{server.url}/n{n}") == (200, b"/n%d" % n)
            assert server.accepted == 1 and transport.connections == 1
            await transport.aclose()
            await until(lambda: server.ended == 1)  # aclose closed it

    run(main)


def test_concurrent_requests_each_open_one_and_reuse_them_after() -> None:
    async def main() -> None:
        arrived = asyncio.Event()

        async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
            if len(server.requests) == 3:
                arrived.set()
            await arrived.wait()  # all three are on the wire at once
            writer.write(response(received.target.encode()))
            return True

        async with ScriptedServer(answer) as server:
            transport = Http11Transport()
            urls = [f"{server.url}/{n}" for n in range(3)]
            first = await asyncio.gather(*(get(transport, url) for url in urls))
            second = await asyncio.gather(*(get(transport, url) for url in urls))
            assert first == second == [(200, b"/0"), (200, b"/1"), (200, b"/2")]
            assert server.accepted == 3 and transport.connections == 3
            assert repr(transport) == "Http11Transport(connections=3)"
            await transport.aclose()

    run(main)


def test_idle_connections_beyond_the_cap_are_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http11, "MAX_IDLE", 1)

    async def main() -> None:
        arrived = asyncio.Event()

        async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
            if len(server.requests) == 3:
                arrived.set()
            await arrived.wait()
            writer.write(response())
            return True

        async with ScriptedServer(answer) as server:
            transport = Http11Transport()
            await asyncio.gather(*(get(transport, server.url) for _ in range(3)))
            assert transport.connections == 1  # the other two were closed
            await until(lambda: server.ended == 2)
            await transport.aclose()

    run(main)


def test_connection_close_and_a_server_that_closes_an_idle_connection() -> None:
    async def main() -> None:
        async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
            if received.target == "/close":
                writer.write(response(headers=("Connection: close",)))
            else:  # keep-alive as far as the headers go, then its idle timeout
                writer.write(response())
            return False

        async with ScriptedServer(answer) as server:
            transport = Http11Transport()
            assert await get(transport, f"{server.url}/close") == (200, b"ok")
            assert transport.connections == 0  # not kept: the server said close
            assert await get(transport, f"{server.url}/idle") == (200, b"ok")
            await until(lambda: transport.connections == 0)  # the server's FIN
            assert await get(transport, f"{server.url}/close") == (200, b"ok")
            assert server.accepted == 3
            await transport.aclose()

    run(main)


def test_an_idle_connection_past_the_keepalive_expiry_is_not_reused() -> None:
    now = [100.0]

    async def main() -> None:
        async with ScriptedServer() as server:
            transport = Http11Transport(clock=lambda: now[0])
            await get(transport, f"{server.url}/a")
            now[0] += KEEPALIVE_EXPIRY / 2
            await get(transport, f"{server.url}/b")
            assert server.accepted == 1
            now[0] += KEEPALIVE_EXPIRY
            await get(transport, f"{server.url}/c")
            assert server.accepted == 2 and transport.connections == 1
            assert [r.connection for r in server.requests] == [0, 0, 1]
            await transport.aclose()

    run(main)


def test_chunked_bodies_both_ways() -> None:
    async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
        assert received.headers["transfer-encoding"] == "chunked"
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for part in (received.body[:5], received.body[5:]):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        return True

    async def body() -> AsyncIterator[bytes]:
        for part in (b"hello ", b"", b"chunked ", b"world"):
            yield part

    async def main() -> None:
        async with ScriptedServer(answer) as server:
            transport = Http11Transport()
            status, echoed = await get(transport, f"{server.url}/", content=body())
            assert (status, echoed) == (200, b"hello chunked world")
            assert server.requests[0].body == b"hello chunked world"
            assert await get(transport, f"{server.url}/", content=body()) == (
                200,
                b"hello chunked world",
            )
            assert server.accepted == 1  # kept after a chunked answer
            await transport.aclose()

    run(main)


def test_a_large_body_arrives_whole_while_reading_pauses_and_resumes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http11, "READ_BUFFER", 4096)
    big = bytes(range(256)) * 8192  # 2 MiB

    async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(big))
        return True

    async def main() -> None:
        async with ScriptedServer(answer) as server:
            transport = Http11Transport()
            answered = await transport.handle_async_request(
                httpx.Request("GET", server.url)
            )
            chunks = []
            async for chunk in answered.stream:  # type: ignore[union-attr]
                chunks.append(chunk)
                for _ in range(20):  # a slow reader: the server gets ahead
                    await asyncio.sleep(0)
            assert b"".join(chunks) == big and len(chunks) > 1
            assert await get(transport, server.url) == (200, big)
            assert server.accepted == 1
            await transport.aclose()

    run(main)


def test_a_body_closed_before_its_end_drops_its_connection() -> None:
    async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(b"x" * 1_000_000))
        return True

    async def main() -> None:
        async with ScriptedServer(answer) as server:
            transport = Http11Transport()
            answered = await transport.handle_async_request(
                httpx.Request("GET", server.url)
            )
            async for _ in answered.stream:  # type: ignore[union-attr]
                break
            await answered.aclose()
            assert transport.connections == 0
            assert (await get(transport, server.url))[0] == 200
            assert server.accepted == 2
            await transport.aclose()

    run(main)


def test_head_and_no_content_answers_have_no_body() -> None:
    async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
        if received.method == "HEAD":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        else:
            writer.write(
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
            )
        return True

    async def main() -> None:
        async with ScriptedServer(answer) as server:
            transport = Http11Transport()
            head = await transport.handle_async_request(
                httpx.Request("HEAD", server.url)
            )
            assert head.status_code == 200 and await head.aread() == b""
            await head.aclose()
            assert await get(transport, server.url) == (204, b"")
            assert server.accepted == 1
            await transport.aclose()

    run(main)


def test_a_silent_server_is_a_read_timeout() -> None:
    async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
        await asyncio.Event().wait()  # never answers (cancelled at the end)
        return False

    async def main() -> None:
        async with ScriptedServer(answer) as server:
            transport = Http11Transport()
            with pytest.raises(httpx.ReadTimeout):
                await get(
                    transport,
                    server.url,
                    extensions={"timeout": {"read": 0.05, "connect": 5}},
                )
            assert transport.connections == 0
            await transport.aclose()

    run(main)


def test_a_tls_handshake_that_never_ends_is_a_connect_timeout() -> None:
    async def main() -> None:
        async with ScriptedServer() as server:  # plain TCP: says nothing to a hello
            transport = Http11Transport()
            with pytest.raises(httpx.ConnectTimeout):
                await get(
                    transport,
                    f"https://127.0.0.1:{server.port}/",
                    extensions={"timeout": {"connect": 0.05}},
                )
            assert transport.connections == 0
            await transport.aclose()

    run(main)


def test_a_refused_connection_is_a_connect_error_with_its_request() -> None:
    async def main() -> None:
        async with ScriptedServer() as server:
            url = server.url
        async with UpstreamClient(base_url=url, timeout=TIMEOUT) as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.get("/gone")
            assert caught.value.request.url == f"{url}/gone"

    run(main)


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (b"", "Server disconnected without sending a response."),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
            "peer closed connection without sending complete message body",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "peer unexpectedly closed"),
        (b"NOT HTTP AT ALL\r\n\r\n", "illegal status line"),
    ],
    ids=["nothing", "short-body", "half-a-head", "garbage"],
)
def test_a_broken_answer_is_a_remote_protocol_error(sent: bytes, message: str) -> None:
    async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
        writer.write(sent)
        return False  # and close

    async def main() -> None:
        async with ScriptedServer(answer) as server:
            transport = Http11Transport()
            with pytest.raises(httpx.RemoteProtocolError, match=message):
                await get(transport, server.url)
            assert transport.connections == 0
            await transport.aclose()

    run(main)


def test_an_unsupported_scheme_and_a_bad_header_are_refused_before_sending() -> None:
    async def main() -> None:
        transport = Http11Transport()
        with pytest.raises(httpx.UnsupportedProtocol):
            await get(transport, "ftp://127.0.0.1/file")
        async with ScriptedServer() as server:
            with pytest.raises(httpx.LocalProtocolError):
                await get(transport, server.url, headers={"Bad Name": "x"})
            assert server.requests == []
            await transport.aclose()
            with pytest.raises(RuntimeError, match="closed"):
                await get(transport, server.url)

    run(main)


# --- TLS --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, made by ``openssl`` for this run."""
    if shutil.which("openssl") is None:
        if under_ci():
            pytest.fail("openssl is needed to make the test certificate")
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_is_verified_against_the_trusted_roots_and_the_host_name(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))

    async def main() -> None:
        async with ScriptedServer(tls=served) as server:
            localhost = f"https://localhost:{server.port}"
            transport = Http11Transport(verify=trusting)
            assert await get(transport, f"{localhost}/a") == (200, b"/a")
            assert await get(transport, f"{localhost}/b") == (200, b"/b")
            assert server.accepted == 1  # kept alive over TLS too
            with pytest.raises(httpx.ConnectError, match="match|mismatch"):
                await get(transport, f"https://127.0.0.1:{server.port}/")  # not named
            await transport.aclose()
            default = Http11Transport()  # certifi's roots: this certificate is unknown
            with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
                await get(default, f"{localhost}/")
            await default.aclose()

    run(main)


# --- the client ---------------------------------------------------------------------


def test_the_client_sends_cookies_back_once_upstream_set_some() -> None:
    async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
        cookie = ("Set-Cookie: seen=1; Path=/",) if received.target == "/set" else ()
        writer.write(
            response(received.headers.get("cookie", "-").encode(), headers=cookie)
        )
        return True

    async def main() -> None:
        async with ScriptedServer(answer) as server:
            async with UpstreamClient(base_url=server.url, timeout=TIMEOUT) as client:
                assert (await client.get("/before")).content == b"-"
                # a request built without the client still gets its timeouts
                bare = await client.send(httpx.Request("GET", f"{server.url}/bare"))
                assert bare.request.extensions["timeout"] == TIMEOUT.as_dict()
                assert (await client.get("/set")).content == b"-"
                assert (await client.get("/after")).content == b"seen=1"
                assert server.accepted == 1

    run(main)


def test_the_api_client_over_the_upstream_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)

    async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
        assert received.headers["authorization"] == "Bearer tok-1"
        assert received.headers["version"] == "2021-07-28"
        writer.write(response(b'{"tags": [{"id": "t1", "name": "vip"}]}'))
        return True

    async def main() -> None:
        async with ScriptedServer(answer) as server:
            async with upstream_client(server.url, TIMEOUT) as http:
                assert isinstance(http, UpstreamClient)
                location = ApiClient(http).location("loc-1", "tok-1")
                for _ in range(3):
                    assert await location.list_tags() == [{"id": "t1", "name": "vip"}]
            assert [r.target for r in server.requests] == ["/locations/loc-1/tags"] * 3
            assert server.accepted == 1

    run(main)


def test_with_a_proxy_variable_set_the_client_goes_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not proxy_configured({})
    assert proxy_configured({"https_proxy": "http://127.0.0.1:1"})

    async def main() -> None:
        async with ScriptedServer() as proxy:  # answers with the target it was asked
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            assert proxy_configured(os.environ)
            async with upstream_client("http://upstream.test", TIMEOUT) as http:
                assert not isinstance(http, UpstreamClient)
                answered = await http.get("/locations/x")
            assert answered.content == b"http://upstream.test/locations/x"

    run(main)


def test_a_reset_connection_is_a_read_error() -> None:
    async def answer(received: Received, writer: asyncio.StreamWriter) -> bool:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False  # closed with a reset, no answer

    async def main() -> None:
        async with ScriptedServer(answer) as server:
            transport = Http11Transport()
            with pytest.raises(httpx.ReadError):
                await get(transport, server.url)
            assert transport.connections == 0
            await transport.aclose()

    run(main)


def test_a_server_that_reads_nothing_is_a_write_timeout() -> None:
    async def main() -> None:
        done = asyncio.Event()

        async def stuck(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await done.wait()  # reads nothing, answers nothing until the end
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(stuck, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport = Http11Transport()
        with pytest.raises(httpx.WriteTimeout):
            await get(
                transport,
                f"http://127.0.0.1:{port}/",
                content=b"x" * (64 * 1024 * 1024),  # more than the socket buffers
                extensions={"timeout": {"write": 0.05}},
            )
        assert transport.connections == 0
        await transport.aclose()
        done.set()
        server.close()
        await server.wait_closed()

    run(main)
