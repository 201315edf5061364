"""ApiClient against httpx.MockTransport: headers, error mapping, retries, paging."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from hlsync.errors import HlsyncError
from hlsync.upstream.bounds import Bounds
from hlsync.upstream.client import (
    AmbiguousWriteError,
    ApiClient,
    ApiError,
    LocationApi,
    RetryPolicy,
)
from hlsync.upstream.pacing import DailyLimitError, pace_key

TOKEN = "pit-11111111-2222-3333-4444-555555555555"
BASE = "http://api.test"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records requests and replays scripted answers."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)


def run(
    handler: Callable[[httpx.Request], httpx.Response],
    body: Callable[[LocationApi], Coroutine[Any, Any, Any]],
    *,
    attempts: int = 5,
    bounds: Bounds | None = None,
) -> tuple[Any, list[float]]:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def main() -> Any:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            api = ApiClient(
                http,
                retry=RetryPolicy(
                    attempts=attempts, sleep=fake_sleep, random=lambda: 0.0
                ),
                bounds=bounds,
            )
            return await body(api.location("loc-1", TOKEN))

    return asyncio.run(main()), sleeps


def ok(payload: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=payload)


def test_every_request_carries_version_accept_and_bearer() -> None:
    rec = Recorder(ok({"location": {"id": "loc-1", "name": "Main"}}))
    result, _ = run(rec, lambda loc: loc.get_location())
    assert result == {"id": "loc-1", "name": "Main"}
    request = rec.requests[0]
    assert request.url.path == "/locations/loc-1"
    assert request.headers["Version"] == "2021-07-28"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_search_and_upsert_fill_in_the_location() -> None:
    rec = Recorder(
        ok({"contacts": [{"id": "c1"}], "total": 1}),
        ok({"new": True, "contact": {"id": "c1"}, "traceId": "t"}),
    )

    async def body(loc: LocationApi) -> Any:
        page = await loc.search_contacts({"filters": []})
        answer = await loc.upsert_contact({"email": "a@example.com"})
        return page, answer

    (page, answer), _ = run(rec, body)
    assert page.contacts == ({"id": "c1"},) and page.total == 1
    assert answer["new"] is True
    search = json.loads(rec.requests[0].content)
    assert search == {"locationId": "loc-1", "filters": [], "pageLimit": 500}
    upsert = json.loads(rec.requests[1].content)
    assert upsert == {"locationId": "loc-1", "email": "a@example.com"}


def test_endpoints_paths_and_bodies() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/customFields") and request.method == "GET":
            assert request.url.params["model"] == "contact"
            return ok({"customFields": [{"id": "f1"}]})
        if path.endswith("/customFields"):
            return ok({"customField": {"id": "f2"}}, 201)
        if "/customFields/" in path and request.method == "PUT":
            return ok({"customField": {"id": "f2", "name": "x"}})
        if path.endswith("/tags") and path.startswith("/locations"):
            if request.method == "GET":
                return ok({"tags": [{"id": "t1", "name": "vip"}]})
            return ok({"tag": {"id": "t2", "name": "new"}})
        if path.endswith("/tags"):
            return ok({"tags": json.loads(request.content)["tags"]})
        if request.method == "DELETE":
            return ok({"succeded": True})
        if request.method == "PUT":
            return ok({"succeded": True, "contact": {"id": "c1"}})
        return ok({"contact": {"id": "c1"}})

    rec = Recorder(handler)

    async def body(loc: LocationApi) -> list[Any]:
        results: list[Any] = [
            await loc.list_custom_fields(),
            await loc.create_custom_field({"name": "Pin", "dataType": "TEXT"}),
            await loc.update_custom_field("f2", {"name": "x"}),
        ]
        await loc.delete_custom_field("f2")
        results += [None, await loc.list_tags(), await loc.create_tag("new")]
        await loc.delete_tag("t2")
        results += [
            None,
            await loc.get_contact("c1"),
            await loc.update_contact("c1", {"firstName": "A"}),
        ]
        await loc.delete_contact("c1")
        results += [
            None,
            await loc.add_tags("c1", ["a", "b"]),
            await loc.remove_tags("c1", ["a"]),
        ]
        return results

    results, _ = run(rec, body)
    assert results[0] == [{"id": "f1"}]
    assert results[1] == {"id": "f2"}
    assert results[4] == [{"id": "t1", "name": "vip"}]
    assert results[5] == {"id": "t2", "name": "new"}
    assert results[7:9] == [{"id": "c1"}, {"id": "c1"}]
    assert results[10] == ["a", "b"] and results[11] == ["a"]
    calls = [(r.method, r.url.path) for r in rec.requests]
    assert calls == [
        ("GET", "/locations/loc-1/customFields"),
        ("POST", "/locations/loc-1/customFields"),
        ("PUT", "/locations/loc-1/customFields/f2"),
        ("DELETE", "/locations/loc-1/customFields/f2"),
        ("GET", "/locations/loc-1/tags"),
        ("POST", "/locations/loc-1/tags"),
        ("DELETE", "/locations/loc-1/tags/t2"),
        ("GET", "/contacts/c1"),
        ("PUT", "/contacts/c1"),
        ("DELETE", "/contacts/c1"),
        ("POST", "/contacts/c1/tags"),
        ("DELETE", "/contacts/c1/tags"),
    ]
    assert json.loads(rec.requests[-1].content) == {"tags": ["a"]}  # DELETE with body
    assert json.loads(rec.requests[5].content) == {"name": "new"}


def test_401_reads_method_path_status_message_and_hint() -> None:
    rec = Recorder(
        ok(
            {
                "statusCode": 401,
                "message": "The token is not authorized for this scope.",
            },
            401,
        )
    )
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.upsert_contact({"email": "a@example.com"}))
    error = caught.value
    assert error.message == (
        "POST /contacts/upsert -> 401: The token is not authorized for this scope."
    )
    assert error.status == 401 and error.method == "POST"
    assert "scope" in error.hints[0] and "loc-1" in error.hints[0]
    assert len(rec.requests) == 1  # a 401 is not retried
    assert TOKEN not in str(error) and TOKEN not in repr(error)


def test_422_message_list_is_joined_and_query_is_left_out() -> None:
    rec = Recorder(
        ok(
            {
                "statusCode": 422,
                "message": ["property a should not exist", "name must be a string"],
                "error": "Unprocessable Entity",
            },
            422,
        )
    )
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.list_custom_fields())
    assert str(caught.value).splitlines()[0] == (
        "GET /locations/loc-1/customFields -> 422: property a should not exist; "
        "name must be a string"
    )


def test_upstream_text_echoing_the_token_is_scrubbed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    rec = Recorder(httpx.Response(400, text=f"bad header Bearer {TOKEN}"))
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.get_contact("c1"))
    assert "***" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caplog.text
    assert "loc-1" in caplog.text or "/contacts/c1" in caplog.text


def test_repr_never_shows_the_token() -> None:
    async def main() -> None:
        async with httpx.AsyncClient(base_url=BASE) as http:
            api = ApiClient(http)
            loc = api.location("loc-1", TOKEN)
            assert TOKEN not in repr(loc) and TOKEN not in repr(api)
            assert TOKEN not in repr(vars(loc) if hasattr(loc, "__dict__") else loc)

    asyncio.run(main())


def test_get_is_retried_on_5xx_with_growing_backoff() -> None:
    rec = Recorder(
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(500),
        ok({"contact": {"id": "c1"}}),
    )
    result, sleeps = run(rec, lambda loc: loc.get_contact("c1"))
    assert result == {"id": "c1"}
    assert len(rec.requests) == 4
    assert sleeps == [0.25, 0.5, 1.0]  # base 0.5 * 2**n, times the jitter floor 0.5


def test_attempts_are_bounded() -> None:
    rec = Recorder(httpx.Response(503, json={"message": "down"}))
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.list_tags())
    assert len(rec.requests) == 5
    assert caught.value.message == "GET /locations/loc-1/tags -> 503: down"
    assert "after 5 attempts" in caught.value.hints[0]


def test_backoff_counts_against_the_budget_and_stops_the_retries() -> None:
    # backoff 0.25 and 0.5 fit into a 1.5 s budget; the third (1.0) would not
    rec = Recorder(httpx.Response(503, json={"message": "down"}))
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.list_tags(), attempts=9, bounds=Bounds(budget=1.5))
    assert len(rec.requests) == 3
    assert caught.value.message == "GET /locations/loc-1/tags -> 503: down"
    assert "after 3 attempts" in caught.value.hints[0]


def test_read_timeouts_that_leave_no_time_for_a_retry_end_in_the_budget_error() -> None:
    rec = Recorder(httpx.ReadTimeout("timed out"))
    quick = Bounds(budget=2.0, connect=0.1, read=0.1)
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.list_tags(), attempts=9, bounds=quick)
    assert len(rec.requests) == 4  # backoff 0.25, 0.5 and 1.0 fit, then 2.0 does not
    assert caught.value.message == (
        "GET /locations/loc-1/tags -> no answer within the 2 s time budget "
        "(waited 1.8 s, 4 attempts)"
    )
    assert "--timeout SECONDS" in caught.value.hints[0]


def test_a_timeout_cut_short_by_the_budget_is_not_retried() -> None:
    # the attempt's read timeout was what was left of the budget (0.5 s < 30 s)
    rec = Recorder(httpx.ReadTimeout("timed out"))
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.list_tags(), bounds=Bounds(budget=0.5))
    assert len(rec.requests) == 1
    assert "within the 0.5 s time budget" in caught.value.message


def test_plain_read_timeouts_use_up_the_attempts_not_the_budget() -> None:
    rec = Recorder(httpx.ReadTimeout("timed out"))
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.list_tags(), attempts=3)
    assert len(rec.requests) == 3
    assert caught.value.message == (
        "GET /locations/loc-1/tags -> no answer (ReadTimeout): timed out"
    )


def test_each_attempt_gets_timeouts_within_what_is_left() -> None:
    rec = Recorder(httpx.Response(503), ok({"tags": []}))
    run(rec, lambda loc: loc.list_tags(), bounds=Bounds(budget=20.0))
    first, second = (r.extensions["timeout"] for r in rec.requests)
    assert first == {"connect": 10.0, "read": 20.0, "write": 20.0, "pool": 20.0}
    assert second["connect"] == 10.0 and 19.0 < second["read"] < 19.75


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        (
            f"https://elsewhere.example/login?token={TOKEN}#top",
            "redirected to https://elsewhere.example/login, not followed",
        ),
        ("/v2/tags?x=1", "redirected to /v2/tags, not followed"),
        (None, "redirected (no Location given), not followed"),
    ],
)
def test_a_redirect_is_named_without_its_query_and_not_followed(
    location: str | None, shown: str
) -> None:
    headers = {} if location is None else {"location": location}
    rec = Recorder(httpx.Response(302, headers=headers))
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.list_tags())
    assert len(rec.requests) == 1
    assert caught.value.message == f"GET /locations/loc-1/tags -> 302: {shown}"
    assert "never follows a redirect" in caught.value.hints[0]


def test_an_error_without_a_body_reads_as_its_reason_phrase() -> None:
    rec = Recorder(httpx.Response(404))
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.list_tags())
    assert caught.value.message == "GET /locations/loc-1/tags -> 404: Not Found"


def test_429_is_retried_even_for_a_create() -> None:
    rec = Recorder(
        ok({"statusCode": 429, "message": "Too Many Requests"}, 429),
        ok({"tag": {"id": "t1", "name": "vip"}}),
    )
    result, sleeps = run(rec, lambda loc: loc.create_tag("vip"))
    assert result == {"id": "t1", "name": "vip"} and len(sleeps) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_create_after_5xx_is_ambiguous_not_retried(status: int) -> None:
    rec = Recorder(httpx.Response(status, json={"message": "Bad Gateway"}))
    with pytest.raises(AmbiguousWriteError) as caught:
        run(rec, lambda loc: loc.create_custom_field({"name": "Pin"}))
    assert len(rec.requests) == 1
    assert caught.value.status == status
    assert "re" in caught.value.hints[0] and "committed" in caught.value.hints[0]
    assert isinstance(caught.value, HlsyncError)


def test_create_after_dropped_connection_is_ambiguous() -> None:
    rec = Recorder(httpx.RemoteProtocolError("Server disconnected"))
    with pytest.raises(AmbiguousWriteError) as caught:
        run(rec, lambda loc: loc.create_tag("vip"))
    assert caught.value.status is None and len(rec.requests) == 1
    assert "RemoteProtocolError" in str(caught.value)


def test_create_is_retried_when_the_connection_never_opened() -> None:
    rec = Recorder(httpx.ConnectError("Connection refused"), ok({"tag": {"id": "t1"}}))
    result, _ = run(rec, lambda loc: loc.create_tag("vip"))
    assert result == {"id": "t1"} and len(rec.requests) == 2


def test_upsert_is_retried_after_dropped_connection_and_timeout() -> None:
    rec = Recorder(
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.ReadTimeout("timed out"),
        ok({"new": False, "contact": {"id": "c1"}}),
    )
    result, _ = run(rec, lambda loc: loc.upsert_contact({"email": "a@b.c"}))
    assert result["contact"] == {"id": "c1"} and len(rec.requests) == 3


def test_transport_failure_after_all_attempts_is_an_hlsync_error() -> None:
    rec = Recorder(httpx.ConnectError("Connection refused"))
    with pytest.raises(ApiError) as caught:
        run(rec, lambda loc: loc.list_tags(), attempts=3)
    assert len(rec.requests) == 3
    assert caught.value.message == (
        "GET /locations/loc-1/tags -> no answer (ConnectError): Connection refused"
    )


def test_invalid_json_and_wrong_shapes_are_hlsync_errors() -> None:
    rec = Recorder(httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(ApiError, match="not JSON"):
        run(rec, lambda loc: loc.list_tags())
    rec = Recorder(httpx.Response(200, json=[1, 2]))
    with pytest.raises(ApiError, match="expected a JSON object"):
        run(rec, lambda loc: loc.list_tags())
    rec = Recorder(ok({"items": []}))
    with pytest.raises(ApiError, match="no 'tags' list"):
        run(rec, lambda loc: loc.list_tags())


def test_daily_limit_429_is_not_retried() -> None:
    rec = Recorder(
        httpx.Response(
            429,
            json={"statusCode": 429, "message": "Too Many Requests"},
            headers={"X-RateLimit-Daily-Remaining": "0"},
        )
    )
    with pytest.raises(DailyLimitError, match="location loc-1"):
        run(rec, lambda loc: loc.list_tags())
    assert len(rec.requests) == 1


class PagingServer:
    """Search over N synthetic contacts with page mode up to 10,000 and cursors."""

    def __init__(self, count: int) -> None:
        self.contacts = [
            {"id": f"c{i:05d}", "searchAfter": [i, f"c{i:05d}"]} for i in range(count)
        ]
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        limit = body["pageLimit"]
        if "searchAfter" in body:
            start = body["searchAfter"][0] + 1
        else:
            start = (body["page"] - 1) * limit
            assert body["page"] * limit <= 10_000
        page = self.contacts[start : start + limit]
        return ok({"contacts": page, "total": len(self.contacts)})


@pytest.mark.parametrize(
    ("count", "requests"), [(0, 1), (500, 1), (1200, 3), (10_000, 20), (10_700, 22)]
)
def test_iter_search_pages_then_cursors_without_wasted_requests(
    count: int, requests: int
) -> None:
    server = PagingServer(count)

    async def body(loc: LocationApi) -> list[str]:
        sort = [{"field": "dateAdded", "direction": "asc"}]
        return [c["id"] async for c in loc.iter_search(sort=sort)]

    ids, _ = run(server, body)
    assert ids == [c["id"] for c in server.contacts]
    assert len(server.bodies) == requests
    modes = ["searchAfter" in b for b in server.bodies]
    assert modes == [False] * min(requests, 20) + [True] * (requests - 20)
    assert all(
        b["sort"] == [{"field": "dateAdded", "direction": "asc"}] for b in server.bodies
    )


def test_cancelled_request_gives_its_pacing_slot_back() -> None:
    async def main() -> None:
        entered = asyncio.Event()

        async def stall(request: httpx.Request) -> httpx.Response:
            entered.set()
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        transport = httpx.MockTransport(stall)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            api = ApiClient(http)
            task = asyncio.ensure_future(api.location("loc-1", TOKEN).list_tags())
            await entered.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert api.pacer.budget(pace_key(TOKEN, "loc-1")).in_flight == 0

    asyncio.run(main())


def test_a_location_without_a_token_refuses_calls_until_it_gets_one() -> None:
    """A location pending its seeding token's repair sends nothing (no fallback)."""
    rec = Recorder(ok({"location": {"id": "loc-1", "name": "Main"}}))

    async def main() -> Any:
        transport = httpx.MockTransport(rec)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            loc = ApiClient(http).location("loc-1", "")
            assert not loc.has_token
            with pytest.raises(ApiError, match="no token to call GET /locations/loc-1"):
                await loc.get_location()
            assert rec.requests == []
            loc.switch_token(TOKEN)
            return await loc.get_location()

    assert asyncio.run(main()) == {"id": "loc-1", "name": "Main"}
    assert len(rec.requests) == 1
