"""What a trial left in the account, read once faults are off (search not lagged).

Duplicates: contacts of one location sharing an email (case-insensitive) beyond the
first, and Private Integrations of one location sharing a name beyond the first. Lost
contacts: declared emails that no contact has. Lost tokens: declared integrations whose
sink file is missing or empty, or holds a token that a read-only request refuses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.soak.account import INTEGRATIONS, SoakLocation
from tests.soak.upstream import Upstream

PAGE = 500


@dataclass(frozen=True, slots=True)
class Audit:
    duplicate_contacts: int
    duplicate_integrations: int
    lost_contacts: int
    lost_tokens: int


def audit(
    folder: Path, upstream: Upstream, locations: tuple[SoakLocation, ...], contacts: int
) -> Audit:
    upstream.clear_faults()
    dup_contacts = dup_integrations = lost_contacts = lost_tokens = 0
    for loc in locations:
        emails = Counter(_emails(upstream, loc))
        dup_contacts += sum(n - 1 for n in emails.values())
        lost_contacts += sum(loc.email(n) not in emails for n in range(contacts))
        names = Counter(i["name"] for i in upstream.integrations(loc.id))
        dup_integrations += sum(n - 1 for n in names.values())
        lost_tokens += sum(
            not _works(upstream, loc, folder / loc.sink(name)) for name in INTEGRATIONS
        )
    return Audit(dup_contacts, dup_integrations, lost_contacts, lost_tokens)


def present(
    upstream: Upstream, locations: tuple[SoakLocation, ...], contacts: int
) -> int:
    """How many declared contacts exist (faults off): what the faulty phase wrote."""
    upstream.clear_faults()
    return sum(
        len({loc.email(n) for n in range(contacts)} & set(_emails(upstream, loc)))
        for loc in locations
    )


def _emails(upstream: Upstream, loc: SoakLocation) -> list[str]:
    """Every contact's email in ``loc`` (lower case), paged by ``searchAfter``."""
    found: list[str] = []
    after: list[object] | None = None
    with upstream.client(upstream.tokens[loc.id]) as http:
        for _ in range(1_000):
            body: dict[str, object] = {"locationId": loc.id, "pageLimit": PAGE}
            if after is not None:
                body["searchAfter"] = after
            answer = http.post("/contacts/search", json=body)
            answer.raise_for_status()
            page = answer.json()["contacts"]
            found += [str(c.get("email") or "").lower() for c in page]
            if len(page) < PAGE:
                break
            after = page[-1]["searchAfter"]
    return found


def _works(upstream: Upstream, loc: SoakLocation, sink: Path) -> bool:
    """Whether ``sink`` holds a token that may read ``loc``'s contacts."""
    try:
        token = sink.read_text(encoding="utf-8").strip()
    except OSError:
        return False
    if not token:
        return False
    with upstream.client(token) as http:
        answer = http.post(
            "/contacts/search", json={"locationId": loc.id, "pageLimit": 1}
        )
    return answer.status_code == 200
