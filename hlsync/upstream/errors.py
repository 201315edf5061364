"""How a failed API call reads: the client's error types and their messages.

Every non-2xx answer, transport failure and unreadable body of an API call becomes an
:class:`ApiError` (an ``HlsyncError``) reading
``POST /contacts/upsert -> 401: The token is not authorized for this scope.``: method,
path (never a query string), status, and the upstream message (a message list is joined
with "; "), plus a hint by status. :class:`Secret` keeps a token out of ``repr`` and
scrubs it from any upstream text quoted in an error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from hlsync.errors import HlsyncError

JSONDict = dict[str, Any]

AMBIGUOUS_HINT = (
    "the create may have been committed; read the object before creating it again"
)


class ApiError(HlsyncError):
    """A failed API call. ``status`` is None when no HTTP answer came back.

    ``body`` is the upstream JSON error body (e.g. the duplicate-contact 400 carries
    ``meta.contactId``) or None.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int | None,
        upstream_message: str | None = None,
        body: JSONDict | None = None,
        hints: Sequence[str] = (),
    ) -> None:
        super().__init__(message, hints=hints)
        self.method = method
        self.path = path
        self.status = status
        self.upstream_message = upstream_message
        self.body = body


class AmbiguousWriteError(ApiError):
    """A create failed in a way that may have committed it: re-read, then decide."""


_HINTS = {
    400: "upstream rejected the request",
    401: "check that the token for location {loc} is valid and holds the scope this "
    "call needs (a sub-account token of that location)",
    403: "the token does not have access to location {loc}; check the location id "
    "and the token configured for it",
    404: "the object no longer exists upstream; run plan again",
    422: "upstream rejected the request body",
    429: "rate limit still exceeded after {n} attempts; try again later",
}


def _hint(status: int | None, location_id: str, attempts: int) -> str:
    if status is None:
        return (
            f"could not reach the API after {attempts} attempts; check the target URL"
        )
    if status >= 500:
        return f"upstream server error after {attempts} attempts; try again later"
    template = _HINTS.get(status)
    if template is None:
        return "unexpected answer from the API"
    return template.format(loc=location_id, n=attempts)


def _upstream_message(body: Any, fallback: str) -> str:
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, list):
            return "; ".join(str(item) for item in message)
        if isinstance(message, str) and message:
            return message
        error = body.get("error")
        if isinstance(error, str) and error:
            return error
    return fallback


class Secret:
    """A token kept out of ``repr`` and ``str``; ``reveal()`` only for the header."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def scrub(self, text: str) -> str:
        return text.replace(self._value, "***") if self._value else text

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def decode_answer(response: httpx.Response, method: str, path: str) -> JSONDict:
    """The JSON object of a 2xx answer (``{}`` for an empty body)."""
    if not response.content.strip():
        return {}
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(
            f"{method} {path} -> {response.status_code}: the answer is not JSON",
            method=method,
            path=path,
            status=response.status_code,
            hints=("check that the target URL points at the HighLevel API",),
        ) from exc
    if not isinstance(body, dict):
        raise ApiError(
            f"{method} {path} -> {response.status_code}: expected a JSON object, "
            f"got {type(body).__name__}",
            method=method,
            path=path,
            status=response.status_code,
        )
    return body


def answer_error(
    response: httpx.Response,
    method: str,
    path: str,
    secret: Secret,
    location_id: str,
    attempts: int,
    *,
    ambiguous: bool = False,
) -> ApiError:
    """The error for a non-2xx answer (:class:`AmbiguousWriteError` if ``ambiguous``)."""
    status = response.status_code
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    fallback = response.text.strip()[:200] or response.reason_phrase
    upstream = secret.scrub(_upstream_message(body, fallback))
    cls = AmbiguousWriteError if ambiguous else ApiError
    hint = AMBIGUOUS_HINT if ambiguous else _hint(status, location_id, attempts)
    return cls(
        f"{method} {path} -> {status}: {upstream}",
        method=method,
        path=path,
        status=status,
        upstream_message=upstream,
        body=body if isinstance(body, dict) else None,
        hints=(hint,),
    )


def no_answer_error(
    exc: httpx.HTTPError,
    method: str,
    path: str,
    secret: Secret,
    location_id: str,
    attempts: int,
    *,
    ambiguous: bool = False,
) -> ApiError:
    """The error for a call that got no HTTP answer (connection, timeout …)."""
    reason = secret.scrub(str(exc)) or type(exc).__name__
    cls = AmbiguousWriteError if ambiguous else ApiError
    hint = AMBIGUOUS_HINT if ambiguous else _hint(None, location_id, attempts)
    return cls(
        f"{method} {path} -> no answer ({type(exc).__name__}): {reason}",
        method=method,
        path=path,
        status=None,
        hints=(hint,),
    )


def shape_error(method: str, path: str, what: str) -> ApiError:
    """A 2xx answer without the part the call needs."""
    return ApiError(
        f"{method} {path} -> unexpected answer: no {what}",
        method=method,
        path=path,
        status=None,
        hints=("check that the target URL points at the HighLevel API",),
    )
