"""Fan-out across machines: 4 shards of 100 locations, as a CI matrix runs them.

``hlsync emulator serve`` holds 100 locations; a third of the declared contacts exist
as declared, a third with another first name, a third not at all. Four ``hlsync plan
--shard I/4 --out`` processes run at once (the matrix's jobs); ``hlsync show`` of their
four files is one report whose totals and changes are the unsharded plan's (its text
and markdown: ``tests/unit/test_sharding.py``); each shard
then applies its own saved plan (four processes again, ``--parallel-locations 8``), and
the unsharded plan is clean.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.e2e_support import HLSYNC, hermetic_env, run_hlsync, serve

pytestmark = pytest.mark.integration

COUNT = 100
SHARDS = 4
LOCATIONS = tuple((f"loc{n:03d}", f"shardLoc{n:012d}", None) for n in range(COUNT))


def _config(folder: Path, url: str, tokens: dict[str, str]) -> Path:
    folder.mkdir()
    (folder / "tokens").mkdir()
    lines = ["version: 1", f'target: {{url: "{url}"}}', "locations:"]
    for n, (name, location_id, _) in enumerate(LOCATIONS):
        (folder / "tokens" / f"{name}.token").write_text(tokens[location_id] + "\n")
        lines += [
            f"  {name}:",
            f"    id: {location_id}",
            f"    token: {{file: tokens/{name}.token}}",
            "    contacts:",
            f"      - {{firstName: Person{n}, email: person{n}@example.com}}",
        ]
    (folder / "hlsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _seed(served: Any) -> None:
    """Contact n exists as declared when n % 3 == 0, with another name when 1."""
    with served.client() as admin:
        for n, (_, location_id, _) in enumerate(LOCATIONS):
            if n % 3 == 2:
                continue
            name = f"Person{n}" if n % 3 == 0 else f"Someone{n}"
            body = json.dumps({"firstName": name, "email": f"person{n}@example.com"})
            admin.post(
                f"/_emulator/locations/{location_id}/contacts",
                content=(body + "\n").encode(),
                headers={"Content-Type": "application/x-ndjson"},
            ).raise_for_status()


def _at_once(config: Path, *commands: list[str]) -> list[str]:
    """Run the ``hlsync`` command lines in parallel (a matrix's jobs); their stdout."""
    running = [
        subprocess.Popen(
            [str(HLSYNC), *command],
            cwd=config,
            env=hermetic_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for command in commands
    ]
    outputs = []
    for command, process in zip(commands, running, strict=True):
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, (command, out[-2000:], err)
        outputs.append(out)
    return outputs


def _changes(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["address"], c["action"]) for c in plan["changes"]]


def test_four_shard_plans_combine_into_the_unsharded_plan(tmp_path: Path) -> None:
    with serve(tmp_path, LOCATIONS) as served:
        _seed(served)
        tokens = {loc["id"]: loc["token"] for loc in served.credentials["locations"]}
        config = _config(tmp_path / "config", served.url, tokens)

        whole = run_hlsync("plan", ".", "--format", "json", cwd=config)
        assert whole.returncode == 0, whole.stderr
        unsharded = json.loads(whole.stdout)
        assert unsharded["summary"]["add"] == 33
        assert unsharded["summary"]["change"] == 33
        assert unsharded["summary"]["noop"] == 34

        files = [f"shard-{i}.json" for i in range(1, SHARDS + 1)]
        _at_once(
            config,
            *(
                ["plan", ".", "--shard", f"{i}/{SHARDS}", "--out", file]
                for i, file in enumerate(files, start=1)
            ),
        )
        shards = [json.loads((config / f).read_text()) for f in files]
        held = [sorted(loc["name"] for loc in s["locations"]) for s in shards]
        assert sorted(n for names in held for n in names) == [
            n for n, _, _ in LOCATIONS
        ]
        assert all(names for names in held), held  # 100 ids hash into every shard
        assert [s["shard"] for s in shards] == [
            {"indexes": [i], "count": SHARDS} for i in range(1, SHARDS + 1)
        ]

        combined = run_hlsync("show", *files, "--format", "json", cwd=config)
        assert combined.returncode == 0, combined.stderr
        merged = json.loads(combined.stdout)
        assert merged["summary"] == unsharded["summary"]
        assert _changes(merged) == _changes(unsharded)
        assert merged["shard"] == {"indexes": [1, 2, 3, 4], "count": SHARDS}

        _at_once(
            config,
            *(["apply", file, "--parallel-locations", "8"] for file in files),
        )
        after = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config)
        assert after.returncode == 0, after.stdout[-2000:] + after.stderr
