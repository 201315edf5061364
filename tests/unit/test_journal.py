"""The token journal: intents, deliveries, losses and generations."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hlsync.core.model import LocationSpec
from hlsync.errors import HlsyncError
from hlsync.tokens.journal import Journal, adopt_generations, journal_path
from hlsync.tokens.rotation import TokenHistory
from tests.unit.conftest import desired_state

KEY = "main/seed-bot"


def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "hlsync.journal.jsonl")


def intent(j: Journal, verb: str = "create", generation: int = 0) -> str:
    return j.intent(
        KEY, verb, plan="sha256:" + "a" * 64, generation=generation, sink="file t"
    )


def test_an_empty_or_missing_journal_knows_nothing(tmp_path: Path) -> None:
    assert journal(tmp_path).history() == TokenHistory()


def test_a_delivered_token_records_its_generation(tmp_path: Path) -> None:
    j = journal(tmp_path)
    j.delivered(intent(j, generation=2), KEY, 2)
    history = j.history()
    assert history.generations == {KEY: 2} and history.problems == {}
    records = [json.loads(line) for line in j.path.read_text().splitlines()]
    assert [r["event"] for r in records] == ["intent", "delivered"]
    assert records[0]["sink"] == "file t" and records[0]["verb"] == "create"
    assert all(r["at"].endswith("Z") and r["v"] == 1 for r in records)


def test_a_sink_failure_and_a_crash_are_problems_with_a_recovery(
    tmp_path: Path,
) -> None:
    j = journal(tmp_path)
    j.undelivered(intent(j), KEY, "the sink command false exited with status 1")
    intent(j, "rotate")  # the process died before any answer
    (lost, unknown) = j.history().problems[KEY]
    assert "was not stored in file t (the sink command false exited" in lost
    assert "hlsync token rotate main/seed-bot --now" in lost
    assert "delivery to file t was never recorded" in unknown
    assert KEY not in j.history().generations


def test_a_later_delivery_or_a_delete_clears_problems(tmp_path: Path) -> None:
    j = journal(tmp_path)
    j.undelivered(intent(j), KEY, "broken")
    j.delivered(intent(j, "rotate_now", 1), KEY, 1)
    assert j.history() == TokenHistory(generations={KEY: 1})
    j.undelivered(intent(j), KEY, "broken")
    j.deleted(KEY)
    assert j.history() == TokenHistory()


def test_a_call_that_minted_nothing_leaves_no_problem(tmp_path: Path) -> None:
    j = journal(tmp_path)
    j.not_minted(intent(j, "rotate"), KEY)
    assert j.history().problems == {}


def test_baselines_are_adopted_once(tmp_path: Path) -> None:
    j = journal(tmp_path)
    adopt_generations(j, j.history(), {KEY: 3, "agency/ci": 0})
    assert j.history().generations == {KEY: 3, "agency/ci": 0}
    adopt_generations(j, j.history(), {KEY: 5})
    assert j.history().generations[KEY] == 3
    assert len(j.path.read_text().splitlines()) == 2


def test_a_torn_last_line_and_foreign_lines_are_skipped(tmp_path: Path) -> None:
    j = journal(tmp_path)
    j.delivered(intent(j, generation=1), KEY, 1)
    with j.path.open("a") as handle:
        handle.write('[1, 2]\n{"event": "delivered", "integ')
    assert j.history().generations == {KEY: 1}


def test_an_unreadable_journal_is_a_user_error(tmp_path: Path) -> None:
    j = journal(tmp_path)
    j.path.parent.mkdir(parents=True, exist_ok=True)
    j.path.write_bytes(b"\xff\xfe")
    with pytest.raises(HlsyncError, match="cannot read the token journal"):
        j.history()
    blocked = Journal(tmp_path / "file" / "journal.jsonl")
    (tmp_path / "file").write_text("")
    with pytest.raises(HlsyncError, match="cannot write the token journal"):
        blocked.deleted(KEY)


def test_the_journal_is_committed_beside_the_config(tmp_path: Path) -> None:
    """``hlsync.journal.jsonl`` beside the config (like the ledger), not in the
    git-ignored ``.hlsync/``: a lost journal would adopt a bumped generation."""
    config = tmp_path / "hlsync.yaml"
    config.write_text("version: 1\n")
    for root in (config, tmp_path):
        desired = desired_state(LocationSpec("main", "loc-1"))
        desired = dataclasses.replace(desired, root=str(root))
        assert journal_path(desired) == tmp_path / "hlsync.journal.jsonl"
        assert Journal.for_config(desired).path == tmp_path / "hlsync.journal.jsonl"


def test_a_journal_at_the_old_place_is_read_then_moved(tmp_path: Path) -> None:
    old = Journal(tmp_path / ".hlsync" / "journal.jsonl")
    old.delivered(intent(old, generation=2), KEY, 2)
    desired = dataclasses.replace(
        desired_state(LocationSpec("main", "loc-1")), root=str(tmp_path)
    )
    j = Journal.for_config(desired)
    assert not j.path.exists()
    assert j.history().generations == {KEY: 2}  # read where it was
    j.delivered(intent(j, generation=3), KEY, 3)
    assert not old.path.exists()  # carried over by the first record written
    events = [json.loads(line)["event"] for line in j.path.read_text().splitlines()]
    assert events == ["intent", "delivered", "intent", "delivered"]
    assert j.history().generations == {KEY: 3}
