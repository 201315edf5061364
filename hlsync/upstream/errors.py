"""How a failed API call reads: the client's error types and their messages.

Every non-2xx answer, transport failure and unreadable body of an API call becomes an
:class:`ApiError` (an ``HlsyncError``) reading
``POST /contacts/upsert -> 401: The token is not authorized for this scope.``: method,
path (never a query string), status, and the upstream message (a message list is joined
with "; "), plus a hint by status. A body that is not JSON is quoted as its content type
and at most ~300 characters (``-> 502: text/html: <html> <head>…``); a redirect names
where it pointed, and is never followed. A request whose time budget ran out, or whose
answer passed the body cap, says so with the budget or the cap. :class:`Secret` keeps a
token out of ``repr`` and scrubs it from any upstream text quoted in an error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from hlsync.errors import HlsyncError
from hlsync.upstream.bounds import Answer, clip, size_text

JSONDict = dict[str, Any]

AMBIGUOUS_HINT = (
    "the create may have been committed; read the object before creating it again"
)
REDIRECT_HINT = (
    "hlsync never follows a redirect (the token would go along); point the target "
    "URL at the API itself"
)
BUDGET_HINT = (
    "the upstream is not answering in time; check that the target URL is right and "
    "the service up, try again later, or allow more time with --timeout SECONDS"
)


def lacks_scope(status: int | None, message: str | None) -> bool:
    """Upstream's refusal of a valid token for a scope it does not hold: 401 "The token
    is not authorized for this scope." — unlike a token refused outright (401 "Invalid
    JWT": unknown, expired, revoked; 403: another location's token)."""
    return status == 401 and "not authorized for this scope" in (message or "").lower()


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


def _answer_json(answer: Answer) -> Any:
    """The decoded JSON body, or None when it is not (all) JSON."""
    if not answer.complete:
        return None
    try:
        return json.loads(answer.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def quoted_body(answer: Answer, secret: Secret) -> str:
    """A body that is not the JSON expected, as an error shows it: its content type
    and at most ~300 characters, whitespace collapsed, any token scrubbed."""
    text = clip(secret.scrub(answer.text))
    return f"{answer.content_type}: {text}" if text else answer.content_type


def decode_answer(
    answer: Answer, method: str, path: str, secret: Secret | None = None
) -> JSONDict:
    """The JSON object of a 2xx answer (``{}`` for an empty body)."""
    if not answer.content.strip():
        return {}
    try:
        body = json.loads(answer.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        shown = quoted_body(answer, secret or Secret(""))
        raise ApiError(
            f"{method} {path} -> {answer.status}: the answer is not JSON ({shown})",
            method=method,
            path=path,
            status=answer.status,
            hints=("check that the target URL points at the HighLevel API",),
        ) from exc
    if not isinstance(body, dict):
        raise ApiError(
            f"{method} {path} -> {answer.status}: expected a JSON object, "
            f"got {type(body).__name__}",
            method=method,
            path=path,
            status=answer.status,
        )
    return body


def _redirect(answer: Answer) -> str | None:
    """Where a 3xx answer points (scheme, host and path; never a query string)."""
    if not 300 <= answer.status < 400:
        return None
    location = answer.headers.get("location")
    if not location:
        return "redirected (no Location given), not followed"
    try:
        url = httpx.URL(location)
    except httpx.InvalidURL:
        return "redirected (unreadable Location), not followed"
    where = (
        url.copy_with(query=None, fragment=None) if url.is_absolute_url else url.path
    )
    return f"redirected to {clip(str(where), 120)}, not followed"


def answer_error(
    answer: Answer,
    method: str,
    path: str,
    secret: Secret,
    location_id: str,
    attempts: int,
    *,
    ambiguous: bool = False,
) -> ApiError:
    """The error for a non-2xx answer (:class:`AmbiguousWriteError` if ``ambiguous``).

    A JSON body gives the upstream message; any other body is quoted by
    :func:`quoted_body`; a redirect names where it pointed (it is never followed: the
    token would go along).
    """
    status = answer.status
    body = _answer_json(answer)
    redirect = _redirect(answer)
    if redirect is not None:
        upstream = secret.scrub(redirect)
    elif answer.content.strip():
        upstream = _upstream_message(body, "") or quoted_body(answer, secret)
        upstream = secret.scrub(upstream)
    else:
        upstream = answer.reason
    cls = AmbiguousWriteError if ambiguous else ApiError
    if ambiguous:
        hint = AMBIGUOUS_HINT
    elif redirect is not None:
        hint = REDIRECT_HINT
    else:
        hint = _hint(status, location_id, attempts)
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
    exc: Exception,
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


def budget_error(
    method: str,
    path: str,
    budget: float,
    waited: float,
    attempts: int,
    *,
    ambiguous: bool = False,
) -> ApiError:
    """The error for a request whose time budget ran out before a whole answer came."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    cls = AmbiguousWriteError if ambiguous else ApiError
    hints = (AMBIGUOUS_HINT, BUDGET_HINT) if ambiguous else (BUDGET_HINT,)
    return cls(
        f"{method} {path} -> no answer within the {budget:g} s time budget "
        f"(waited {waited:.1f} s, {tries})",
        method=method,
        path=path,
        status=None,
        hints=hints,
    )


def too_large_error(
    method: str, path: str, status: int, cap: int, *, ambiguous: bool = False
) -> ApiError:
    """The error for a 2xx answer whose body passed the cap; reading stopped there."""
    cls = AmbiguousWriteError if ambiguous else ApiError
    hint = "check that the target URL points at the HighLevel API"
    return cls(
        f"{method} {path} -> {status}: the answer is larger than {size_text(cap)}; "
        "hlsync stopped reading it",
        method=method,
        path=path,
        status=status,
        hints=(AMBIGUOUS_HINT, hint) if ambiguous else (hint,),
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
