"""The plan's estimate at the rate limit the server reported, or upstream's documented
default, saying which (issue 12, item 4); saved plans keep the limits."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import jsonschema
import pytest

from hlsync.core.estimate import DEFAULT_LIMIT, RateLimit, estimate
from hlsync.core.model import DesiredState
from hlsync.core.plan import Change, Plan, PlanLocation
from hlsync.core.render import estimate_line, render_plan_json, render_plan_markdown
from hlsync.errors import HlsyncError
from hlsync.targets.access import TargetAccess, reported_limits
from hlsync.upstream.client import ApiClient
from hlsync.upstream.traffic import Traffic
from tests.unit.conftest import DIGEST

REPO = Path(__file__).resolve().parents[2]


def _tags(location: str, count: int) -> list[Change]:
    return [
        Change(
            address=f'{location}.tag["t{i}"]',
            action="create",
            kind="tag",
            location=location,
            location_id=f"LOC-{location}",
            key=f"t{i}",
            desired={"name": f"t{i}"},
            api_calls=1,
        )
        for i in range(count)
    ]


def _plan(changes: list[Change], limits: dict[str, RateLimit] | None = None) -> Plan:
    names = sorted({c.location for c in changes if c.location is not None})
    return Plan(
        "0.1.0",
        DIGEST,
        "sandbox",
        tuple(PlanLocation(n, f"LOC-{n}") for n in names),
        tuple(changes),
        rate_limits=limits or {},
    )


def test_the_estimate_uses_the_limit_the_server_reported_and_says_so() -> None:
    plan = _plan(_tags("main", 1200), {"main": RateLimit(100, 1000)})
    assert plan.summary.estimated_seconds == 12
    assert estimate_line(plan) == (
        "Estimated: 1200 API calls, about 12s at the rate limit the server reported "
        "(100 requests / 1 s per location; locations run in parallel)."
    )


def test_without_a_reported_limit_the_estimate_says_it_uses_the_default() -> None:
    plan = _plan(_tags("main", 1200))
    assert plan.summary.estimated_seconds == 120
    assert estimate_line(plan) == (
        "Estimated: 1200 API calls, about 120s at upstream's documented default "
        "(100 requests / 10 s per location; locations run in parallel)."
    )


def test_the_location_that_sets_the_pace_is_named_when_limits_differ() -> None:
    # main: 300 calls at 100/1 s = 3 s; branch: 50 calls at the default = 5 s
    changes = _tags("main", 300) + _tags("branch", 50)
    plan = _plan(changes, {"main": RateLimit(100, 1000)})
    assert plan.summary.estimated_seconds == 5
    line = estimate_line(plan)
    assert "about 5s at upstream's documented default for branch, the location" in line
    assert "(100 requests / 10 s;" in line
    assert line in render_plan_markdown(plan)
    # the other way round, the reported limit sets the pace and says so
    plan = _plan(_tags("main", 900) + _tags("branch", 5), {"main": RateLimit(50, 500)})
    assert plan.summary.estimated_seconds == 9
    assert (
        "reported for main, the location that sets the pace (50 requests / 500 ms"
        in (estimate_line(plan))
    )


def test_agency_changes_are_estimated_at_the_agency_key_limit() -> None:
    agency = [
        Change(
            address=f'agency.integration["i{i}"]',
            action="create",
            kind="integration",
            location=None,
            location_id=None,
            key=f"i{i}",
            api_calls=1,
        )
        for i in range(30)
    ]
    assert estimate([("agency", 30)], {"agency": RateLimit(10, 1000)}).seconds == 3
    plan = _plan(agency, {"agency": RateLimit(10, 1000), "main": RateLimit(1, 1000)})
    assert plan.summary.estimated_seconds == 3
    assert "the rate limit the server reported (10 requests / 1 s" in estimate_line(
        plan
    )


def test_no_calls_no_time() -> None:
    cost = estimate([("main", 0)], {})
    assert (cost.calls, cost.seconds, cost.pace, cost.limit) == (
        0,
        0,
        None,
        DEFAULT_LIMIT,
    )
    with pytest.raises(ValueError, match="positive"):
        RateLimit(0, 1000)


def test_a_saved_plan_keeps_the_limits_and_refuses_an_edited_one() -> None:
    plan = _plan(_tags("main", 250), {"main": RateLimit(100, 1000)})
    data = json.loads(render_plan_json(plan))
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["rate_limits"] == {"main": {"max": 100, "interval_ms": 1000}}
    assert data["summary"]["estimated_seconds"] == 3
    loaded = Plan.from_dict(data)
    assert loaded.rate_limits == {"main": RateLimit(100, 1000)}
    assert estimate_line(loaded) == estimate_line(plan)

    data["rate_limits"]["main"]["max"] = 1000  # the estimate no longer adds up
    with pytest.raises(HlsyncError, match="summary does not match"):
        Plan.from_dict(data)
    data["rate_limits"]["main"]["max"] = 99  # still 3 s: the checksum catches it
    with pytest.raises(HlsyncError, match="modified after it was made"):
        Plan.from_dict(data)
    data["rate_limits"]["main"]["max"] = 0
    with pytest.raises(HlsyncError, match="must be positive"):
        Plan.from_dict(data)


def test_a_plan_without_limits_saves_no_rate_limits() -> None:
    data = json.loads(render_plan_json(_plan(_tags("main", 3))))
    assert "rate_limits" not in data
    assert Plan.from_dict(data).rate_limits == {}


def test_the_client_records_each_location_first_reported_limits() -> None:
    answers = iter(["50", "70"])

    def handler(request: httpx.Request) -> httpx.Response:
        location = request.url.path.split("/")[2]
        headers = {
            "X-RateLimit-Max": next(answers) if location == "LOC-main" else "9",
            "X-RateLimit-Interval-Milliseconds": "2000",
            "X-RateLimit-Remaining": "1",
        }
        if location == "COMP-1":
            headers = {}  # the admin API: no limits stated
        return httpx.Response(200, json={"tags": []}, headers=headers)

    async def main() -> Traffic:
        http = httpx.AsyncClient(
            transport=httpx.MockTransport(handler), base_url="http://127.0.0.1"
        )
        async with http:
            api = ApiClient(http)
            for where in ("LOC-main", "LOC-main", "LOC-branch", "COMP-1"):
                await api.location(where, "tok").list_tags()
            return api.traffic

    traffic = asyncio.run(main())
    main_seen = traffic.of("LOC-main")
    assert main_seen.first_limits is not None and main_seen.limits is not None
    assert (main_seen.first_limits.max, main_seen.limits.max) == (50, 70)
    assert main_seen.sent == main_seen.first_sends == 2
    access = TargetAccess(locations={}, company_id="COMP-1", traffic=traffic)
    desired = _desired(("main", "LOC-main"), ("branch", "LOC-branch"))
    assert reported_limits(access, desired) == {
        "main": RateLimit(50, 2000),
        "branch": RateLimit(9, 2000),
    }
    assert reported_limits(TargetAccess(locations={}), desired) == {}


def _desired(*locations: tuple[str, str]) -> DesiredState:
    from tests.unit.conftest import representative

    desired, _ = representative()
    from dataclasses import replace

    specs = [
        replace(desired.locations[0], name=name, id=location_id)
        for name, location_id in locations
    ]
    return replace(desired, locations=tuple(specs))
