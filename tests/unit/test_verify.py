"""verify's checks and report against a scripted upstream (httpx.MockTransport): the
statuses per scope, --excess, the company id read for the one probe that names it, the
report with the runbook's fix, and the answers that stop verify (a write probe
accepted, a refused token, an answer that says nothing)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection

import httpx
import pytest

from hlsync.core.catalog import load_catalog
from hlsync.errors import HlsyncError
from hlsync.live.probes import AGENCY_PROBES, PROBES, Probe
from hlsync.live.verify import Report, Subject, check_scopes, render_report
from tests.golden import GOLDEN, check_golden

URL = "https://api.example.test"
LOC = "LOC-main-0001"
COMPANY = "COMP-agency-01"
NOT_AUTHORIZED = "The token is not authorized for this scope."
SEED_BOT = Subject(
    key="main/seed-bot",
    name="seed-bot",
    location="main",
    location_id=LOC,
    scopes=("contacts.readonly", "contacts.write", "users.readonly"),
)
LOOKUP = f"/locations/{LOC}"


def _upstream(
    held: Collection[str],
    sent: list[tuple[str, str]] | None = None,
    *,
    agency: bool = False,
    lookup: Collection[str] = (),
) -> httpx.MockTransport:
    """Answers each probe as upstream would for a token holding ``held``: 401 for a
    missing scope, else 200 for a read (404 for one naming an object that cannot
    exist) and 422 for a write probe's body. ``GET /locations/{id}`` also answers the
    company lookup, for ``pit-x`` when it holds ``locations.readonly`` and for the
    tokens in ``lookup``."""
    table = AGENCY_PROBES if agency else PROBES
    routes: dict[tuple[str, str], Probe] = {
        (p.method, p.path_for(LOC, COMPANY)): p for p in table.values()
    }

    def handler(request: httpx.Request) -> httpx.Response:
        probe = routes[(request.method, request.url.path)]
        if sent is not None:
            sent.append((request.method, request.url.path))
        assert request.headers["version"] == probe.version
        assert dict(request.url.params) == probe.query_for(LOC, COMPANY)
        token = request.headers["authorization"].removeprefix("Bearer ")
        holds = probe.scope in held if token == "pit-x" else token in lookup
        if not holds:
            return httpx.Response(
                401, json={"statusCode": 401, "message": NOT_AUTHORIZED}
            )
        if probe.writes:
            body = json.loads(request.content)
            assert body["hlsyncScopeProbe"] is True
            return httpx.Response(
                422, json={"statusCode": 422, "message": ["name should not be empty"]}
            )
        if probe.no_such_object:
            return httpx.Response(404, json={"statusCode": 404, "message": "none"})
        location = {"id": LOC, "companyId": COMPANY}
        return httpx.Response(200, json={"location": location})

    return httpx.MockTransport(handler)


def _check(
    subject: Subject,
    transport: httpx.MockTransport,
    *,
    excess: bool = False,
    lookup_token: str | None = None,
) -> Report:
    return asyncio.run(
        check_scopes(
            URL,
            "pit-x",
            subject,
            excess=excess,
            transport=transport,
            lookup_token=lookup_token,
        )
    )


def _statuses(report: Report) -> dict[str, str]:
    return {c.scope: c.status for c in report.checks}


def test_declared_scopes_ok_or_missing() -> None:
    report = _check(SEED_BOT, _upstream({"contacts.readonly", "users.readonly"}))
    assert _statuses(report) == {
        "contacts.readonly": "ok",
        "contacts.write": "MISSING",
        "users.readonly": "ok",
    }
    assert report.exit_code == 1
    assert _check(SEED_BOT, _upstream(SEED_BOT.scopes)).exit_code == 0


def test_excess_probes_every_undeclared_scope_once(update_golden: bool) -> None:
    sent: list[tuple[str, str]] = []
    held = {*SEED_BOT.scopes, "locations/tags.write", "socialplanner/post.readonly"}
    report = _check(
        SEED_BOT,
        _upstream(held, sent, lookup={"pit-own"}),
        excess=True,
        lookup_token="pit-own",
    )
    statuses = _statuses(report)
    assert statuses["locations/tags.write"] == "EXTRA"
    assert statuses["socialplanner/post.readonly"] == "EXTRA"  # held: 404, no object
    assert statuses["locations/tags.readonly"] == "absent"
    sub_account = load_catalog().select(level="sub-account")
    assert len(report.checks) == len(sub_account) == len(PROBES)
    assert "not verifiable" not in statuses.values()
    # each probe once; the company is read (for saas/company.write's probe) with
    # the token, which cannot, then with the location's own
    assert statuses["saas/company.write"] == "absent"
    assert sent.count(("GET", LOOKUP)) == 3  # two lookups, and locations.readonly
    assert len(sent) == len(PROBES) + 2
    assert report.exit_code == 1
    check_golden(
        GOLDEN / "verify" / "excess.txt",
        render_report(report, "cfg") + "\n",
        update_golden,
    )


def test_the_company_is_read_once_with_the_token_or_else_the_locations_own() -> None:
    subject = Subject("main/saas", "saas", "main", LOC, ("saas/company.write",))
    sent: list[tuple[str, str]] = []
    report = _check(
        subject,
        _upstream({"saas/company.write"}, sent, lookup={"pit-own"}),
        lookup_token="pit-own",
    )
    assert _statuses(report) == {"saas/company.write": "ok"}
    assert ("POST", f"/saas-api/public-api/bulk-disable-saas/{COMPANY}") in sent
    assert sent.count(("GET", LOOKUP)) == 2  # the token, then the location's own
    (check,) = _check(subject, _upstream({"saas/company.write"})).checks
    assert check.status == "not verifiable"
    assert "names the company, whose id could not be read" in check.detail


def test_an_agency_token_is_probed_on_the_first_location() -> None:
    agency = Subject(
        "agency/ci", "ci", None, LOC, ("locations.readonly", "users.readonly")
    )
    sent: list[tuple[str, str]] = []
    report = _check(
        agency,
        _upstream({"locations.readonly", "users.readonly"}, sent, agency=True),
        excess=True,
    )
    statuses = _statuses(report)
    assert statuses["locations.readonly"] == statuses["users.readonly"] == "ok"
    assert (
        len(statuses)
        == len(AGENCY_PROBES)
        == len(load_catalog().select(level="agency"))
    )
    assert "not verifiable" not in statuses.values()
    assert ("GET", "/users/hlsync-probe-no-such-id") in sent  # 404: held
    assert report.exit_code == 0
    nowhere = Subject("agency/ci", "ci", None, None, ("locations.readonly",))
    (check,) = _check(nowhere, _upstream(set(), agency=True)).checks
    assert (check.status, check.detail) == (
        "not verifiable",
        "no location declared to probe",
    )


def _answering(status: int, message: str) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(
            status, json={"statusCode": status, "message": message}
        )
    )


@pytest.mark.parametrize(
    ("transport", "expected"),
    [
        (_answering(201, "created"), "was accepted: verify's probe for contacts.write"),
        (_answering(401, "Invalid JWT"), "the token of main/seed-bot was refused"),
        (_answering(403, "no access"), "the token of main/seed-bot was refused"),
        (_answering(404, "Cannot POST /contacts/"), "404"),
        (_answering(400, "Version header value 'x' is not supported"), "Version"),
    ],
)
def test_answers_that_stop_verify(
    transport: httpx.MockTransport, expected: str
) -> None:
    write_only = Subject("main/seed-bot", "seed-bot", "main", LOC, ("contacts.write",))
    with pytest.raises(HlsyncError) as caught:
        _check(write_only, transport)
    assert expected in str(caught.value)
    assert "pit-x" not in str(caught.value)


def test_the_report_shows_the_runbook_edit_that_ticks_a_missing_scope() -> None:
    report = _check(SEED_BOT, _upstream({"contacts.readonly"}))
    text = render_report(report)
    assert "Result: 2 scopes missing, 1 ok, 0 not verifiable." in text
    assert "tick the missing scopes:" in text
    assert (
        "[x] contacts.write" in text
        and "$ hlsync verify main/seed-bot\n" in text + "\n"
    )
    assert "Excess" not in text  # not asked for
