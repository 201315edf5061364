"""verify's checks and report against a scripted upstream (httpx.MockTransport): the
statuses per scope, --excess, the report with the runbook's fix, and the answers that
stop verify (a write probe accepted, a refused token, an answer that says nothing)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection

import httpx
import pytest

from hlsync.core.catalog import load_catalog
from hlsync.errors import HlsyncError
from hlsync.live.probes import PROBES
from hlsync.live.verify import Report, Subject, check_scopes, render_report
from tests.golden import GOLDEN, check_golden

URL = "https://api.example.test"
LOC = "LOC-main-0001"
NOT_AUTHORIZED = "The token is not authorized for this scope."
SEED_BOT = Subject(
    key="main/seed-bot",
    name="seed-bot",
    location="main",
    location_id=LOC,
    scopes=("contacts.readonly", "contacts.write", "users.readonly"),
)


def _upstream(
    held: Collection[str], sent: list[tuple[str, str]] | None = None
) -> httpx.MockTransport:
    """Answers each probe as upstream would for a token holding ``held``: 401 for a
    missing scope, else 200 for a read and 422 for a write probe's body."""
    routes = {(p.method, p.path_for(LOC)): p for p in PROBES.values()}

    def handler(request: httpx.Request) -> httpx.Response:
        probe = routes[(request.method, request.url.path)]
        if sent is not None:
            sent.append((request.method, request.url.path))
        if probe.scope not in held:
            return httpx.Response(
                401, json={"statusCode": 401, "message": NOT_AUTHORIZED}
            )
        if probe.writes:
            body = json.loads(request.content)
            assert body["hlsyncScopeProbe"] is True
            return httpx.Response(
                422, json={"statusCode": 422, "message": ["name should not be empty"]}
            )
        return httpx.Response(200, json={})

    return httpx.MockTransport(handler)


def _check(
    subject: Subject, transport: httpx.MockTransport, *, excess: bool = False
) -> Report:
    return asyncio.run(
        check_scopes(URL, "pit-x", subject, excess=excess, transport=transport)
    )


def _statuses(report: Report) -> dict[str, str]:
    return {c.scope: c.status for c in report.checks}


def test_declared_scopes_ok_missing_or_not_verifiable() -> None:
    report = _check(SEED_BOT, _upstream({"contacts.readonly"}))
    assert _statuses(report) == {
        "contacts.readonly": "ok",
        "contacts.write": "MISSING",
        "users.readonly": "not verifiable",
    }
    assert report.exit_code == 1
    assert _check(SEED_BOT, _upstream(SEED_BOT.scopes)).exit_code == 0


def test_excess_probes_every_undeclared_probed_scope_once(update_golden: bool) -> None:
    sent: list[tuple[str, str]] = []
    held = {*SEED_BOT.scopes, "locations/tags.write"}
    report = _check(SEED_BOT, _upstream(held, sent), excess=True)
    statuses = _statuses(report)
    assert statuses["locations/tags.write"] == "EXTRA"
    assert statuses["locations/tags.readonly"] == "absent"
    assert len(sent) == len(set(sent)) == len(PROBES)  # each probe once
    sub_account = load_catalog().select(level="sub-account")
    assert report.unprobed == len(sub_account) - len(PROBES) - 1  # users.readonly
    assert report.exit_code == 1
    check_golden(
        GOLDEN / "verify" / "excess.txt",
        render_report(report, "cfg") + "\n",
        update_golden,
    )


def test_an_agency_token_is_probed_on_the_first_location_for_locations_readonly() -> (
    None
):
    agency = Subject(
        "agency/ci", "ci", None, LOC, ("locations.readonly", "users.readonly")
    )
    report = _check(
        agency, _upstream({"locations.readonly", "users.readonly"}), excess=True
    )
    assert _statuses(report) == {
        "locations.readonly": "ok",
        "users.readonly": "not verifiable",
    }
    assert report.exit_code == 0 and report.unprobed > 0
    nowhere = Subject("agency/ci", "ci", None, None, ("locations.readonly",))
    (check,) = _check(nowhere, _upstream(set())).checks
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
    assert "Result: 1 scope missing, 1 ok, 1 not verifiable." in text
    assert "tick the missing scope:" in text
    assert (
        "[x] contacts.write" in text
        and "$ hlsync verify main/seed-bot\n" in text + "\n"
    )
    assert "Excess" not in text  # not asked for
