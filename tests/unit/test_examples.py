"""Every config under examples/ validates, and every file there belongs to one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hlsync.cli import main
from hlsync.config.loader import load_config
from tests.conftest import REPO
from tests.examples_copy import copy_example, example_files

EXAMPLES = REPO / "examples"
# every folder that holds an hlsync config (testing-your-client is a project of its own)
CONFIGS = sorted(p for p in EXAMPLES.iterdir() if (p / "hlsync.yaml").is_file())


@pytest.mark.parametrize("config", CONFIGS, ids=[p.name for p in CONFIGS])
def test_example_validates(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code = main(["validate", f"examples/{config.name}"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out.startswith(f"examples/{config.name}: valid — ")


def test_every_example_file_is_used() -> None:
    """No YAML, CSV or JSONL file in examples/ is left out of a validated config."""
    used: set[Path] = set()
    for config in CONFIGS:
        state = load_config(config)
        used |= {p.resolve() for p in config.glob("*.y*ml")}
        for location in state.locations:
            for contact in location.contacts:
                assert contact.source is not None
                used.add((REPO / contact.source.file).resolve())
    present = {
        p.resolve()
        for p in example_files(".")  # committed ones: a run leaves a journal beside
        if p.suffix in {".yaml", ".yml", ".csv", ".jsonl"}
    }
    assert present <= used


def test_quickstart_summary(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["validate", "examples/quickstart"]) == 0
    assert capsys.readouterr().out == (
        "examples/quickstart: valid — 1 location, 1 integration, 2 custom fields, "
        "2 tags, 0 custom values, 5 contacts\n"
    )


def test_agency_example_shape() -> None:
    state = load_config(EXAMPLES / "agency")
    assert [loc.name for loc in state.locations] == ["downtown", "lakeside", "uptown"]
    assert [i.name for i in state.agency.integrations] == ["franchise-reporting"]
    downtown = state.location("downtown")
    assert downtown is not None
    from_csv = [
        c for c in downtown.contacts if c.source and c.source.file.endswith(".csv")
    ]
    assert len(from_csv) == 200
    for location in state.locations:
        # every location got the template's integration and fields
        assert "member-sync" in {i.name for i in location.integrations}
        assert {"membership", "interests"} <= {f.key for f in location.custom_fields}


def test_quickstart_seeds_with_its_own_integration() -> None:
    state = load_config(EXAMPLES / "quickstart")
    main_loc = state.location("main")
    assert main_loc is not None
    assert main_loc.auth_integration == "seed-bot"
    (seed_bot,) = main_loc.integrations
    assert seed_bot.token.rotate_every == timedelta(days=90)
    assert seed_bot.token.sink is not None
    sink = Path(seed_bot.token.sink.path or "")
    # under .hlsync/ beside the config: git-ignored, never committed
    assert sink.relative_to((EXAMPLES / "quickstart").resolve()).parts[0] == ".hlsync"


def test_agency_example_policy_refuses_a_forbidden_scope(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = load_config(EXAMPLES / "agency")
    assert state.policy.forbid_scopes == ("payments/*", "saas/*")
    assert state.policy.max_rotate_every == timedelta(days=180)
    copy = copy_example("agency", tmp_path)
    locations = copy / "locations.yaml"
    text = locations.read_text(encoding="utf-8")
    line = "        scopes: [contacts.readonly]\n"
    assert text.count(line) == 1
    locations.write_text(
        text.replace(
            line, "        scopes: [contacts.readonly, payments/orders.write]\n"
        )
    )
    number = text.splitlines().index(line.rstrip("\n")) + 1
    policy = (copy / "hlsync.yaml").read_text().splitlines().index("policy:") + 1
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "agency"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f'error: agency/locations.yaml:{number}:37: scope "payments/orders.write" is '
        'forbidden by policy (forbid_scopes: "payments/*")',
        f"  hint: the policy is at agency/hlsync.yaml:{policy}:1",
    ]
