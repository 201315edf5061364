"""The upstream's time, from the ``Date`` header of one request that needs no token.

``hlsync confirm`` stamps the ledger with the time a change was made in the UI. The
upstream's clock is the one the rest of hlsync decides by (token rotation windows,
leases: ``client.UpstreamClock``), and two operators' machines may disagree; so confirm
asks the upstream first and falls back to the local clock only when it cannot be
reached, saying which it used. The request is ``HEAD /`` without a token: every answer
of HighLevel's gateway (a 404 included) carries ``Date``, as the emulator's does, and
nothing is sent that could change anything or reveal a secret. Redirects are not
followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx

from hlsync.upstream.tls import tls_context

TIMEOUT_SECONDS = 5.0
Source = Literal["upstream", "local"]


@dataclass(frozen=True, slots=True)
class StampTime:
    """A time and where it came from; ``how`` says it in words for the operator."""

    at: datetime
    source: Source
    how: str


async def upstream_time(
    base_url: str,
    *,
    timeout: float = TIMEOUT_SECONDS,
    transport: httpx.AsyncBaseTransport | None = None,
) -> StampTime:
    """The upstream's ``Date`` when it answers with a readable one, else this
    machine's clock, with the reason."""
    try:
        async with httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            verify=tls_context(),
        ) as http:
            answer = await http.head("/")
    except httpx.HTTPError as exc:
        return _local(f"{base_url} did not answer ({type(exc).__name__})")
    header = answer.headers.get("date")
    when = parse_date(header)
    if when is None:
        return _local(f"{base_url} sent no readable Date header")
    return StampTime(when, "upstream", f"the upstream's clock (Date of {base_url})")


def _local(reason: str) -> StampTime:
    return StampTime(datetime.now(UTC), "local", f"this machine's clock: {reason}")


def parse_date(header: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime; None when absent or
    unreadable (no evidence of the time)."""
    if not header:
        return None
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
