"""``--shard I/N`` (the partition) and ``hlsync show FILE...`` (combining shard plans),
``--parallel-locations N`` (``LocationSlots``, the applier's bound)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hlsync.cli import build_parser, main
from hlsync.core.fingerprint import sha256_hex
from hlsync.core.plan import Plan, PlanShard
from hlsync.core.render import (
    render_plan_json,
    render_plan_markdown,
    render_plan_text,
)
from hlsync.core.result import ApplyResult
from hlsync.engine.applier import apply_plan
from hlsync.engine.location_slots import LocationSlots
from hlsync.engine.planner import build_plan
from hlsync.engine.sharding import merge_plans, select_shard, shard_of
from hlsync.errors import HlsyncError
from hlsync.resources import load_schema
from tests.unit.conftest import representative
from tests.unit.fakes import FakeApi
from tests.unit.test_applier import access, change
from tests.unit.test_applier import plan as one_location_plan


def test_a_location_s_shard_is_the_documented_hash_of_its_id() -> None:
    for location_id in ("ve9EPM428h8vShlRW1KT", "LOC-main-0001", "x"):
        digest = hashlib.sha256(location_id.encode()).digest()
        for count in (1, 2, 4, 7):
            expected = int.from_bytes(digest[:8], "big") % count + 1
            assert shard_of(location_id, count) == expected


def test_adding_locations_moves_none_of_the_others() -> None:
    ids = [f"loc{n:04d}" for n in range(200)]
    before = {i: shard_of(i, 4) for i in ids[:150]}
    after = {i: shard_of(i, 4) for i in ids}
    assert {i: after[i] for i in before} == before
    sizes = [sum(1 for s in after.values() if s == k) for k in (1, 2, 3, 4)]
    assert sum(sizes) == 200 and min(sizes) > 30, sizes  # about even


def _shard_plans(count: int) -> list[tuple[str, Plan]]:
    desired, observed = representative()
    plans = []
    for index in range(1, count + 1):
        part = select_shard(desired, index, count)
        plan = build_plan(part, observed)
        shard = PlanShard((index,), count)
        plans.append((f"shard-{index}.json", dataclasses.replace(plan, shard=shard)))
    return plans


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shard_plans_combine_into_the_whole_plan(count: int) -> None:
    desired, observed = representative()
    whole = build_plan(desired, observed)
    plans = _shard_plans(count)
    names = [loc.name for _, p in plans for loc in p.locations]
    assert sorted(names) == sorted(s.name for s in desired.locations)
    agency = [name for name, p in plans if any(c.location is None for c in p.changes)]
    assert agency == ["shard-1.json"]  # the agency's integrations: shard 1 only
    merged = merge_plans(plans)
    assert merged.summary == whole.summary
    assert merged.changes == whole.changes  # the same order as one plan's
    assert merged.warnings == whole.warnings
    assert sorted(merged.unmanaged, key=repr) == sorted(whole.unmanaged, key=repr)
    assert merged.shard == PlanShard(tuple(range(1, count + 1)), count)


def test_an_empty_shard_plans_nothing() -> None:
    desired, observed = representative()
    ids = [s.id for s in desired.locations]
    count = 9  # more shards than locations: some are empty
    empty = next(
        i for i in range(2, count + 1) if all(shard_of(x, count) != i for x in ids)
    )
    part = select_shard(desired, empty, count)
    assert part.locations == () and part.agency.integrations == ()
    assert not build_plan(part, observed).changes


def test_the_combined_plan_is_rendered_with_its_shards() -> None:
    plans = _shard_plans(3)
    merged = merge_plans(plans)
    assert render_plan_text(merged).startswith("Shards 1, 2, 3 of 3, combined.\n")
    assert "\nShards 1, 2, 3 of 3, combined.\n" in render_plan_markdown(merged)
    data = json.loads(render_plan_json(merged))
    assert data["shard"] == {"indexes": [1, 2, 3], "count": 3}
    jsonschema.Draft202012Validator(load_schema("plan.schema.json")).validate(data)
    assert Plan.from_dict(data) == merged
    single = render_plan_text(plans[1][1])
    assert single.startswith("Shard 2 of 3 (--shard 2/3).\n")
    lacking = render_plan_text(merge_plans([plans[0], plans[2]]))
    assert lacking.startswith(
        "Shards 1, 3 of 3, combined. Missing shard 2: its locations are not in this "
        "plan.\n"
    )


def test_one_plan_is_shown_as_it_is() -> None:
    desired, observed = representative()
    whole = build_plan(desired, observed)
    assert merge_plans([("p.json", whole)]) is whole
    assert "Shard" not in render_plan_text(whole)
    assert "shard" not in whole.to_dict()


def _with(plan: Plan, **changes: Any) -> Plan:
    return dataclasses.replace(plan, **changes)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"config_digest": "f" * 64},
            "shard-2.json was made for another configuration than shard-1.json",
        ),
        (
            {"target": "http://127.0.0.1:9"},
            "shard-2.json was made for another target than shard-1.json",
        ),
        (
            {"hlsync_version": "0.0.1"},
            "shard-2.json was made for another hlsync version than shard-1.json",
        ),
        ({"shard": None}, "shard-2.json is not a shard's plan (made without --shard)"),
        (
            {"shard": PlanShard((2,), 3)},
            "shard-2.json is a shard of 3 but shard-1.json of 2",
        ),
    ],
)
def test_plans_that_do_not_belong_together_are_refused(
    edit: dict[str, Any], message: str
) -> None:
    first, second = _shard_plans(2)
    with pytest.raises(HlsyncError) as caught:
        merge_plans([first, (second[0], _with(second[1], **edit))])
    assert message in caught.value.message
    assert "cannot be combined" in caught.value.message


def test_the_same_plan_twice_is_refused() -> None:
    plans = _shard_plans(1)
    with pytest.raises(HlsyncError, match="both hold .*: the plans overlap"):
        merge_plans([plans[0], ("again.json", plans[0][1])])
    empty = _with(plans[0][1], locations=(), changes=(), shard=PlanShard((2,), 2))
    with pytest.raises(HlsyncError, match="both hold shard 2 of 2"):
        merge_plans([("a.json", empty), ("b.json", empty)])


def test_show_combines_files_and_refuses_a_bad_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, plan in _shard_plans(2):
        Path(name).write_text(render_plan_json(plan), encoding="utf-8")
    assert main(["show", "shard-1.json", "shard-2.json", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    desired, observed = representative()
    assert shown["summary"] == build_plan(desired, observed).summary.to_dict()
    Path("shard-2.json").write_text("{", encoding="utf-8")
    assert main(["show", "shard-1.json", "shard-2.json"]) == 1
    err = capsys.readouterr().err
    assert "shard-2.json:1:2" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("shard", "message"),
    [
        ({"indexes": [3], "count": 2}, "shard indexes must be 1 to count (2)"),
        ({"indexes": [2, 1], "count": 2}, "shard indexes must be sorted and unique"),
        ({"indexes": ["1"], "count": 2}, "shard.indexes[0]: expected an integer"),
    ],
)
def test_a_bad_shard_in_a_plan_file_is_refused(
    shard: dict[str, Any], message: str
) -> None:
    data = _shard_plans(2)[1][1].to_dict()
    data["shard"] = shard
    body = {k: v for k, v in data.items() if k != "checksum"}
    data["checksum"] = "sha256:" + sha256_hex(body)
    with pytest.raises(HlsyncError) as caught:
        Plan.from_dict(data, source="p.json")
    assert message in caught.value.message


@pytest.mark.parametrize("command", [["plan"], ["apply"]])
def test_shard_flags_parse(command: list[str]) -> None:
    args = build_parser().parse_args([*command, "--shard", "2/4"])
    assert args.shard == (2, 4) and args.parallel_locations is None
    args = build_parser().parse_args([*command, "--parallel-locations", "3"])
    assert args.shard is None and args.parallel_locations == 3


@pytest.mark.parametrize("value", ["0/4", "5/4", "1/0", "2", "a/b", "-1/2", "1/2/3"])
def test_a_bad_shard_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", f"--shard={value}"]) == 1
    err = capsys.readouterr().err
    assert "argument --shard: must be I/N with 1 <= I <= N" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["0", "-2", "many", "1.5"])
def test_a_bad_parallel_locations_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--parallel-locations", value]) == 1
    assert "argument --parallel-locations: must be a whole number from 1" in (
        capsys.readouterr().err
    )


def test_a_saved_plan_takes_no_shard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("p.json").write_text(render_plan_json(_shard_plans(2)[0][1]))
    assert main(["apply", "p.json", "--shard", "1/2"]) == 1
    assert "--shard cannot narrow a saved plan" in capsys.readouterr().err


def test_location_slots_bound_the_busy_locations() -> None:
    async def go() -> tuple[int, int]:
        slots = LocationSlots(2)
        peak = 0
        release = asyncio.Event()

        async def work(location: str) -> None:
            nonlocal peak
            async with slots.hold(location):
                peak = max(peak, slots.busy)
                await release.wait()

        tasks = [
            asyncio.create_task(work(f"loc{n % 5}")) for n in range(20)
        ]  # four pieces of work in each of five locations
        for _ in range(10):
            await asyncio.sleep(0)
        busy = slots.busy
        release.set()
        await asyncio.gather(*tasks)
        return busy, peak

    busy, peak = asyncio.run(go())
    assert busy == 2 and peak == 2


def test_apply_runs_at_most_n_locations_at_once() -> None:
    apis = [FakeApi(f"l{n}") for n in range(5)]
    busy: set[str] = set()
    peak = 0

    def tracked(api: FakeApi) -> None:
        inner = api._call

        async def call(method: str, arg: Any) -> None:
            nonlocal peak
            busy.add(api.name)
            peak = max(peak, len(busy))
            try:
                await inner(method, arg)
                for _ in range(3):
                    await asyncio.sleep(0)
            finally:
                if api.running == 0:
                    busy.discard(api.name)

        api._call = call  # type: ignore[method-assign]

    for api in apis:
        tracked(api)
    changes = [change(f"{a.name}c{i}", location=a.name) for a in apis for i in range(4)]
    the_plan = one_location_plan(*changes)
    result: ApplyResult = asyncio.run(
        apply_plan(the_plan, access(*apis), parallel_locations=2)
    )
    assert result.count("ok") == 20
    assert peak == 2
    unbounded = [FakeApi(f"l{n}") for n in range(5)]
    for api in unbounded:
        tracked(api)
    busy.clear()
    peak = 0
    asyncio.run(apply_plan(the_plan, access(*unbounded)))
    assert peak == 5
