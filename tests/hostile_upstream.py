"""A hostile fake upstream: a small real HTTP server on 127.0.0.1 that misbehaves.

:func:`hostile_upstream` runs a threaded ``http.server`` for the ``with`` block; every
request is answered the way its :class:`Behaviour` says, whatever the path:

* ``MALFORMED`` — 200 ``application/json`` whose body is not JSON;
* ``HTML_502`` — a 502 HTML page of several kilobytes, as a load balancer sends it,
  echoing the Authorization header it received (a careless proxy would);
* ``HUGE`` — 200 ``application/json``, :data:`HUGE_BYTES` (30 MB) of one valid JSON
  object streamed in chunks without a Content-Length;
* ``STALL`` — accepts the request and says nothing for :data:`STALL_SECONDS` (90 s, or
  until the server stops);
* ``REDIRECT`` — 302 to the same path on a second server (another port of 127.0.0.1),
  which records whatever reaches it.

Each server records the requests it saw (method, path, headers), so a test can show
that a redirect target never received the Authorization header. Used by
``tests/integration/test_hostile_upstream.py`` and ``tests/perf/bench_hostile.py``.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUGE_BYTES = 30 * 1000 * 1000
STALL_SECONDS = 90.0
_CHUNK = 64 * 1024


class Behaviour(enum.Enum):
    MALFORMED = "malformed JSON"
    HTML_502 = "an HTML 502 page"
    HUGE = "a 30 MB body"
    STALL = "a 90 s stall"
    REDIRECT = "a redirect to another host"


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as a server received it."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass(slots=True)
class _Server:
    behaviour: Behaviour | None  # None: the redirect target, which answers 200 {}
    redirect_to: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    seen: list[Seen] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Hostile:
    """A running hostile upstream: its URL, and the redirect target's."""

    url: str
    other_url: str
    _main: _Server
    _other: _Server

    @property
    def seen(self) -> list[Seen]:
        return list(self._main.seen)

    @property
    def other_seen(self) -> list[Seen]:
        return list(self._other.seen)


def _html_page(authorization: str) -> bytes:
    rows = "\n".join(
        f"    <p>  upstream   node {n}  unavailable  </p>" for n in range(200)
    )
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n    <title>502 Bad Gateway</title>\n"
        "  </head>\n  <body>\n    <h1>502   Bad\n Gateway</h1>\n"
        f"    <p>request header: {authorization}</p>\n{rows}\n  </body>\n</html>\n"
    ).encode()


def _handler(server: _Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: a test's output is its assertions

        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            server.seen.append(Seen(self.command, self.path, dict(self.headers)))
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: that is the point

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer(self) -> None:
            behaviour = server.behaviour
            if behaviour is None:
                self._send(200, "application/json", b"{}")
            elif behaviour is Behaviour.MALFORMED:
                self._send(200, "application/json", b'{"customFields": [{"id": ')
            elif behaviour is Behaviour.HTML_502:
                auth = self.headers.get("authorization", "")
                self._send(502, "text/html; charset=utf-8", _html_page(auth))
            elif behaviour is Behaviour.REDIRECT:
                self.send_response(302)
                self.send_header("Location", server.redirect_to + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif behaviour is Behaviour.STALL:
                server.stop.wait(STALL_SECONDS)
            else:
                self._huge()

        def _huge(self) -> None:
            # HTTP/1.0 without Content-Length: the body ends when the connection does
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            item = b'{"id": "f", "name": "padding"},'
            chunk = item * (_CHUNK // len(item))
            self.wfile.write(b'{"customFields": [')
            sent = 0
            while sent < HUGE_BYTES and not server.stop.is_set():
                self.wfile.write(chunk)
                sent += len(chunk)
            self.wfile.write(b'{"id": "last"}]}')

    return Handler


@contextmanager
def _serving(server: _Server) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        server.stop.set()  # wake stalled handlers
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@contextmanager
def hostile_upstream(behaviour: Behaviour) -> Iterator[Hostile]:
    """A server misbehaving as ``behaviour`` says, plus the redirect target."""
    other = _Server(None)
    with _serving(other) as other_url:
        main = _Server(behaviour, redirect_to=other_url)
        with _serving(main) as url:
            yield Hostile(url, other_url, main, other)
