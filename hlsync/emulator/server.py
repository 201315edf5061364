"""Running the emulator app over HTTP with uvicorn: in the foreground or in a thread.

``hlsync emulator serve`` uses :func:`serve_forever` (main thread; SIGINT and SIGTERM
end it cleanly with exit code 0). Tests and benchmarks use :class:`ServerThread`, which
binds 127.0.0.1 port 0 itself so the real port is known before the first request.

A connection that ends mid-request is one log line on stderr, not a traceback: a client
that went away before its request was read (starlette's ``ClientDisconnect``), or the
"drop" fault cutting an answer short (:class:`~hlsync.emulator.app.ConnectionDropped`).
The served app is wrapped so either becomes :class:`ConnectionEnded`, naming the request;
uvicorn logs it as any failed request (and closes the socket), and a filter in its log
config (:class:`OneLineConnectionEnds`) turns that record into the one line, a warning.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator
from types import FrameType

import uvicorn
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

from hlsync.emulator.app import ConnectionDropped


def bind(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket; ``port`` 0 picks a free port.

    It listens before uvicorn starts, so a client told the URL early just waits in the
    backlog instead of being refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted sockets inherit it: uvicorn writes headers and body separately, and
    # Nagle would hold the body back for a delayed ACK (40 ms per request)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class ConnectionEnded(Exception):
    """A served request whose connection ended early (see the module docstring)."""


class _EndedConnections:
    """The served app, with a connection that ends mid-request as
    :class:`ConnectionEnded` ("POST /contacts/: the client disconnected mid-request")."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:
            raise ConnectionEnded(
                f"{_request(scope)}: the client disconnected mid-request"
            ) from None
        except ConnectionDropped as exc:
            raise ConnectionEnded(f"{_request(scope)}: {exc}") from None


def _request(scope: Scope) -> str:
    return f"{scope.get('method', '?')} {scope.get('path', '?')}"


class OneLineConnectionEnds(logging.Filter):
    """uvicorn's "Exception in ASGI application" record of a :class:`ConnectionEnded`,
    as one warning line without the traceback; every other record as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ConnectionEnded):
            record.msg, record.args = "%s", (str(error),)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


GRACEFUL_SHUTDOWN_SECONDS = 1  # uvicorn takes whole seconds


def http_protocol() -> str:
    """uvicorn's HTTP/1.1 implementation: ``httptools`` (a C parser: a third less CPU
    per request than ``h11``, measured on the upsert path) where it is installed —
    hlsync depends on it on CPython — and ``h11`` elsewhere."""
    return "httptools" if importlib.util.find_spec("httptools") else "h11"


def _config(app: ASGIApp, verbose: bool) -> uvicorn.Config:
    # uvicorn's access log goes to stdout by default; ours is for reports and the URL
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    log_config["filters"] = {"connection_ends": {"()": OneLineConnectionEnds}}
    log_config["handlers"]["default"]["filters"] = ["connection_ends"]
    return uvicorn.Config(
        _EndedConnections(app),
        log_config=log_config,
        lifespan="off",
        ws="none",
        http=http_protocol(),
        log_level="info" if verbose else "warning",
        access_log=verbose,
        # the app sends its own Date, from the emulator's clock (hlsync.emulator.app)
        date_header=False,
        # a stop cancels what a latency fault rule still holds after a second,
        # instead of waiting out the rule (the client that sent it has gone)
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


class _QuietServer(uvicorn.Server):
    """uvicorn re-raises a caught SIGTERM after shutting down, which kills the process
    with the signal instead of exit 0; this server just stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, frame: FrameType | None) -> None:
            if self.should_exit and signum == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        previous = {
            sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class Stopped(Exception):
    """SIGINT or SIGTERM arrived before the server took over signal handling."""


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Make SIGINT/SIGTERM end the ``with`` block quietly (start-up, shutdown).

    Without it a SIGTERM between printing the URL and uvicorn installing its handlers
    would kill the process with the signal instead of exiting 0.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stopped(signum)

    previous = {
        sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    except Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve_forever(app: ASGIApp, sock: socket.socket, *, verbose: bool = False) -> None:
    """Serve on ``sock`` until SIGINT or SIGTERM, then return normally."""
    _QuietServer(_config(app, verbose)).run(sockets=[sock])


class ServerThread:
    """The app on 127.0.0.1:<free port> in a daemon thread; ``start``/``stop``."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1") -> None:
        self.sock = bind(host, 0)
        self.base_url = base_url(self.sock)
        self._server = _QuietServer(_config(app, verbose=False))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self.sock]},
            name="hlsync-emulator",
            daemon=True,
        )

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server thread did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.sock.close()
