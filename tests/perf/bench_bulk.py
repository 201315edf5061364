"""(g) The admin bulk load: 100,000 contacts into one location of a served emulator.

``hlsync emulator serve`` runs in a child process; the client streams JSON lines
(``Emulator.load_contacts``: name, email, two tags, and a phone on every other contact,
which the emulator parses as a create does) and the clock runs from the first byte sent
to the answer. A search then checks that every contact is there. The promise: under 10 s
on 2 cores. On a shared machine the wall time also counts other processes' turns, so the
CPU seconds of the emulator process and of the client are printed too: on two idle
cores the load takes about the larger of the two.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from tests.perf.support import (
    UNLIMITED,
    BenchmarkError,
    EmulatorSpec,
    Figure,
    emulator_process,
    main_for,
    member_email,
)

TITLE = "(g) bulk load"
COUNT = 100_000


def _contacts() -> Iterator[dict[str, Any]]:
    for n in range(COUNT):
        contact: dict[str, Any] = {
            "firstName": f"Member{n}",
            "lastName": "Bulk",
            "email": member_email(n),
            "tags": ["bulk", f"cohort-{n % 10}"],
        }
        if n % 2:
            contact["phone"] = f"+1 202 {n // 10_000:03d} {n % 10_000:04d}"
        yield contact


def run() -> list[Figure]:
    with emulator_process(EmulatorSpec(limits=UNLIMITED)) as emulator:
        server_before, client_before = emulator.cpu_seconds(), time.process_time()
        started = time.perf_counter()
        ids = emulator.emulator.load_contacts(_contacts())
        elapsed = time.perf_counter() - started
        client = time.process_time() - client_before
        server_after = emulator.cpu_seconds()
        with emulator.client() as http:
            total = http.post(
                "/contacts/search",
                json={"locationId": emulator.location_id, "pageLimit": 1},
            ).json()["total"]
    if len(ids) != COUNT or total != COUNT:
        raise BenchmarkError(f"loaded {len(ids)}, search finds {total}, not {COUNT}")
    figures = [
        Figure(
            TITLE,
            "100,000 contacts, JSON lines over HTTP",
            elapsed,
            "s",
            "half with a phone; target < 10 s on 2 cores",
        ),
        Figure(TITLE, "contacts per second", COUNT / elapsed, "contacts/s"),
        Figure(TITLE, "client CPU (encoding and sending)", client, "s"),
    ]
    if server_before is not None and server_after is not None:
        figures.append(
            Figure(
                TITLE,
                "emulator CPU (checking and storing)",
                server_after - server_before,
                "s",
                "the emulator process, from /proc",
            )
        )
    return figures


if __name__ == "__main__":
    main_for(run)
