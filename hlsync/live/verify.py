"""Probing a delivered token for its scopes, and the report ``hlsync verify`` prints.

:func:`check_scopes` sends one probe (:mod:`hlsync.live.probes`) per declared scope and,
with ``excess=True``, one per catalog scope of the token's level that is *not*
declared: the same non-mutating requests, read the other way round. Each scope becomes
a :class:`ScopeCheck`:

* declared: ``ok`` (held), ``MISSING`` (401 not authorized for this scope) or
  ``not verifiable`` (an agency integration with no location declared to probe on, or
  ``saas/company.write`` when the company id cannot be read);
* not declared (``--excess``): ``absent`` (refused for the scope, as it should be) or
  ``EXTRA`` (held: one box ticked too many in the UI).

The company id (only ``saas/company.write``'s probe names it) is read with ``GET
/locations/{id}``, with the token under test and else with ``lookup_token`` (the
location's own token, which hlsync's reads need anyway).

A token refused outright (invalid, expired, another location's: 401 or 403), an answer
that says nothing about the scope (404, 5xx after the retries) and a write probe the
upstream accepted raise :class:`HlsyncError`. Probes run one after another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import httpx

from hlsync.core.catalog import Level, load_catalog
from hlsync.errors import HlsyncError
from hlsync.live.probes import Probe, probe_for
from hlsync.live.runbook import render_item_text, scope_fix_item
from hlsync.upstream.bounds import Bounds
from hlsync.upstream.client import ApiClient, ApiError, RetryPolicy
from hlsync.upstream.tls import tls_context

Status = Literal["ok", "MISSING", "not verifiable", "absent", "EXTRA"]


@dataclass(frozen=True, slots=True)
class ScopeCheck:
    scope: str
    status: Status
    detail: str  # the probe and its answer, or why the scope cannot be verified
    declared: bool = True


@dataclass(frozen=True, slots=True)
class Subject:
    """What is verified: integration ``key`` (``main/seed-bot``) with its declared
    ``scopes``, probed on ``location_id`` (an agency token: the first declared
    location, None when there is none)."""

    key: str
    name: str
    location: str | None
    location_id: str | None
    scopes: tuple[str, ...]

    @property
    def level(self) -> Level:
        return "agency" if self.location is None else "sub-account"


@dataclass(frozen=True, slots=True)
class Report:
    subject: Subject
    base_url: str
    checks: tuple[ScopeCheck, ...]
    excess: bool = False

    def count(self, status: Status) -> int:
        return sum(c.status == status for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 1 if self.count("MISSING") or self.count("EXTRA") else 0


def excess_candidates(subject: Subject) -> tuple[str, ...]:
    """The undeclared catalog scopes of the subject's level, in catalog order."""
    return tuple(
        scope.name
        for scope in load_catalog().select(level=subject.level)
        if scope.name not in subject.scopes
    )


async def check_scopes(
    base_url: str,
    token: str,
    subject: Subject,
    *,
    excess: bool = False,
    timeout: float | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    lookup_token: str | None = None,
) -> Report:
    """The report for ``subject``'s token; ``timeout``: each probe's time budget in
    seconds (default 60); ``transport``: the HTTP transport (tests);
    ``lookup_token``: another token that may read the location (its company id).
    Raises :class:`HlsyncError` as the module docstring says."""
    retry = RetryPolicy(attempts=3)
    bounds = Bounds() if timeout is None else Bounds(budget=timeout)
    extra = excess_candidates(subject) if excess else ()
    checks: list[ScopeCheck] = []
    async with httpx.AsyncClient(
        base_url=base_url,
        timeout=bounds.timeout(bounds.budget),
        transport=transport,
        verify=tls_context(),
    ) as http:
        api = ApiClient(http, retry=retry, bounds=bounds)
        probing = _Probing(api, token, subject, lookup_token)
        for scope in subject.scopes:
            checks.append(await probing.check(scope, declared=True))
        for scope in extra:
            checks.append(await probing.check(scope, declared=False))
    return Report(subject, base_url, tuple(checks), excess)


class _Probing:
    """One token's probes, and the company id once a probe has needed it."""

    def __init__(
        self, api: ApiClient, token: str, subject: Subject, lookup: str | None
    ) -> None:
        self.api = api
        self.token = token
        self.subject = subject
        self.lookup = lookup
        self.company_id: str | None = None
        self.looked_up = False

    async def check(self, scope: str, *, declared: bool) -> ScopeCheck:
        subject = self.subject
        probe = probe_for(scope, agency=subject.level == "agency")
        if probe is None:
            return ScopeCheck(scope, "not verifiable", f"not a {subject.level} scope")
        if subject.location_id is None:
            return ScopeCheck(scope, "not verifiable", "no location declared to probe")
        company_id = await self.company() if probe.needs_company else ""
        if company_id is None:
            return ScopeCheck(
                scope,
                "not verifiable",
                f"{probe.shown} names the company, whose id could not be read with "
                f"GET /locations/{subject.location_id} (it needs locations.readonly "
                "on this token or on the location's own token)",
            )
        held, detail = await _send(self.api, self.token, probe, subject, company_id)
        if declared:
            return ScopeCheck(scope, "ok" if held else "MISSING", detail)
        return ScopeCheck(scope, "EXTRA" if held else "absent", detail, declared=False)

    async def company(self) -> str | None:
        """The location's company id, read once (None when no token may read it)."""
        if self.looked_up:
            return self.company_id
        self.looked_up = True
        location_id = self.subject.location_id or ""
        for token in (self.token, self.lookup):
            if token is None:
                continue
            try:
                body = await self.api.request(
                    "GET",
                    f"/locations/{location_id}",
                    token=token,
                    location_id=location_id,
                )
            except ApiError:
                continue
            location = body.get("location")
            found = location.get("companyId") if isinstance(location, dict) else None
            if isinstance(found, str) and found:
                self.company_id = found
                break
        return self.company_id


