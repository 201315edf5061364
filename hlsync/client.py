"""The async HighLevel API v2 client, around an injected ``httpx.AsyncClient``.

``ApiClient(http)`` is shared by a whole run; ``api.location(location_id, token)`` gives a
:class:`LocationApi` whose methods are the calls the engine needs (reference §5, §6).
Every request carries ``Version: 2021-07-28``, ``Accept: application/json`` and the
location's bearer token, goes through the :class:`~hlsync.pacing.Pacer` of its
(token, location) key, and is retried by the :class:`RetryPolicy`.

Errors (STYLE.md §5): every non-2xx answer, transport error and unreadable body becomes an
:class:`ApiError` (an ``HlsyncError``) that reads
``POST /contacts/upsert -> 401: The token is not authorized for this scope.`` plus a hint:
method, path without its query string, status and the upstream message. The token never
appears in an error, a log line or a ``repr``; any upstream text quoted in an error is
scrubbed of it as well.

Retries: 429, 500, 502, 503, 504, timeouts and connection errors are retried with
exponential backoff and jitter, at most ``RetryPolicy.attempts`` tries in all. A create
(custom field, tag) is not idempotent: after a 5xx or a connection lost once the request
may have reached the server, the write may have committed (upstream has been seen doing
it; the emulator injects it), so it raises :class:`AmbiguousWriteError` and the caller
re-reads before deciding. A create is still retried after a 429 or a connection that was
never established, since then nothing reached the server. Upsert, PUT, DELETE, tag
add/remove, GET and search are safe to repeat.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from hlsync.errors import HlsyncError
from hlsync.pacing import DailyLimitError, Pacer, RateLimitHeaders, pace_key

API_VERSION = "2021-07-28"
SEARCH_PAGE_MAX = 500  # upstream's pageLimit maximum (reference §5.6)
PAGE_MODE_LIMIT = 10_000  # page mode reaches at most this many results

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# Failures that prove the request never reached the server, and failures worth a retry.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
_RETRYABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

log = logging.getLogger("hlsync.client")

JSONDict = dict[str, Any]
_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[None]]


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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter.

    The n-th retry waits ``min(max_delay, base_delay * 2**(n-1))`` scaled by a jitter
    factor in [0.5, 1.0): "equal jitter", so concurrent clients spread out yet never
    retry at once. ``sleep`` and ``random`` are injectable so tests do not wait.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    sleep: Sleep = field(default=asyncio.sleep, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return float(ceiling * (0.5 + self.random() / 2))


@dataclass(frozen=True, slots=True)
class SearchPage:
    contacts: tuple[JSONDict, ...]
    total: int | None


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


class _Secret:
    """A string kept out of ``repr`` and ``str``; ``reveal()`` only for the header."""

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


class ApiClient:
    """Shared by a run: the HTTP client, one pacer and one retry policy.

    ``http`` must have its ``base_url`` set (the target's). ``pacer`` defaults to one
    with 8 requests in flight per key; ``retry`` to 5 attempts.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._http = http
        self.pacer = pacer or Pacer()
        self.retry = retry or RetryPolicy()

    def __repr__(self) -> str:
        return f"ApiClient(base_url={str(self._http.base_url)!r})"

    def location(self, location_id: str, token: str) -> LocationApi:
        """The calls of one location, made with that location's sub-account token."""
        return LocationApi(self, location_id, token)

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        location_id: str,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        creates: bool = False,
    ) -> JSONDict:
        """One logical call: pacing, retries, error mapping. Returns the JSON object.

        ``creates=True`` marks a non-idempotent create (see the module docstring).
        ``token=None`` sends no Authorization header (the emulator's admin API);
        ``location_id`` names the pacing budget and appears in hints.
        """
        secret = _Secret(token or "")
        key = pace_key(token or "", location_id)
        headers = {"Version": API_VERSION, "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {secret.reveal()}"
        policy = self.retry
        attempt = 0
        while True:
            attempt += 1
            ticket = await self.pacer.acquire(key, location_id)
            try:
                response = await self._http.request(
                    method, path, json=json_body, params=params, headers=headers
                )
            except httpx.HTTPError as exc:
                self.pacer.release(ticket, None, None)
                sent = not isinstance(exc, _NOT_SENT)
                retryable = isinstance(exc, _RETRYABLE)
                reason = secret.scrub(str(exc)) or type(exc).__name__
                log.debug("%s %s attempt %d: %s", method, path, attempt, reason)
                if creates and sent:
                    raise AmbiguousWriteError(
                        f"{method} {path} -> no answer ({type(exc).__name__}): {reason}",
                        method=method,
                        path=path,
                        status=None,
                        hints=(
                            "the create may have been committed; read the object "
                            "before creating it again",
                        ),
                    ) from exc
                if retryable and attempt < policy.attempts:
                    await policy.sleep(policy.delay(attempt))
                    continue
                raise ApiError(
                    f"{method} {path} -> no answer ({type(exc).__name__}): {reason}",
                    method=method,
                    path=path,
                    status=None,
                    hints=(_hint(None, location_id, attempt),),
                ) from exc
            except BaseException:
                self.pacer.release(ticket, None, None)
                raise
            status = response.status_code
            self.pacer.release(ticket, response.headers, status)
            log.debug("%s %s attempt %d -> %d", method, path, attempt, status)
            if 200 <= status < 300:
                return self._decode(response, method, path, secret)
            if status == 429:
                daily = RateLimitHeaders.parse(response.headers).daily_remaining
                if daily is not None and daily <= 0:
                    raise DailyLimitError(
                        f"{method} {path} -> 429: daily API request limit reached "
                        f"for location {location_id}",
                        hints=("try again tomorrow",),
                    )
            if status in RETRY_STATUSES and creates and status != 429:
                raise self._error(
                    response, method, path, secret, location_id, attempt, ambiguous=True
                )
            if status in RETRY_STATUSES and attempt < policy.attempts:
                await policy.sleep(policy.delay(attempt))
                continue
            raise self._error(response, method, path, secret, location_id, attempt)

    @staticmethod
    def _decode(
        response: httpx.Response, method: str, path: str, secret: _Secret
    ) -> JSONDict:
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

    @staticmethod
    def _error(
        response: httpx.Response,
        method: str,
        path: str,
        secret: _Secret,
        location_id: str,
        attempts: int,
        *,
        ambiguous: bool = False,
    ) -> ApiError:
        status = response.status_code
        try:
            body: Any = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        fallback = response.text.strip()[:200] or response.reason_phrase
        upstream = secret.scrub(_upstream_message(body, fallback))
        cls = AmbiguousWriteError if ambiguous else ApiError
        hint = (
            "the create may have been committed; read the object before creating it "
            "again"
            if ambiguous
            else _hint(status, location_id, attempts)
        )
        return cls(
            f"{method} {path} -> {status}: {upstream}",
            method=method,
            path=path,
            status=status,
            upstream_message=upstream,
            body=body if isinstance(body, dict) else None,
            hints=(hint,),
        )


class LocationApi:
    """The endpoints of one location, bound to its token.

    Methods return the upstream object inside the response envelope (``contact``,
    ``customField``, ``tag`` …) or, for lists, the list. ``calls`` counts HTTP calls
    started through this object (retries included), for reports.
    """

    def __init__(self, api: ApiClient, location_id: str, token: str) -> None:
        self._api = api
        self.location_id = location_id
        self._token = _Secret(token)
        self.calls = 0

    def __repr__(self) -> str:
        return f"LocationApi(location_id={self.location_id!r})"

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        creates: bool = False,
    ) -> JSONDict:
        self.calls += 1
        return await self._api.request(
            method,
            path,
            token=self._token.reveal(),
            location_id=self.location_id,
            json_body=json_body,
            params=params,
            creates=creates,
        )

    async def _object(
        self,
        method: str,
        path: str,
        name: str,
        *,
        json_body: Any = None,
        creates: bool = False,
    ) -> JSONDict:
        body = await self._call(method, path, json_body=json_body, creates=creates)
        return _unwrap(body, name, dict, method, path)

    @property
    def _loc(self) -> str:
        return f"/locations/{self.location_id}"

    async def get_location(self) -> JSONDict:
        return await self._object("GET", self._loc, "location")

    async def list_custom_fields(self) -> list[JSONDict]:
        path = f"{self._loc}/customFields"
        body = await self._call("GET", path, params={"model": "contact"})
        return _dicts(_unwrap(body, "customFields", list, "GET", path))

    async def create_custom_field(self, body: Mapping[str, Any]) -> JSONDict:
        return await self._object(
            "POST",
            f"{self._loc}/customFields",
            "customField",
            json_body=dict(body),
            creates=True,
        )

    async def update_custom_field(
        self, field_id: str, body: Mapping[str, Any]
    ) -> JSONDict:
        path = f"{self._loc}/customFields/{field_id}"
        return await self._object("PUT", path, "customField", json_body=dict(body))

    async def delete_custom_field(self, field_id: str) -> None:
        await self._call("DELETE", f"{self._loc}/customFields/{field_id}")

    async def list_tags(self) -> list[JSONDict]:
        path = f"{self._loc}/tags"
        body = await self._call("GET", path)
        return _dicts(_unwrap(body, "tags", list, "GET", path))

    async def create_tag(self, name: str) -> JSONDict:
        return await self._object(
            "POST", f"{self._loc}/tags", "tag", json_body={"name": name}, creates=True
        )

    async def delete_tag(self, tag_id: str) -> None:
        await self._call("DELETE", f"{self._loc}/tags/{tag_id}")

    async def search_contacts(self, body: Mapping[str, Any]) -> SearchPage:
        """One page of ``POST /contacts/search``; ``locationId`` is filled in."""
        request = {"locationId": self.location_id, **body}
        request.setdefault("pageLimit", SEARCH_PAGE_MAX)
        path = "/contacts/search"
        answer = await self._call("POST", path, json_body=request)
        contacts = _dicts(_unwrap(answer, "contacts", list, "POST", path))
        total = answer.get("total")
        return SearchPage(tuple(contacts), total if isinstance(total, int) else None)

    async def iter_search(
        self,
        *,
        filters: Sequence[Mapping[str, Any]] = (),
        sort: Sequence[Mapping[str, str]] = (),
        page_limit: int = SEARCH_PAGE_MAX,
    ) -> AsyncIterator[JSONDict]:
        """Every matching contact: page mode up to 10,000, then ``searchAfter``.

        Stops as soon as ``total`` contacts have been seen or a page comes back short,
        so no request is spent on an empty last page. Keep ``sort`` fixed (upstream
        requires it for cursors).
        """
        base: JSONDict = {"pageLimit": page_limit}
        if filters:
            base["filters"] = [dict(f) for f in filters]
        if sort:
            base["sort"] = [dict(s) for s in sort]
        seen = 0
        page = 1
        cursor: list[Any] | None = None
        while True:
            if cursor is None:
                result = await self.search_contacts({**base, "page": page})
            else:
                result = await self.search_contacts({**base, "searchAfter": cursor})
            for contact in result.contacts:
                yield contact
            seen += len(result.contacts)
            if len(result.contacts) < page_limit:
                return
            if result.total is not None and seen >= result.total:
                return
            if cursor is None and (page + 1) * page_limit <= PAGE_MODE_LIMIT:
                page += 1
                continue
            cursor = next_cursor(result)

    async def get_contact(self, contact_id: str) -> JSONDict:
        return await self._object("GET", f"/contacts/{contact_id}", "contact")

    async def upsert_contact(self, body: Mapping[str, Any]) -> JSONDict:
        """``POST /contacts/upsert``; returns the whole answer ``{new, contact, …}``."""
        request = {"locationId": self.location_id, **body}
        path = "/contacts/upsert"
        answer = await self._call("POST", path, json_body=request)
        _unwrap(answer, "contact", dict, "POST", path)
        return answer

    async def update_contact(
        self, contact_id: str, body: Mapping[str, Any]
    ) -> JSONDict:
        path = f"/contacts/{contact_id}"
        return await self._object("PUT", path, "contact", json_body=dict(body))

    async def delete_contact(self, contact_id: str) -> None:
        await self._call("DELETE", f"/contacts/{contact_id}")

    async def add_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        return await self._tags("POST", contact_id, tags)

    async def remove_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        return await self._tags("DELETE", contact_id, tags)

    async def _tags(
        self, method: str, contact_id: str, tags: Sequence[str]
    ) -> list[str]:
        path = f"/contacts/{contact_id}/tags"
        answer = await self._call(method, path, json_body={"tags": list(tags)})
        return [str(t) for t in _unwrap(answer, "tags", list, method, path)]


def next_cursor(page: SearchPage) -> list[Any]:
    """The ``searchAfter`` cursor of a full page: its last contact's own cursor."""
    cursor = page.contacts[-1].get("searchAfter") if page.contacts else None
    if not isinstance(cursor, list):
        raise ApiError(
            "POST /contacts/search -> 200: no searchAfter cursor on the last contact, "
            "cannot page further",
            method="POST",
            path="/contacts/search",
            status=200,
            hints=("upstream returns a searchAfter cursor with every contact",),
        )
    return cursor


def _dicts(items: list[Any]) -> list[JSONDict]:
    return [item for item in items if isinstance(item, dict)]


def _unwrap(body: JSONDict, name: str, kind: type[_T], method: str, path: str) -> _T:
    value = body.get(name)
    if not isinstance(value, kind):
        raise ApiError(
            f"{method} {path} -> unexpected answer: no {name!r} {kind.__name__}",
            method=method,
            path=path,
            status=None,
            hints=("check that the target URL points at the HighLevel API",),
        )
    return value
