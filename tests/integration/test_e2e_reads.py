"""Read cost at scale: 2,000 declared contacts in a location holding 20,000.

``hlsync emulator serve`` holds the 20,000 contacts (put there by its bulk load, which
writes straight into the store); ``hlsync plan`` runs as the installed script against
it, and the emulator's request log counts what it read. (A served emulator, not one in
a thread of the test process: coverage tracing its searches doubled this test's time.)
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from hlsync.upstream.client import SEARCH_PAGE_MAX
from hlsync.upstream.contact_search import BATCH_SIZE
from tests.integration.e2e_support import run_hlsync, serve

pytestmark = pytest.mark.integration

HELD = 20_000
DECLARED = 2_000
BIG = ("big", "bigLocation0000000001", "BIG_TOKEN")


def _config(folder: Path, url: str) -> Path:
    folder.mkdir()
    (folder / "hlsync.yaml").write_text(
        "version: 1\n"
        f'target: {{url: "{url}"}}\n'
        "locations:\n"
        "  big:\n"
        f"    id: {BIG[1]}\n"
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


def test_plan_reads_2000_of_20000_contacts_in_few_requests(tmp_path: Path) -> None:
    with serve(tmp_path, (BIG,)) as served:
        lines = "".join(
            json.dumps(
                {"firstName": f"Member{n}", "email": f"member{n:05d}@example.com"}
            )
            + "\n"
            for n in range(HELD)
        )
        with served.client() as admin:
            admin.post(
                f"/_emulator/locations/{BIG[1]}/contacts",
                content=lines.encode(),
                headers={"Content-Type": "application/x-ndjson"},
            ).raise_for_status()
            admin.delete("/_emulator/requests").raise_for_status()
        config = _config(tmp_path / "big", served.url)

        done = run_hlsync(
            "plan",
            ".",
            "--detailed-exitcode",
            cwd=config,
            env={"BIG_TOKEN": served.token(BIG[1])},
        )
        # Every declared contact was found: nothing to create, nothing to change.
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr
        assert done.stdout == (
            "No changes. The account matches the configuration.\n\n"
            "Not managed by this config (hlsync leaves them alone; "
            "`manage: {<kind>: exclusive}` would delete them):\n"
            f"  big: {HELD - DECLARED} contacts\n"  # counted from the probe's total
        )

        with served.client() as admin:
            entries = admin.get("/_emulator/requests").json()["requests"]
    reads = [e for e in entries if e["locationId"] == BIG[1]]
    batched = math.ceil(DECLARED / BATCH_SIZE)  # 20 lookups of 100 keys
    whole = math.ceil(HELD / SEARCH_PAGE_MAX)  # 40 pages of 500
    assert reads, "the plan read nothing"
    assert all(
        e["method"] == "GET" or e["route"] == "POST /contacts/search" for e in reads
    )
    assert len(reads) <= min(whole, batched) + 3  # and the field, tag, value lists