async def _send(
    api: ApiClient, token: str, probe: Probe, subject: Subject, company_id: str
) -> tuple[bool, str]:
    """Whether the token holds ``probe.scope``, and the probe with its answer."""
    location_id = subject.location_id or ""
    try:
        await api.request(
            probe.method,
            probe.path_for(location_id, company_id),
            token=token,
            location_id=location_id,
            json_body=probe.body_for(location_id, company_id),
            params=probe.query_for(location_id, company_id) or None,
            version=probe.version,
        )
    except ApiError as exc:
        if exc.status is None:
            raise
        status, message = exc.status, exc.upstream_message
        said = f"{probe.shown} -> {status} {message or '(no message)'}"
        verdict = probe.verdict(status, message)
        if verdict == "missing":
            return False, said
        if verdict == "refused":
            raise HlsyncError(
                f"the token of {subject.key} was refused: {said}",
                hints=(
                    "it is not a valid token of this location (expired, rotated, "
                    "or another account's); deliver a fresh one with "
                    f"'hlsync token deliver {subject.key}'",
                ),
            ) from exc
        if verdict == "accepted":  # a 2xx whose body was not an object
            raise _accepted(probe, location_id) from exc
        if verdict is None:
            raise
        if status >= 300:
            return True, f"{said} (past the scope check: the scope is held)"
        return True, probe.shown  # a list answered as a JSON array
    if probe.verdict(200, None) == "accepted":
        raise _accepted(probe, location_id)
    if probe.writes:  # the DELETE of what cannot exist
        return True, f"{probe.shown} -> 2xx (nothing to delete: the scope is held)"
    return True, probe.shown


def _accepted(probe: Probe, location_id: str) -> HlsyncError:
    return HlsyncError(
        f"{probe.shown} was accepted: verify's probe for {probe.scope} is built "
        "to be refused for its body, so this upstream checks requests in another "
        f"order than verify assumes, and {probe.scope} cannot be verified here",
        hints=(
            f"look in location {location_id} for anything the probe may have "
            "created, and report this",
        ),
    )


def render_report(report: Report, config_root: str | None = None) -> str:
    """One line per scope, a summary line, then what to do about each problem."""
    subject = report.subject
    lines = [f"Verifying the token of {subject.key} at {report.base_url}", ""]
    width = max((len(c.scope) for c in report.checks), default=0)
    for c in report.checks:
        lines.append(f"  {c.scope.ljust(width)}  {c.status.ljust(14)}  {c.detail}")
    missing = report.count("MISSING")
    unknown = report.count("not verifiable")
    lines += [
        "",
        f"Result: {_scopes(missing)} missing, {report.count('ok')} ok, "
        f"{unknown} not verifiable.",
    ]
    if report.excess:
        extra = [c.scope for c in report.checks if c.status == "EXTRA"]
        lines.append(
            f"Excess: {_scopes(len(extra))} held beyond the declared ones"
            + (f" ({', '.join(extra)})" if extra else "")
            + f", {report.count('absent')} absent, as they should be; "
            f"{report.count('not verifiable')} not verifiable."
        )
    tick = [c.scope for c in report.checks if c.status == "MISSING"]
    untick = [c.scope for c in report.checks if c.status == "EXTRA"]
    if tick or untick:
        item = scope_fix_item(
            subject.location,
            subject.location_id,
            subject.name,
            tick=tick,
            untick=untick,
            config_root=config_root,
            excess=report.excess,
        )
        what = []
        if tick:
            what.append(f"tick the missing {_noun(tick)}")
        if untick:
            what.append(f"untick the extra {_noun(untick)}")
        lines += [
            "",
            f"The token's scopes differ from what {subject.key} declares. In "
            f"{item.where}, "
            f"{' and '.join(what)}:",
            *render_item_text(item),
        ]
    return "\n".join(lines)


def _noun(scopes: Sequence[str]) -> str:
    return "scope" if len(scopes) == 1 else "scopes"


def _scopes(n: int) -> str:
    return f"{n} {'scope' if n == 1 else 'scopes'}"
