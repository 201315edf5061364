"""Containment of the paths a config names (``hlsync.config.containment``).

The hostile cases that need no symbolic link live in tests/data/invalid/
(``contained-*``, ``integration-name-*``, ``location-name-*``); here are those that do
(links do not travel well through git), ``--allow-path``, and the allowed roots in
the plan.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest

from hlsync.cli import main
from hlsync.config.containment import Containment
from hlsync.config.loader import load_config
from hlsync.core.plan import Plan
from hlsync.core.render import (
    render_plan_json,
    render_plan_markdown,
    render_plan_text,
)
from hlsync.engine.planner import build_plan
from hlsync.errors import HlsyncError
from hlsync.resources import load_schema
from tests.unit.conftest import representative

HINT = (
    "  hint: hlsync uses only files inside the config folder; move the file there, "
    "or allow another directory with --allow-path DIR"
)


VALID = (
    "cfg: valid — 1 location, 0 integrations, 0 custom fields, 0 tags, "
    "0 custom values, 1 contact"
)


def _config(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "hlsync.yaml"
    path.write_text("version: 1\nlocations:\n  main:\n    id: loc1\n" + body)
    return path


def _validate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["validate", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, (out + err).splitlines()


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outside").mkdir()
    return tmp_path


def test_a_seed_file_linked_out_of_the_folder_is_refused_unread(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "outside" / "people.csv").write_text("secret-column,email\n")
    _config(here / "cfg", "    contacts_from: [people.csv]\n")
    (here / "cfg" / "people.csv").symlink_to(here / "outside" / "people.csv")
    code, lines = _validate(capsys, "cfg")
    assert code == 1
    assert lines == [
        'error: cfg/hlsync.yaml:5:21: contacts file "people.csv" leads outside the '
        "config folder (through a symbolic link)",
        HINT,
    ]


def test_a_sink_linked_out_of_the_folder_is_refused(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(
        here / "cfg",
        "    integrations:\n      bot:\n        scopes: [contacts.readonly]\n"
        "        token: {sink: {file: tokens/bot.token}}\n",
    )
    # a folder on the way that is a link counts as much as the file itself
    (here / "cfg" / "tokens").symlink_to(here / "outside")
    code, lines = _validate(capsys, "cfg")
    assert code == 1
    assert lines == [
        'error: cfg/hlsync.yaml:8:30: token sink file "tokens/bot.token" leads '
        "outside the config folder (through a symbolic link)",
        HINT,
    ]


def test_a_link_that_stays_inside_the_folder_is_fine(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _config(here / "cfg", "    contacts_from: [people.csv]\n")
    (here / "cfg" / "seeds").mkdir()
    (here / "cfg" / "seeds" / "all.csv").write_text("email\nann@example.com\n")
    (here / "cfg" / "people.csv").symlink_to("seeds/all.csv")
    code, lines = _validate(capsys, "cfg")
    assert (code, lines[-1]) == (0, VALID)


def test_a_directory_configs_yaml_file_linked_out_is_refused_unread(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "outside" / "more.yaml").write_text("secret: [unclosed\n")
    _config(here / "cfg", "")
    (here / "cfg" / "more.yaml").symlink_to(here / "outside" / "more.yaml")
    code, lines = _validate(capsys, "cfg")
    assert code == 1
    assert lines == [
        'error: cfg/more.yaml: config file "more.yaml" leads outside the config '
        "folder (through a symbolic link)",
        HINT,
    ]


def test_allow_path_admits_another_root_and_must_exist(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "outside" / "people.csv").write_text("email\nann@example.com\n")
    _config(here / "cfg", "    contacts_from: [../outside/people.csv]\n")
    code, lines = _validate(capsys, "cfg", "--allow-path", "outside")
    assert (code, lines[-1]) == (0, VALID)
    code, lines = _validate(capsys, "cfg", "--allow-path", "elsewhere")
    assert (code, lines[0]) == (1, "error: --allow-path elsewhere: no such directory")
    # another allowed root does not admit a third place; the hint names the roots
    (here / "other").mkdir()
    code, lines = _validate(capsys, "cfg", "--allow-path", "other")
    assert code == 1
    assert lines == [
        'error: cfg/hlsync.yaml:5:21: contacts file "../outside/people.csv" is '
        "outside the config folder",
        "  hint: hlsync uses only files inside the config folder and --allow-path "
        "other; move the file, or allow its directory with --allow-path DIR",
    ]


def test_the_allowed_roots_are_not_config(here: Path) -> None:
    """Outside the digest: a plan made with --allow-path applies to the same config."""
    (here / "outside" / "people.csv").write_text("email\nann@example.com\n")
    config = _config(here / "cfg", "    contacts_from: [people.csv]\n")
    (here / "cfg" / "people.csv").write_text("email\nann@example.com\n")
    plain = load_config(config, env={})
    allowed = load_config(config, env={}, allow=[here / "outside"])
    assert allowed.allowed_roots == (str((here / "outside").resolve()),)
    assert plain.allowed_roots == ()
    assert allowed.config_digest == plain.config_digest


def test_a_refusal_names_the_path_as_written_never_its_target(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "in.csv").symlink_to(tmp_path / "secret-place" / "x.csv")
    rules = Containment.of(folder)
    refused = rules.refusal(folder, "in.csv", "contacts file")
    assert refused is not None
    assert refused[0] == (
        'contacts file "in.csv" leads outside the config folder (through a symbolic '
        "link)"
    )
    assert rules.refusal(folder, "a/../b.csv", "contacts file") is None
    refused = rules.refusal(folder, "/etc/hosts", "x")
    assert refused is not None
    assert refused[0] == 'x "/etc/hosts" is outside the config folder'
    # a path that does not resolve at all is refused too, shown escaped
    (folder / "loop.csv").symlink_to("loop.csv")
    for text, shown in (("loop.csv", '"loop.csv"'), ("a\0.csv", '"a\\0.csv"')):
        refused = rules.refusal(folder, text, "contacts file")
        assert refused == (
            f"contacts file {shown} is not a usable path",
            "write a path to a file inside the config folder",
        )
    with pytest.raises(HlsyncError, match="no such directory"):
        Containment.of(folder, [tmp_path / "missing"])


def _allowed_plan() -> Plan:
    desired, observed = representative()
    plan = build_plan(desired, observed)
    return dataclasses.replace(plan, allowed_roots=("../shared", "/srv/seeds"))


def test_the_plan_shows_its_allowed_roots_in_every_format() -> None:
    plan = _allowed_plan()
    line = (
        "Paths allowed outside the config folder (--allow-path): ../shared, /srv/seeds"
    )
    assert render_plan_text(plan).splitlines()[0] == line
    assert (
        "> Paths allowed outside the config folder (`--allow-path`): `../shared`, "
        "`/srv/seeds`"
    ) in render_plan_markdown(plan).splitlines()
    data = json.loads(render_plan_json(plan))
    assert data["allowed_roots"] == ["../shared", "/srv/seeds"]
    jsonschema.Draft202012Validator(load_schema("plan.schema.json")).validate(data)
    assert Plan.from_dict(data) == plan
    # shown even when nothing changes; absent when only the config folder is used
    quiet = dataclasses.replace(plan, changes=())
    assert render_plan_text(quiet).splitlines()[0] == line
    assert "allowed_roots" not in dataclasses.replace(plan, allowed_roots=()).to_dict()
