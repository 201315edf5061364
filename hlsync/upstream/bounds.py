"""What one API request may cost: a time budget, its timeouts, and a capped body.

An upstream that misbehaves must not hold a run for minutes or fill its memory. Each
logical request of :class:`~hlsync.upstream.client.ApiClient` gets:

* one total time **budget** (``Bounds.budget``, default 60 s, ``--timeout SECONDS``)
  for all of its attempts, their answers' bodies and the backoff between them. Waiting
  for the rate limit's window (the pacer) is not counted: that is this process's own
  queue, not the upstream being slow. A :class:`Stopwatch` keeps the account;
* per attempt, a connect timeout (10 s) and a read/write timeout (30 s), never more
  than what is left of the budget (:meth:`Bounds.timeout`);
* a body read while streaming and never past a cap: 16 MiB for a 2xx answer
  (:data:`MAX_BODY`; beyond it the request fails), 64 KiB for an error answer (only its
  message is wanted; the rest is dropped unread). :func:`read_answer` does the reading
  and gives an :class:`Answer`.

:func:`clip` shows upstream text in an error: whitespace collapsed, at most ~300
characters.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

MIB = 1024 * 1024
DEFAULT_BUDGET = 60.0  # seconds per request, retries and backoff included
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
MAX_BODY = 16 * MIB  # a 2xx answer's body
MAX_ERROR_BODY = 64 * 1024  # a non-2xx answer's body: enough for any error message
CLIP = 300  # characters of upstream text quoted in an error

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Bounds:
    """The limits of one request (see the module docstring)."""

    budget: float = DEFAULT_BUDGET
    connect: float = CONNECT_TIMEOUT
    read: float = READ_TIMEOUT
    max_body: int = MAX_BODY
    max_error_body: int = MAX_ERROR_BODY

    def __post_init__(self) -> None:
        if not 0 < self.budget < float("inf"):
            raise ValueError("Bounds.budget must be a positive number of seconds")

    def timeout(self, left: float) -> httpx.Timeout:
        """httpx's timeouts for an attempt with ``left`` seconds of budget remaining."""
        left = max(left, 0.001)
        return httpx.Timeout(
            connect=min(self.connect, left),
            read=min(self.read, left),
            write=min(self.read, left),
            pool=left,
        )

    def cut_short(self, exc: Exception, left: float) -> bool:
        """Whether ``exc`` ended an attempt begun with ``left`` seconds of budget
        because the budget ran out (rather than a plain connect or read timeout)."""
        if isinstance(exc, TimeoutError | httpx.PoolTimeout):
            return True
        if isinstance(exc, httpx.ConnectTimeout):
            return left < self.connect
        if isinstance(exc, httpx.TimeoutException):
            return left < self.read
        return False


@dataclass(slots=True)
class Stopwatch:
    """The budget account of one request: seconds spent between :meth:`start` and
    :meth:`stop` (sending and reading) plus backoff :meth:`add`-ed; pacer waits fall
    outside both, so they are not counted."""

    budget: float
    clock: Callable[[], float] = field(default=time.monotonic)
    spent: float = 0.0
    _since: float | None = None

    def start(self) -> None:
        self._since = self.clock()

    def stop(self) -> None:
        if self._since is not None:
            self.spent += self.clock() - self._since
            self._since = None

    def add(self, seconds: float) -> None:
        self.spent += seconds

    @property
    def left(self) -> float:
        running = 0.0 if self._since is None else self.clock() - self._since
        return self.budget - self.spent - running


@dataclass(frozen=True, slots=True)
class Answer:
    """A response as hlsync read it: status, headers and its body up to a cap.

    ``complete`` is False when the body went on beyond what was read.
    """

    status: int
    headers: httpx.Headers
    content: bytes
    complete: bool = True

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        """The media type without parameters (``text/html``), or ``no content type``."""
        raw = self.headers.get("content-type", "").split(";", 1)[0].strip()
        return raw.lower() or "no content type"

    @property
    def reason(self) -> str:
        return httpx.codes.get_reason_phrase(self.status) or "no reason given"

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class BodyTooLarge(Exception):
    """A 2xx body passed ``Bounds.max_body`` (as it arrived, or by its Content-Length
    before a byte was read)."""

    def __init__(self, status: int, cap: int) -> None:
        super().__init__(status, cap)
        self.status = status
        self.cap = cap


def _declared_length(response: httpx.Response) -> int | None:
    raw = response.headers.get("content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


async def read_answer(response: httpx.Response, bounds: Bounds) -> Answer:
    """Read a streamed ``response``'s body within ``bounds`` (the caller closes it).

    A 2xx body longer than ``max_body`` (declared or as it arrives, decoded) raises
    :class:`BodyTooLarge` without reading further; an error body is cut at
    ``max_error_body``. Memory stays within the cap plus one network chunk.
    """
    success = 200 <= response.status_code < 300
    cap = bounds.max_body if success else bounds.max_error_body
    declared = _declared_length(response)
    if success and declared is not None and declared > cap:
        raise BodyTooLarge(response.status_code, cap)
    chunks: list[bytes] = []
    size = 0
    complete = True
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            if success:
                raise BodyTooLarge(response.status_code, cap)
            chunks.append(chunk[: len(chunk) - (size - cap)])
            complete = False
            break
        chunks.append(chunk)
    return Answer(response.status_code, response.headers, b"".join(chunks), complete)


def clip(text: str, limit: int = CLIP) -> str:
    """``text`` with its whitespace collapsed, cut to ``limit`` characters (+ "…")."""
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def size_text(size: int) -> str:
    """``16 MiB`` / ``64 KiB`` / ``12 bytes``: a cap as an error shows it."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} bytes"
