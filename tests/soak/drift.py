"""Changes made behind hlsync's back between the faulty rounds, as in the HighLevel UI.

Without them every round after the first would find nothing left to do, and kills would
land only on plans that change nothing. Before each round but the first, while kills
are left, one declared Private Integration is deleted (its sink keeps a dead token, and
the next apply mints again, giving the kills "right at a mint" something to wait for;
never one of two sharing a name, which would hide a duplicate from the audit)
and a few contacts of each location are deleted (the next apply creates them again).
Contact deletes go through the faulty upstream: a failed one is simply not counted.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import httpx

from tests.soak.account import SoakLocation
from tests.soak.upstream import Upstream

CONTACTS_PER_LOCATION = 5


@dataclass(frozen=True, slots=True)
class Drift:
    integrations: int
    contacts: int


def drift(
    upstream: Upstream, locations: tuple[SoakLocation, ...], rng: random.Random
) -> Drift:
    integrations = contacts = 0
    loc = rng.choice(locations)
    found = upstream.integrations(loc.id)
    names = Counter(i["name"] for i in found)
    alone = [i for i in found if names[i["name"]] == 1]  # never repair a duplicate
    if alone:
        upstream.admin("DELETE", f"/integrations/{rng.choice(alone)['id']}")
        integrations += 1
    for loc in locations:
        contacts += _delete_contacts(upstream, loc, rng)
    return Drift(integrations, contacts)


def _delete_contacts(upstream: Upstream, loc: SoakLocation, rng: random.Random) -> int:
    deleted = 0
    try:
        with upstream.client(upstream.tokens[loc.id]) as http:
            answer = http.post(
                "/contacts/search", json={"locationId": loc.id, "pageLimit": 100}
            )
            if answer.status_code != 200:
                return 0
            ids = [c["id"] for c in answer.json()["contacts"]]
            for contact_id in rng.sample(ids, min(CONTACTS_PER_LOCATION, len(ids))):
                deleted += http.delete(f"/contacts/{contact_id}").status_code == 200
    except httpx.HTTPError:  # a dropped connection: the fault, not the soak, failed
        pass
    return deleted
