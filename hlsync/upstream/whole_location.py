"""The pages of a whole-location contact search after the first, as fast as upstream
answers them.

The search is sorted by ``dateAdded`` then id (:data:`WHOLE_SORT`). Page mode reaches
only the oldest 10,000 contacts (reference §5.6), so their pages are asked for all at
once. Past them, when the first page told the total, the rest goes in *steps* of up to
10,000, each step's pages asked for at once too: the contacts added at or after the
newest one read so far (a ``dateAdded`` ``range`` filter, ``gte``), in page mode from
the page where the ones already read at that very instant end (that page's first
contacts are read twice; keeping a contact twice is idempotent). The counts are exact:
of the location's ``total``, those added before the instant have all been read, so a
step knows its pages without asking.

Where a step cannot move on — 10,000 or more contacts share one ``dateAdded`` (a bulk
import) — the rest of that instant is read by ``searchAfter`` cursor within it (``lte``
the instant), and the steps go on strictly after it (``gt``). Cursor pages come one
after the other, but a page's cursor is known as soon as it is decoded: the next page
is asked for before the current one is handed on, so upstream answers while the
contacts are kept. Without a total, or when a step comes back short of what the counts
promised (contacts added or removed during the read), the rest is read by plain cursor
from the newest contact read, as a cursor walk would.

Memory: a page is handed on as it arrives and let go; of each page only its size and
last contact are kept until its step ends.

Assumption: upstream's ``range`` takes the ISO 8601 time a contact's ``dateAdded``
holds, to the millisecond (the emulator does; reference §5.6 lists ``gte``/``lte``/
``gt``/``lt`` bounds without their format).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hlsync.upstream.api import LocationApiLike
from hlsync.upstream.client import (
    PAGE_MODE_LIMIT,
    SEARCH_PAGE_MAX,
    JSONDict,
    SearchPage,
    next_cursor,
)

WHOLE_SORT = ({"field": "dateAdded", "direction": "asc"},)
LAST_PAGE = PAGE_MODE_LIMIT // SEARCH_PAGE_MAX  # the last page page mode reaches
_CHUNK = 100  # contacts handed on between two turns of the event loop

Take = Callable[[Sequence[JSONDict]], None]


def whole_body(*filters: JSONDict, **extra: Any) -> JSONDict:
    """A whole-location search request: pages of 500 in :data:`WHOLE_SORT` order."""
    body: JSONDict = {
        "pageLimit": SEARCH_PAGE_MAX,
        "sort": [dict(s) for s in WHOLE_SORT],
        **extra,
    }
    if filters:
        body["filters"] = [dict(f) for f in filters]
    return body


@dataclass(frozen=True, slots=True)
class _Page:
    """What is kept of a page once handed on: its size, its last contact (for the
    cursor and the instant), and how many of its last contacts share that instant."""

    size: int
    last: JSONDict | None
    run: int

    @classmethod
    def of(cls, page: SearchPage) -> _Page:
        contacts = page.contacts
        if not contacts:
            return cls(0, None, 0)
        instant = _added(contacts[-1])
        run = 0
        for contact in reversed(contacts):
            if _added(contact) != instant:
                break
            run += 1
        return cls(len(contacts), contacts[-1], run)


@dataclass(frozen=True, slots=True)
class _Where:
    """How far the read has come: the first ``seen`` contacts in order, the last one
    ``last``, the final ``at_instant`` of them added at its instant."""

    seen: int
    last: JSONDict
    at_instant: int

    @property
    def instant(self) -> str | None:
        return _added(self.last)


async def read_rest(api: LocationApiLike, first: SearchPage, take: Take) -> None:
    """Read every page after ``first`` (page 1 of :func:`whole_body`), handing each
    page's contacts to ``take`` as it arrives."""
    take(first.contacts)
    head = _Page.of(first)
    if head.size < SEARCH_PAGE_MAX or head.last is None:
        return
    total = first.total
    where = _Where(head.size, head.last, head.run)
    if total is None:
        await _untotalled(api, where, take)
        return
    # page mode: the oldest 10,000
    pages = [whole_body(page=p) for p in range(2, _pages_for(total) + 1)]
    moved = await _step(api, take, where, pages, start=0, expected=total)
    while isinstance(moved, _Where) and moved.seen < total:
        where = moved
        instant = where.instant
        if instant is None:  # no dateAdded to step by
            moved = where.seen
            break
        before = where.seen - where.at_instant
        skip = where.at_instant // SEARCH_PAGE_MAX
        if skip < LAST_PAGE:
            since = _date_filter("gte", instant)
            pages = [
                whole_body(since, page=p)
                for p in range(skip + 1, _pages_for(total - before) + 1)
            ]
            moved = await _step(
                api, take, where, pages, start=before, expected=total - before
            )
            continue
        # one instant holds more than page mode reaches: the rest of it by cursor
        within = _date_filter("lte", instant)
        where = await _cursor(api, where, take, total, within)
        if where.seen >= total:
            return
        after = _date_filter("gt", instant)
        pages = [
            whole_body(after, page=p)
            for p in range(1, _pages_for(total - where.seen) + 1)
        ]
        moved = await _step(
            api, take, where, pages, start=where.seen, expected=total - where.seen
        )
    if isinstance(moved, int):  # the counts did not add up: on by plain cursor
        await _cursor(api, where, take, total, None)


