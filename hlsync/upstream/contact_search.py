"""How the contacts a plan needs are read, with the fewest API calls.

Contacts, the read-path rule. ``D`` declared keys, ``B = 100`` keys per lookup, so the
batched path costs ``K = ceil(D / B)`` searches (one OR group of ``eq`` filters on
``email``/``phone`` each, one page of 500). The whole-location path costs
``W = ceil(T / 500)`` pages, where ``T`` (the location's contacts) is unknown until a
search answers. The aim is ``contact reads <= min(W, K)`` without a wasted probe:

* ``D == 0``: no contact read at all.
* ``K == 1``: one batched search; nothing can be cheaper than one call.
* ``K >= 2``: the first call is page 1 of the whole-location search (sorted by
  ``dateAdded`` then id). Its ``total`` gives ``W``. If ``W <= K`` the probe was page 1
  of the cheaper path: read pages 2…W (``hlsync.upstream.whole_location``: page mode
  up to 10,000, then steps of 10,000 by ``dateAdded``, each step's pages at once).
  Otherwise the keys not already found on page 1 are looked up in ``K - 1`` batched
  searches: batches grow from ``B`` to at most ``ceil(D / (K - 1))`` keys (at most
  ``2 B``, ``1.06 B`` for 2,000 keys), which is how the probe pays for itself.
  Total: ``min(W, K)`` in both cases.

Assumptions: upstream documents no limit on filters per group (reference §5.6 lists
none), so 100 to 200 ``eq`` filters in one OR group are assumed to be accepted; a filter
value is limited to 75 characters, so a key longer than that cannot be looked up and
forces the whole-location path. A batch whose matches exceed one page (heavy duplicates)
costs extra pages. Where several contacts match one key, the earliest added (then lowest
id) is the observed one, as a whole-location scan in ``dateAdded`` order would meet it
first.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from hlsync.core.model import ObservedContact
from hlsync.upstream.api import LocationApiLike
from hlsync.upstream.client import SEARCH_PAGE_MAX, JSONDict
from hlsync.upstream.pacing import DEFAULT_MAX_IN_FLIGHT
from hlsync.upstream.whole_location import WHOLE_SORT, read_rest, whole_body

BATCH_SIZE = 100  # declared keys per batched lookup (the read-path rule's B)
FILTER_VALUE_MAX = 75
# Lookups of one read started at once: the pacer's cap, so that the pacer's own
# concurrency (allowed rate x latency, Little's law) sets how many are in flight, as
# for writes; a fixed 20 held a location at 20 / latency (100/s at 200 ms, below a
# raised limit). Bounded all the same: the pacer waits on 64, not on the 1,000
# lookups of 100,000 keys all at once.
IN_FLIGHT = DEFAULT_MAX_IN_FLIGHT
# Contact keys that are not compared as plain fields: they have their own slots, or
# (``dateAdded``, which a config cannot declare) only order duplicates while reading.
_NOT_FIELDS = frozenset({"id", "tags", "customFields", "searchAfter", "dateAdded"})
_NO_VALUES: Mapping[str, Any] = MappingProxyType({})  # shared by contacts without any
# What a kept contact always holds besides the fields asked for: its id, keys, the
# order of duplicates, tags and custom field values.
_KEPT = frozenset({"id", "email", "phone", "dateAdded", "tags", "customFields"})


def observed_contact(
    key: str, data: Mapping[str, Any], field_keys: Mapping[str, str]
) -> ObservedContact:
    """A search result as the model holds it: custom field values by field key."""
    values: dict[str, Any] = {}
    for item in data.get("customFields") or ():
        if isinstance(item, dict) and item.get("id") in field_keys:
            values[field_keys[item["id"]]] = item.get("value")
    return ObservedContact(
        id=str(data["id"]),
        key=key,
        fields={k: v for k, v in data.items() if k not in _NOT_FIELDS},
        tags=tuple(str(t) for t in data.get("tags") or ()),
        custom_fields=values or _NO_VALUES,
    )


def _lookup_filter(key: str) -> JSONDict:
    kind, _, value = key.partition(":")
    return {
        "field": "email" if kind == "email" else "phone",
        "operator": "eq",
        "value": value,
    }


def _keys_of(contact: Mapping[str, Any]) -> list[str]:
    keys = []
    email = contact.get("email")
    if isinstance(email, str) and email.strip():
        keys.append("email:" + email.strip().casefold())
    phone = contact.get("phone")
    if isinstance(phone, str) and phone:
        keys.append("phone:" + phone)
    return keys


def _earliest(a: JSONDict, b: JSONDict) -> JSONDict:
    def order(c: JSONDict) -> tuple[str, str]:
        return (str(c.get("dateAdded") or ""), str(c.get("id")))

    return a if order(a) <= order(b) else b


def _collect(
    found: dict[str, JSONDict],
    contacts: Iterable[JSONDict],
    wanted: Mapping[str, str],
    keep: tuple[str, ...] | None = None,
) -> None:
    """Add the contacts of ``wanted`` keys to ``found``, each under the key object
    ``wanted`` holds (the declared contact's, not a copy per contact read); with
    ``keep``, only those top-level fields of each (and ``_KEPT``, in ``keep``'s
    order), so a page is let go once read."""
    for contact in contacts:
        if "id" not in contact:
            continue
        for key in _keys_of(contact):
            canon = wanted.get(key)
            if canon is not None:
                if keep is not None:
                    contact = {k: contact[k] for k in keep if k in contact}
                seen = found.get(canon)
                found[canon] = contact if seen is None else _earliest(seen, contact)


def _kept(fields: Collection[str] | None) -> tuple[str, ...] | None:
    return None if fields is None else tuple(sorted(_KEPT.union(fields)))


async def read_contacts(
    api: LocationApiLike,
    keys: Sequence[str],
    *,
    batch_size: int = BATCH_SIZE,
    fields: Collection[str] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> dict[str, JSONDict]:
    """The upstream contacts matching ``keys``, by key, per the read-path rule; with
    ``fields``, each holds only those top-level fields (and its id, keys, dateAdded,
    tags and custom field values), so memory follows the declared data, not the
    location's.

    ``on_total`` hears how many contacts the location holds when the rule's first
    whole-location page told it (for free: the plan counts the unmanaged ones)."""
    wanted = {key: key for key in keys}
    if not wanted:
        return {}
    keep = _kept(fields)
    batches = math.ceil(len(wanted) / batch_size)
    overlong = any(len(k.partition(":")[2]) > FILTER_VALUE_MAX for k in wanted)
    if batches == 1 and not overlong:
        return await lookup_contacts(api, sorted(wanted), batch_size, fields=fields)
    probe = await api.search_contacts(whole_body(page=1))
    if probe.total is not None and on_total is not None:
        on_total(probe.total)
    found: dict[str, JSONDict] = {}
    pages = None if probe.total is None else math.ceil(probe.total / SEARCH_PAGE_MAX)
    if overlong or pages is None or pages <= batches:
        await read_rest(
            api, probe, lambda contacts: _collect(found, contacts, wanted, keep)
        )
        return found
    _collect(found, probe.contacts, wanted, keep)
    rest = sorted(wanted.keys() - found.keys())
    if rest:
        size = math.ceil(len(rest) / (batches - 1))
        more = await lookup_contacts(api, rest, size, fields=fields)
        for key, contact in more.items():
            seen = found.get(key)
            found[key] = contact if seen is None else _earliest(seen, contact)
    return found


async def every_contact(
    api: LocationApiLike,
    *,
    filters: Sequence[Mapping[str, Any]] = (),
    limit: int | None = None,
) -> list[JSONDict]:
    """Every contact of the location (matching ``filters``), oldest first (upstream's
    ``dateAdded``, then id): the first ``limit`` of them when given. Pages of 500, one
    after the other; no request is spent past the limit."""
    found: list[JSONDict] = []
    if limit == 0:
        return found
    sort = [dict(s) for s in WHOLE_SORT]
    pages = api.iter_search(filters=filters, sort=sort)
    try:
        async for contact in pages:
            found.append(contact)
            if limit is not None and len(found) >= limit:
                break
    finally:
        close = getattr(pages, "aclose", None)
        if close is not None:
            await close()
    return found


def primary_key(contact: Mapping[str, Any]) -> str | None:
    """A contact's identity (``model.contact_key``): its email, else its phone."""
    keys = _keys_of(contact)
    return keys[0] if keys else None


async def lookup_contacts(
    api: LocationApiLike,
    keys: Sequence[str],
    batch_size: int,
    *,
    fields: Collection[str] | None = None,
) -> dict[str, JSONDict]:
    """OR-group lookups of ``batch_size`` keys each, :data:`IN_FLIGHT` at a time (each
    group's contacts kept as :func:`read_contacts` keeps them)."""
    keep = _kept(fields)
    wanted = {key: key for key in keys}
    ordered = sorted(wanted)
    groups = [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(group: Sequence[str]) -> dict[str, JSONDict]:
        filters = [{"group": "OR", "filters": [_lookup_filter(k) for k in group]}]
        mine: dict[str, JSONDict] = {}
        async with slots:
            contacts = [c async for c in api.iter_search(filters=filters)]
        _collect(mine, contacts, wanted, keep)
        return mine

    found: dict[str, JSONDict] = {}
    for mine in await asyncio.gather(*(one(g) for g in groups)):
        for key, contact in mine.items():
            seen = found.get(key)
            found[key] = contact if seen is None else _earliest(seen, contact)
    return found
