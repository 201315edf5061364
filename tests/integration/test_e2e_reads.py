"""Read cost at scale: 2,000 declared contacts in a location holding 20,000.

The emulator runs in a thread of the test process (so the 20,000 contacts are seeded
straight into its store); ``hlsync plan`` runs as the installed script against its URL,
and the emulator's request log counts what it read.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from hlsync.upstream.client import SEARCH_PAGE_MAX
from hlsync.upstream.contact_search import BATCH_SIZE
from tests.emulator_fixtures import LOCATION_A, LiveEmulator
from tests.integration.e2e_support import run_hlsync

pytestmark = pytest.mark.integration

HELD = 20_000
DECLARED = 2_000


def _config(folder: Path, url: str) -> Path:
    folder.mkdir()
    (folder / "hlsync.yaml").write_text(
        "version: 1\n"
        f'target: {{url: "{url}"}}\n'
        "locations:\n"
        "  big:\n"
        f"    id: {LOCATION_A}\n"
        "    token: {env: BIG_TOKEN}\n"
        "    contacts_from: members.csv\n",
        encoding="utf-8",
    )
    with (folder / "members.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["firstName", "email"])
        for n in range(0, HELD, HELD // DECLARED):
            out.writerow([f"Member{n}", f"member{n:05d}@example.com"])
    return folder


def test_plan_reads_2000_of_20000_contacts_in_few_requests(
    emulator: LiveEmulator, tmp_path: Path
) -> None:
    state = emulator.state
    with state.lock:
        for n in range(HELD):
            state.store.create_contact(
                LOCATION_A,
                {"firstName": f"Member{n}", "email": f"member{n:05d}@example.com"},
            )
        state.requests.clear()
    config = _config(tmp_path / "big", emulator.base_url)

    done = run_hlsync(
        "plan",
        ".",
        "--detailed-exitcode",
        cwd=config,
        env={"BIG_TOKEN": emulator.token(LOCATION_A)},
    )
    # Every declared contact was found: nothing to create, nothing to change.
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert done.stdout == (
        "No changes. The account matches the configuration.\n\n"
        "Not managed by this config (hlsync leaves them alone; "
        "`manage: {<kind>: exclusive}` would delete them):\n"
        f"  big: {HELD - DECLARED} contacts\n"  # counted from the probe's total
    )

    with state.lock:
        reads = [e for e in state.requests.entries() if e.location_id == LOCATION_A]
    batched = math.ceil(DECLARED / BATCH_SIZE)  # 20 lookups of 100 keys
    whole = math.ceil(HELD / SEARCH_PAGE_MAX)  # 40 pages of 500
    assert reads, "the plan read nothing"
    assert all(e.method == "GET" or e.route == "POST /contacts/search" for e in reads)
    assert len(reads) <= min(whole, batched) + 3  # and the field, tag, value lists