def _pages_for(count: int) -> int:
    """The pages page mode reads of ``count`` contacts (at most :data:`LAST_PAGE`)."""
    return min(math.ceil(max(count, 0) / SEARCH_PAGE_MAX), LAST_PAGE)


async def _step(
    api: LocationApiLike,
    take: Take,
    where: _Where,
    bodies: Sequence[JSONDict],
    *,
    start: int,
    expected: int,
) -> _Where | int:
    """Ask for ``bodies`` (consecutive pages of one filtered search, whose first
    result is contact ``start`` of the location, ``expected`` results in all) at once,
    handing each page on as it arrives. Where the read then stands; the position of
    ``where`` (an int) when a page came back short of the counts."""
    if not bodies:
        return where

    async def one(body: JSONDict) -> _Page:
        page = await api.search_contacts(body)
        take(page.contacts)
        return _Page.of(page)

    pages = await asyncio.gather(*(one(b) for b in bodies))
    first_page = int(bodies[0]["page"])
    begin = (first_page - 1) * SEARCH_PAGE_MAX  # position in the filtered order
    for index, page in enumerate(pages):
        want = min(SEARCH_PAGE_MAX, expected - begin - index * SEARCH_PAGE_MAX)
        if page.size != want or page.last is None:
            return where.seen
    newest = pages[-1].last
    assert newest is not None
    seen = start + begin + sum(p.size for p in pages)
    run = 0
    for page in reversed(pages):  # the run of the newest instant, back through pages
        if _added(page.last) != _added(newest):
            break
        run += page.run
        if page.run < page.size:
            break
    else:  # every contact of the step was added at that instant: the run goes back
        # to where the read's previous run began if that was the same instant, else
        # to the step's first page
        same = _added(newest) == where.instant
        run = seen - (where.seen - where.at_instant if same else start + begin)
    return _Where(seen, newest, run)


async def _cursor(
    api: LocationApiLike,
    where: _Where,
    take: Take,
    total: int | None,
    within: JSONDict | None,
) -> _Where:
    """Cursor pages after ``where`` (matching ``within`` when given) until one comes
    back short or ``total`` have been seen; each page is asked for before the one
    before it is handed on. Where the read then stands."""
    filters = () if within is None else (within,)
    seen, last, run = where.seen, where.last, where.at_instant
    size = SEARCH_PAGE_MAX
    held: SearchPage | None = None  # a page read but not yet handed on
    while size == SEARCH_PAGE_MAX and (total is None or seen < total):
        cursor = next_cursor(SearchPage((last,), None))
        asked = asyncio.ensure_future(
            api.search_contacts(whole_body(*filters, searchAfter=cursor))
        )
        try:
            if held is not None:
                await _take_by_chunks(take, held.contacts)
                held = None
            page = await asked
        finally:
            asked.cancel()  # only when handing on failed: the answer is not wanted
        summary = _Page.of(page)
        size = summary.size
        if summary.last is None:
            break
        held = page
        whole_run = summary.run == size and _added(summary.last) == _added(last)
        run = run + size if whole_run else summary.run
        seen += size
        last = summary.last
    if held is not None:
        take(held.contacts)
    return _Where(seen, last, run)


async def _take_by_chunks(take: Take, contacts: Sequence[JSONDict]) -> None:
    """``take(contacts)`` a chunk at a time, yielding to the event loop between."""
    for start in range(0, len(contacts), _CHUNK):
        await asyncio.sleep(0)
        take(contacts[start : start + _CHUNK])


async def _untotalled(api: LocationApiLike, where: _Where, take: Take) -> None:
    """No total: page mode one page after another while pages come back full, then
    cursor pages until one comes back short."""
    number, size, last = 1, SEARCH_PAGE_MAX, where.last
    while size == SEARCH_PAGE_MAX and number < LAST_PAGE:
        number += 1
        page = await api.search_contacts(whole_body(page=number))
        take(page.contacts)
        summary = _Page.of(page)
        size = summary.size
        if summary.last is None:
            return
        last = summary.last
    if size == SEARCH_PAGE_MAX:
        await _cursor(api, _Where(0, last, 0), take, None, None)


def _added(contact: JSONDict | None) -> str | None:
    value = None if contact is None else contact.get("dateAdded")
    return value if isinstance(value, str) and value else None


def _date_filter(operator: str, instant: str) -> JSONDict:
    return {"field": "dateAdded", "operator": "range", "value": {operator: instant}}
