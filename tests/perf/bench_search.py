"""(e) Contact search on a location of 20,000 contacts, as the reader uses it.

Two request shapes, each timed from the client (a sync ``httpx.Client``, one request at
a time, rate limits raised out of the way: the figure is the emulator's search cost):

* a lookup: one OR group of 100 ``eq`` filters on ``email`` (mixed case, as users write
  them), page of 500 — what ``read_observed`` sends per batch of declared keys;
* a whole-location page of 500 in ``dateAdded`` order, paging through all 20,000 with
  ``searchAfter`` — the reader's other path.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.perf.support import (
    HELD,
    UNLIMITED,
    BenchmarkError,
    EmulatorSpec,
    Figure,
    RemoteEmulator,
    emulator_process,
    main_for,
    median,
    member_email,
)

TITLE = "(e) search 20,000"
LOOKUPS = 20
KEYS = 100
PAGE = 500


def _search(
    http: httpx.Client, location_id: str, body: dict[str, Any]
) -> tuple[Any, float]:
    """One ``POST /contacts/search`` of a page of 500: the answer and wall seconds."""
    started = time.perf_counter()
    response = http.post(
        "/contacts/search", json={"locationId": location_id, "pageLimit": PAGE, **body}
    )
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return response.json(), elapsed


def _lookups(http: httpx.Client, emulator: RemoteEmulator) -> list[float]:
    times = []
    for round_ in range(LOOKUPS):
        wanted = [
            member_email((n * 191 + round_ * 7) % HELD).upper() for n in range(KEYS)
        ]
        group = [{"field": "email", "operator": "eq", "value": v} for v in wanted]
        found, elapsed = _search(
            http, emulator.location_id, {"filters": [{"group": "OR", "filters": group}]}
        )
        if found["total"] != KEYS:
            raise BenchmarkError(f"a lookup of {KEYS} emails found {found['total']}")
        times.append(elapsed)
    return times


def _pages(http: httpx.Client, emulator: RemoteEmulator) -> list[float]:
    times: list[float] = []
    seen = 0
    body: dict[str, Any] = {"sort": [{"field": "dateAdded", "direction": "asc"}]}
    while True:
        page, elapsed = _search(http, emulator.location_id, body)
        times.append(elapsed)
        if not page["contacts"]:
            break
        seen += len(page["contacts"])
        body["searchAfter"] = page["contacts"][-1]["searchAfter"]
    if seen != HELD:
        raise BenchmarkError(f"paging saw {seen} contacts, not {HELD}")
    return times


def run() -> list[Figure]:
    with (
        emulator_process(EmulatorSpec(contacts=HELD, limits=UNLIMITED)) as emulator,
        emulator.client() as http,
    ):
        lookups = _lookups(http, emulator)
        pages = _pages(http, emulator)
    return [
        Figure(
            TITLE,
            "OR group of 100 email eq filters",
            median(lookups) * 1000,
            "ms/request",
            f"median of {LOOKUPS}, max {max(lookups) * 1000:.0f} ms",
        ),
        Figure(
            TITLE,
            "page of 500 by dateAdded (searchAfter)",
            median(pages) * 1000,
            "ms/request",
            f"median of {len(pages)} pages, all 20,000 in {sum(pages):.2f} s",
        ),
    ]


if __name__ == "__main__":
    main_for(run)
