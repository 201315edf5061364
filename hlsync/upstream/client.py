"""The async HighLevel API v2 client, around an injected ``httpx.AsyncClient``.

``ApiClient(http)`` is shared by a whole run; ``api.location(location_id, token)`` gives a
:class:`LocationApi` whose methods are the calls the engine needs (reference §5, §6).
Every request carries ``Version: 2021-07-28``, ``Accept: application/json`` and the
location's bearer token, goes through the :class:`~hlsync.upstream.pacing.Pacer` of its
(token, location) key, and is retried by the :class:`RetryPolicy`.

Errors (STYLE.md §5; built in :mod:`hlsync.upstream.errors`, re-exported here): every non-2xx
answer, transport error and unreadable body becomes an :class:`ApiError` (an
``HlsyncError``) that reads
``POST /contacts/upsert -> 401: The token is not authorized for this scope.`` plus a hint:
method, path without its query string, status and the upstream message. The token never
appears in an error, a log line or a ``repr``; any upstream text quoted in an error is
scrubbed of it as well.

Bounds (:mod:`hlsync.upstream.bounds`): each logical request has one time budget for all
its attempts and backoff (default 60 s; ``--timeout``), connect and read timeouts within
what is left of it, and its answer is streamed and read no further than the body cap
(16 MiB). Redirects are never followed (httpx's default, kept): the token would go along.

Retries: 429, 500, 502, 503, 504, timeouts and connection errors are retried with
exponential backoff and jitter, at most ``RetryPolicy.attempts`` tries in all, and only
while the backoff fits in what is left of the budget. A create
(custom field, tag) is not idempotent: after a 5xx or a connection lost once the request
may have reached the server, the write may have committed (upstream has been seen doing
it; the emulator injects it), so it raises :class:`AmbiguousWriteError` and the caller
re-reads before deciding. A create is still retried after a 429 or a connection that was
never established, since then nothing reached the server. Upsert, PUT, DELETE, tag
add/remove, GET and search are safe to repeat.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx

from hlsync.upstream.bounds import BodyTooLarge, Bounds, Stopwatch, read_answer
from hlsync.upstream.errors import (
    AmbiguousWriteError,
    ApiError,
    Secret,
    answer_error,
    budget_error,
    decode_answer,
    no_answer_error,
    shape_error,
    too_large_error,
)
from hlsync.upstream.pacing import (
    DailyLimitError,
    Pacer,
    RateLimitHeaders,
    Ticket,
    pace_key,
)
from hlsync.upstream.server_time import parse_date
from hlsync.upstream.traffic import Traffic

__all__ = [
    "API_VERSION",
    "PAGE_MODE_LIMIT",
    "SEARCH_PAGE_MAX",
    "AmbiguousWriteError",
    "ApiClient",
    "ApiError",
    "JSONDict",
    "LocationApi",
    "RetryPolicy",
    "SearchPage",
    "UpstreamClock",
    "next_cursor",
]

API_VERSION = "2021-07-28"
SEARCH_PAGE_MAX = 500  # upstream's pageLimit maximum (reference §5.6)
PAGE_MODE_LIMIT = 10_000  # page mode reaches at most this many results

URL_CACHE = 1024  # merged URLs kept per client (the write path uses a handful)

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

log = logging.getLogger("hlsync.upstream.client")

JSONDict = dict[str, Any]
_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[None]]

# HTTP attempts (retries included) sent from the current asyncio context: a caller that
# wants a per-task count (the applier, one per change) sets a fresh one-item list here;
# every attempt of ``ApiClient.request`` adds one. None (the default) counts nothing.
attempt_counter: ContextVar[list[int] | None] = ContextVar(
    "hlsync_attempt_counter", default=None
)


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


class UpstreamClock:
    """The upstream's clock, as its responses' ``Date`` headers tell it.

    Time-based decisions (token rotation) use the upstream's notion of "now", never the
    local clock, so the emulator's settable clock drives them in tests. ``now()`` is the
    latest ``Date`` seen in this run (responses of concurrent requests arrive in any
    order), or None before any response carried a readable one.
    """

    __slots__ = ("_latest", "_seen")

    def __init__(self) -> None:
        self._latest: datetime | None = None
        self._seen: str | None = None  # the last header read (it changes each second)

    def observe(self, header: str | None) -> None:
        if header is None or header == self._seen:
            return
        self._seen = header
        when = parse_date(header)  # None: no evidence of the time
        if when is not None and (self._latest is None or when > self._latest):
            self._latest = when

    def now(self) -> datetime | None:
        return self._latest


class ApiClient:
    """Shared by a run: the HTTP client, one pacer, one retry policy, one set of bounds.

    ``http`` must have its ``base_url`` set (the target's). ``pacer`` defaults to one
    sizing each key's requests in flight by Little's law (at most 64); ``retry`` to 5
    attempts; ``bounds`` to a 60 s budget per request and a 16 MiB body cap
    (:mod:`hlsync.upstream.bounds`). A run's ``http`` is
    :func:`~hlsync.upstream.http_client.upstream_client`'s (its own HTTP/1.1 transport:
    httpcore's pool costs CPU quadratic in its connections, and its layers most of a
    request's CPU); any ``httpx.AsyncClient`` works. ``traffic`` is told of every attempt
    (:mod:`hlsync.upstream.traffic`: the limits each location reported, its rate and
    waits), for the estimate and the progress.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
        bounds: Bounds | None = None,
        traffic: Traffic | None = None,
    ) -> None:
        self._http = http
        self.pacer = pacer or Pacer()
        self.retry = retry or RetryPolicy()
        self.bounds = bounds or Bounds()
        self.clock = UpstreamClock()
        self.traffic = traffic or Traffic()
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}

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
        version: str = API_VERSION,
    ) -> JSONDict:
        """One logical call: pacing, retries, bounds, error mapping. Returns the JSON
        object.

        ``creates=True`` marks a non-idempotent create (see the module docstring).
        ``version``: the ``Version`` header (``verify`` probes families that declare
        another).
        ``token=None`` sends no Authorization header (the emulator's admin API);
        ``location_id`` names the pacing budget and appears in hints.
        """
        secret = Secret(token or "")
        key = pace_key(token or "", location_id)
        headers = {"Version": version, "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {secret.reveal()}"
        policy = self.retry
        bounds = self.bounds
        watch = Stopwatch(bounds.budget)
        attempt = 0
        while True:
            attempt += 1
            ticket = await self._acquire(key, location_id, first=attempt == 1)
            counter = attempt_counter.get()
            if counter is not None:
                counter[0] += 1
            left = watch.left
            request = self._build(method, path, params, json_body, headers, left)
            response: httpx.Response | None = None
            self.pacer.sent(ticket)
            watch.start()
            try:
                async with asyncio.timeout(max(left, 0.0)):
                    response = await self._http.send(request, stream=True)
                    try:
                        answer = await read_answer(response, bounds)
                    finally:
                        await response.aclose()
            except (httpx.HTTPError, TimeoutError) as exc:
                watch.stop()
                self._release(ticket, location_id, response)
                log.debug(
                    "%s %s attempt %d: %s", method, path, attempt, type(exc).__name__
                )
                ambiguous = creates and not isinstance(exc, _NOT_SENT)
                timed_out = isinstance(exc, TimeoutError | httpx.TimeoutException)
                out_of_time = bounds.cut_short(exc, left)
                retryable = isinstance(exc, (*_RETRYABLE, TimeoutError))
                if not (out_of_time or ambiguous) and retryable:
                    if attempt < policy.attempts:
                        delay = policy.delay(attempt)
                        if delay < watch.left:
                            await policy.sleep(delay)
                            watch.add(delay)
                            continue
                        out_of_time = timed_out
                if out_of_time:
                    raise budget_error(
                        method,
                        path,
                        bounds.budget,
                        watch.spent,
                        attempt,
                        ambiguous=ambiguous,
                    ) from exc
                raise no_answer_error(
                    exc, method, path, secret, location_id, attempt, ambiguous=ambiguous
                ) from exc
            except BodyTooLarge as exc:
                watch.stop()
                self._release(ticket, location_id, response)
                raise too_large_error(
                    method, path, exc.status, exc.cap, ambiguous=creates
                ) from exc
            except BaseException:
                watch.stop()
                self._release(ticket, location_id, response)
                raise
            watch.stop()
            status = answer.status
            self.clock.observe(answer.headers.get("date"))
            limits = RateLimitHeaders.parse(answer.headers)
            self.pacer.release(ticket, limits, status)
            self.traffic.answered(location_id, limits)
            log.debug("%s %s attempt %d -> %d", method, path, attempt, status)
            if answer.ok:
                return decode_answer(answer, method, path, secret)
            if status == 429:
                daily = limits.daily_remaining
                if daily is not None and daily <= 0:
                    raise DailyLimitError(
                        f"{method} {path} -> 429: daily API request limit reached "
                        f"for location {location_id}",
                        hints=("try again tomorrow",),
                    )
            if status in RETRY_STATUSES and creates and status != 429:
                raise answer_error(
                    answer, method, path, secret, location_id, attempt, ambiguous=True
                )
            if status in RETRY_STATUSES and attempt < policy.attempts:
                delay = policy.delay(attempt)
                if delay < watch.left:
                    await policy.sleep(delay)
                    watch.add(delay)
                    continue
            raise answer_error(answer, method, path, secret, location_id, attempt)

    def _build(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        headers: Mapping[str, str],
        left: float,
    ) -> httpx.Request:
        """The request of one attempt, as ``http.build_request`` builds it, with less
        work: the URL of each path and query is merged with the base URL once, and
        the client's default headers are merged here. A client with cookies or
        default query parameters builds its own."""
        http = self._http
        timeout = self.bounds.timeout(left)
        if http.cookies or http.params:
            return http.build_request(
                method,
                path,
                json=json_body,
                params=params,
                headers=headers,
                timeout=timeout,
            )
        query = tuple(params.items()) if params else ()
        url = self._urls.get((path, query))
        if url is None:
            if len(self._urls) >= URL_CACHE:
                self._urls.clear()
            url = http.build_request("GET", path, params=params).url
            self._urls[path, query] = url
        merged = http.headers.copy()
        merged.update(headers)
        return httpx.Request(
            method,
            url,
            json=json_body,
            headers=merged,
            extensions={"timeout": timeout.as_dict()},
        )

    async def _acquire(self, key: str, location_id: str, *, first: bool) -> Ticket:
        """The pacer's start for one attempt, with :attr:`traffic` told of the wait."""
        self.traffic.waiting(location_id)
        try:
            ticket = await self.pacer.acquire(key, location_id)
        except BaseException:
            self.traffic.gave_up(location_id)
            raise
        self.traffic.started(location_id, first=first)
        return ticket

    def _release(
        self, ticket: Ticket, location_id: str, response: httpx.Response | None
    ) -> None:
        """Hand the pacer its ticket back after a failed attempt (with the headers and
        status when an answer had begun to arrive)."""
        if response is None:
            self.pacer.release(ticket, None, None)
            self.traffic.answered(location_id, None)
        else:
            limits = RateLimitHeaders.parse(response.headers)
            self.pacer.release(ticket, limits, response.status_code)
            self.traffic.answered(location_id, limits)


class LocationApi:
    """The endpoints of one location, bound to its token.

    Methods return the upstream object inside the response envelope (``contact``,
    ``customField``, ``tag`` …) or, for lists, the list. ``calls`` counts the API calls
    made through this object (one per method call; retries are not counted).
    """

    def __init__(self, api: ApiClient, location_id: str, token: str) -> None:
        self._api = api
        self.location_id = location_id
        self._token = Secret(token)
        self.calls = 0

    def __repr__(self) -> str:
        return f"LocationApi(location_id={self.location_id!r})"

    def switch_token(self, token: str) -> None:
        """Make every later call with ``token`` (a seeding integration's new token)."""
        self._token = Secret(token)

    @property
    def has_token(self) -> bool:
        """False while the location waits for its seeding integration's repaired
        token (``TargetAccess.pending``): a call then is refused, never sent."""
        return bool(self._token.reveal())

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        creates: bool = False,
    ) -> JSONDict:
        """One request with this location's token; the answer's JSON object. Kinds
        whose endpoints have no method here (custom values) call this directly."""
        if not self.has_token:
            raise ApiError(
                f"location {self.location_id}: no token to call {method} {path} with: "
                "its seeding integration's token is not repaired yet",
                method=method,
                path=path,
                status=None,
            )
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

    async def call_object(
        self,
        method: str,
        path: str,
        name: str,
        *,
        json_body: Any = None,
        creates: bool = False,
    ) -> JSONDict:
        """The object an answer holds under ``name`` (``{"tag": {…}}`` → ``{…}``)."""
        body = await self.call(method, path, json_body=json_body, creates=creates)
        return _unwrap(body, name, dict, method, path)

    async def call_list(self, path: str, name: str) -> list[JSONDict]:
        """``GET path``: the list an answer holds under ``name``."""
        body = await self.call("GET", path)
        return _dicts(_unwrap(body, name, list, "GET", path))

    @property
    def base(self) -> str:
        """``/locations/{id}``: the prefix of this location's own endpoints."""
        return f"/locations/{self.location_id}"

    async def get_location(self) -> JSONDict:
        return await self.call_object("GET", self.base, "location")

    async def list_custom_fields(self) -> list[JSONDict]:
        path = f"{self.base}/customFields"
        body = await self.call("GET", path, params={"model": "contact"})
        return _dicts(_unwrap(body, "customFields", list, "GET", path))

    async def create_custom_field(self, body: Mapping[str, Any]) -> JSONDict:
        return await self.call_object(
            "POST",
            f"{self.base}/customFields",
            "customField",
            json_body=dict(body),
            creates=True,
        )

    async def update_custom_field(
        self, field_id: str, body: Mapping[str, Any]
    ) -> JSONDict:
        path = f"{self.base}/customFields/{field_id}"
        return await self.call_object("PUT", path, "customField", json_body=dict(body))

    async def delete_custom_field(self, field_id: str) -> None:
        await self.call("DELETE", f"{self.base}/customFields/{field_id}")

    async def list_tags(self) -> list[JSONDict]:
        path = f"{self.base}/tags"
        body = await self.call("GET", path)
        return _dicts(_unwrap(body, "tags", list, "GET", path))

    async def create_tag(self, name: str) -> JSONDict:
        return await self.call_object(
            "POST", f"{self.base}/tags", "tag", json_body={"name": name}, creates=True
        )

    async def delete_tag(self, tag_id: str) -> None:
        await self.call("DELETE", f"{self.base}/tags/{tag_id}")

    async def search_contacts(self, body: Mapping[str, Any]) -> SearchPage:
        """One page of ``POST /contacts/search``; ``locationId`` is filled in."""
        request = {"locationId": self.location_id, **body}
        request.setdefault("pageLimit", SEARCH_PAGE_MAX)
        path = "/contacts/search"
        answer = await self.call("POST", path, json_body=request)
        contacts = _dicts(_unwrap(answer, "contacts", list, "POST", path))
        total = answer.get("total")
        count = total if isinstance(total, int) else None
        whole = not request.get("filters")
        self._api.traffic.searched(self.location_id, total=count, whole=whole)
        return SearchPage(tuple(contacts), count)

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
        return await self.call_object("GET", f"/contacts/{contact_id}", "contact")

    async def upsert_contact(self, body: Mapping[str, Any]) -> JSONDict:
        """``POST /contacts/upsert``; returns the whole answer ``{new, contact, …}``."""
        request = {"locationId": self.location_id, **body}
        path = "/contacts/upsert"
        answer = await self.call("POST", path, json_body=request)
        _unwrap(answer, "contact", dict, "POST", path)
        return answer

    async def update_contact(
        self, contact_id: str, body: Mapping[str, Any]
    ) -> JSONDict:
        path = f"/contacts/{contact_id}"
        return await self.call_object("PUT", path, "contact", json_body=dict(body))

    async def delete_contact(self, contact_id: str) -> None:
        await self.call("DELETE", f"/contacts/{contact_id}")

    async def add_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        return await self._tags("POST", contact_id, tags)

    async def remove_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        return await self._tags("DELETE", contact_id, tags)

    async def _tags(
        self, method: str, contact_id: str, tags: Sequence[str]
    ) -> list[str]:
        path = f"/contacts/{contact_id}/tags"
        answer = await self.call(method, path, json_body={"tags": list(tags)})
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
        raise shape_error(method, path, f"{name!r} {kind.__name__}")
    return value
