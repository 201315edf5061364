"""``plan``, ``show`` and ``apply`` in-process on the sandbox: formats, saved-plan
checks, safety gates and the mistakes a user can make with them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

import hlsync.commands.progress as progress_module
from hlsync.cli import main
from tests.examples_copy import copy_example
from tests.integration.e2e_support import NO_CHANGES, options_unset

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of examples/quickstart as the working directory."""
    folder = copy_example("quickstart", tmp_path)
    monkeypatch.chdir(folder)
    return folder


def test_plan_formats_and_saved_file(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--format", "json", "--out", "p.json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["config_root"] == "."
    # the sandbox reported its limit (upstream's 100 / 10 s); the saved plan keeps it
    assert data["rate_limits"] == {"main": {"max": 100, "interval_ms": 10_000}}
    assert data == json.loads((quickstart / "p.json").read_text())
    assert "Saved the plan to: p.json" in err  # stdout stays one JSON document

    assert main(["plan", "--format", "markdown", "--detailed-exitcode"]) == 2
    assert capsys.readouterr().out.startswith("## hlsync plan\n")

    assert main(["show", "p.json", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == data
    assert main(["show", "p.json"]) == 0
    text = capsys.readouterr().out
    assert "\x1b[" not in text  # not a terminal: no colour
    assert "Plan: 10 to add, 0 to change, 0 to destroy." in text


def test_show_refuses_missing_broken_and_edited_files(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "nope.json"]) == 1
    assert "error: nope.json: no such file" in capsys.readouterr().err

    (quickstart / "broken.json").write_text('{"format_version": 1,\n  oops}\n')
    assert main(["show", "broken.json"]) == 1
    assert "broken.json:2:3: broken.json is not JSON" in capsys.readouterr().err

    assert main(["plan", "--out", "p.json"]) == 0
    capsys.readouterr()
    data = json.loads((quickstart / "p.json").read_text())
    data["changes"][0]["desired"]["scopes"].append("contacts.write")
    (quickstart / "p.json").write_text(json.dumps(data))
    assert main(["show", "p.json"]) == 1
    assert "modified after it was made (checksum mismatch)" in capsys.readouterr().err
    assert main(["apply", "p.json"]) == 1
    assert "checksum mismatch" in capsys.readouterr().err


def test_apply_plan_file_finds_its_config_or_takes_config(
    quickstart: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["plan", "--out", "p.json"]) == 0
    capsys.readouterr()
    assert main(["apply", "p.json", "--location", "main"]) == 1
    assert "cannot narrow a saved plan" in capsys.readouterr().err

    elsewhere = quickstart.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # recorded as "." : here that is a folder without the config
    assert main(["apply", "../quickstart/p.json"]) == 1
    err = capsys.readouterr().err
    assert "the plan was made from the config at '.'" in err
    assert "pass --config PATH" in err

    code = main(["apply", "../quickstart/p.json", "--config", "../quickstart"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Apply: 10 ok, 0 failed, 0 skipped" in out
    assert (quickstart / ".hlsync" / "tokens" / "main.seed-bot.token").exists()


def test_gates_hold_deletes_until_force(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = quickstart / "hlsync.yaml"
    text = config.read_text()
    config.write_text(
        text.replace("tags: [vip, newsletter]", "tags: [vip, newsletter, old]", 1)
    )
    assert main(["apply", "--auto-approve"]) == 0
    config.write_text(
        text.replace(
            "tags: [vip, newsletter]",
            "tags: [vip, newsletter, {name: old, ensure: absent}]",
            1,
        )
    )
    capsys.readouterr()
    assert main(["apply", "--auto-approve"]) == 1
    out, err = capsys.readouterr()
    assert '- main.tag["old"]' in out  # the plan is shown, then refused
    assert 'main.tag["old"] deleting is irreversible' in err
    assert "--force" in err

    assert main(["plan", "--out", "p.json"]) == 0
    capsys.readouterr()
    assert main(["apply", "p.json"]) == 1
    assert "deleting is irreversible" in capsys.readouterr().err
    assert main(["apply", "p.json", "--force", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## hlsync apply\n")
    assert "**Apply: 1 ok, 0 failed, 0 skipped" in out
    assert main(["plan", "--detailed-exitcode"]) == 0


def test_apply_with_nothing_to_do_says_so(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--auto-approve"]) == 0
    capsys.readouterr()
    assert main(["apply", "--auto-approve"]) == 0
    # nothing to do, but the options the API could not write are not hidden
    membership = 'main.custom_field["membership"]'
    assert capsys.readouterr().out == (
        options_unset(membership, ["bronze", "silver", "gold"]) + "\n\n" + NO_CHANGES
    )
    assert main(["apply", "--auto-approve", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["summary"] == {
        "ok": 0,
        "failed": 0,
        "skipped": 0,
        "api_calls": 0,
    }
    assert "No changes." in err


def test_a_number_upstream_stores_plans_with_a_warning_and_applies(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = quickstart / "hlsync.yaml"
    text = config.read_text()
    dana = "        country: GB\n"
    assert text.count(dana) == 1
    seed = '      - firstName: Seed\n        phone: "+1234567890"\n'
    config.write_text(text.replace(dana, dana + seed))
    line = text[: text.index(dana) + len(dana)].count("\n") + 2
    warning = (
        f'hlsync.yaml:{line}:16: warning: phone "+1234567890" is not a valid '
        "number; kept as +1234567890"
    )

    assert main(["plan"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines()[0] == warning
    assert 'main.contact["+1234567890"]' in out

    assert main(["apply", "--auto-approve"]) == 0
    out, _ = capsys.readouterr()
    assert "Apply: 11 ok, 0 failed, 0 skipped" in out
    # the sandbox stored it as written, so the next plan finds it by its phone
    assert main(["plan", "--detailed-exitcode"]) == 0
    out, err = capsys.readouterr()
    assert warning in err
    assert 'contact["+1234567890"]' not in out


def test_progress_goes_to_stderr_and_leaves_the_report_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a quick apply: let plain lines start at once (else its first 10 s are quiet)
    monkeypatch.setattr(progress_module, "PLAIN_QUIET", 0.0)
    reports = {}
    for mode in ("plain", "never"):
        monkeypatch.chdir(copy_example("quickstart", tmp_path / mode))
        assert main(["apply", "--auto-approve", "--progress", mode]) == 0
        out, err = capsys.readouterr()
        out = re.sub(r"in [0-9.]+ ?s", "in <elapsed>", out)
        reports[mode] = re.sub(r"\b[0-9a-f]{24}\b", "<id>", out)  # minted ids
        if mode == "plain":
            # off a terminal: plain lines, each location's 100 % and a closing line
            assert "\x1b[" not in err
            assert re.search(
                r"^\[0:\d\d\] main: 10/10 changes \(100%\), done at ", err, re.M
            )
            assert re.search(
                r"^\[0:\d\d\] applied: 10/10 changes, 0 failed, ", err, re.M
            )
        else:
            assert "changes" not in err
    assert reports["plain"] == reports["never"]  # stdout is the same in every mode
