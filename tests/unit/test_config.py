"""load_config: the model it builds from YAML (targets, tokens, templates, scopes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hlsync.config.loader import load_config
from hlsync.core.model import LEADCONNECTOR_URL, Target, TokenRef
from hlsync.errors import HlsyncError, Location


def _config(tmp_path: Path, text: str, name: str = "hlsync.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(HlsyncError) as info:
        load_config(path, env=env or {})
    return [f"{p.location}: {p.message}" for p in info.value.problems]


MINIMAL = "version: 1\nlocations:\n  main:\n    id: loc1\n"


def test_defaults(tmp_path: Path) -> None:
    state = load_config(_config(tmp_path, MINIMAL), env={})
    db = tmp_path.resolve() / ".hlsync" / "sandbox.sqlite3"
    assert state.target == Target("sandbox", sandbox_db=str(db))
    assert state.root == str((tmp_path / "hlsync.yaml").resolve())
    (main,) = state.locations
    assert (main.name, main.id, main.token, main.default_region) == (
        "main",
        "loc1",
        None,
        None,
    )
    assert state.agency.integrations == ()
    assert len(state.config_digest) == 64


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("leadconnector", Target("leadconnector", LEADCONNECTOR_URL)),
        ('{url: "http://127.0.0.1:8080/"}', Target("url", "http://127.0.0.1:8080")),
    ],
)
def test_targets(tmp_path: Path, target: str, expected: Target) -> None:
    state = load_config(_config(tmp_path, f"version: 1\ntarget: {target}\n"), env={})
    assert state.target == expected


def test_sandbox_db_relative_to_the_config(tmp_path: Path) -> None:
    text = "version: 1\ntarget: {sandbox: {db: state/x.sqlite3}}\n"
    state = load_config(_config(tmp_path, text), env={})
    assert state.target.sandbox_db == str(tmp_path.resolve() / "state" / "x.sqlite3")


def test_token_references(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    text = (
        "version: 1\nagency:\n  token: {env: HL_AGENCY}\nlocations:\n"
        "  main:\n    id: loc1\n    token: {file: secrets/main.token}\n"
    )
    state = load_config(_config(tmp_path / "conf", text), env={})
    assert state.agency.token == TokenRef(env="HL_AGENCY")
    assert state.locations[0].token == TokenRef(
        file=str(tmp_path.resolve() / "conf" / "secrets" / "main.token")
    )


def test_scope_sets_expand_sorted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = """\
version: 1
scope_sets:
  read: {scopes: [locations/tags.readonly, contacts.readonly]}
  write: {include: [read], scopes: [contacts.write]}
agency:
  integrations:
    report: {description: Reports, scopes: [users.readonly, locations.readonly]}
locations:
  main:
    id: loc1
    integrations:
      bot: {scope_sets: [write], scopes: [contacts.readonly], protect: true}
"""
    state = load_config(_config(tmp_path, text), env={})
    (bot,) = state.locations[0].integrations
    assert bot.scopes == (
        "contacts.readonly",
        "contacts.write",
        "locations/tags.readonly",
    )
    assert bot.protect
    assert bot.source == Location("hlsync.yaml", 12, 7)
    (report,) = state.agency.integrations
    assert (report.description, report.scopes) == (
        "Reports",
        ("locations.readonly", "users.readonly"),
    )


def test_templates_deep_merge_location_wins(tmp_path: Path) -> None:
    text = """\
version: 1
default_region: US
templates:
  base:
    default_region: GB
    integrations:
      bot: {description: from base, scopes: [contacts.readonly]}
    custom_fields:
      level: {name: Level, type: SINGLE_OPTIONS, options: [a, b]}
    tags: [member]
    defaults: {source: base, country: US}
  shop:
    extends: base
    tags: [{name: old, ensure: absent}]
    defaults: {source: shop}
locations:
  main:
    id: loc1
    extends: [shop]
    integrations:
      bot: {scopes: [contacts.write]}
    tags: [vip]
    contacts:
      - {phone: "020 7946 0958", custom_fields: {level: b}}
"""
    state = load_config(_config(tmp_path, text), env={})
    (main,) = state.locations
    assert main.default_region == "GB"
    (bot,) = main.integrations
    assert (bot.description, bot.scopes) == ("from base", ("contacts.write",))
    assert [(t.name, t.ensure) for t in main.tags] == [
        ("member", "present"),
        ("old", "absent"),
        ("vip", "present"),
    ]
    (contact,) = main.contacts
    assert contact.key == "phone:+442079460958"
    assert contact.fields == {
        "phone": "+442079460958",
        "source": "shop",
        "country": "US",
    }
    assert contact.custom_fields == {"level": "b"}
    # positions follow the value to where it was written
    assert contact.source is not None and contact.source.line == 24
    tag_sources = {t.name: t.source.line for t in main.tags if t.source}
    assert tag_sources == {"member": 10, "old": 14, "vip": 22}


def test_env_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "version: 1\nlocations:\n  main:\n    id: ${LOC_ID}\n"
        "    defaults: {source: '${SRC:-seed}', city: '$${literal}'}\n"
        "    contacts: [{email: a@example.com}]\n"
    )
    state = load_config(_config(tmp_path, text), env={"LOC_ID": "abc"})
    (main,) = state.locations
    assert main.id == "abc"
    assert main.contacts[0].fields["source"] == "seed"
    assert main.contacts[0].fields["city"] == "${literal}"
    monkeypatch.chdir(tmp_path)
    assert _problems(tmp_path / "hlsync.yaml") == [
        "hlsync.yaml:4:9: environment variable LOC_ID is not set"
    ]


def test_directory_merge_and_digest_stability(tmp_path: Path) -> None:
    first = tmp_path / "one"
    first.mkdir()
    _config(
        first, "version: 1\nscope_sets: {r: {scopes: [contacts.readonly]}}\n", "a.yaml"
    )
    _config(first, "version: 1\nlocations:\n  main:\n    id: loc1\n", "b.yml")
    _config(first, "not: [valid", ".hidden.yaml")
    second = tmp_path / "two"
    shutil.copytree(first, second)
    one, two = load_config(first, env={}), load_config(second, env={})
    assert one.config_digest == two.config_digest
    assert [loc.name for loc in one.locations] == ["main"]
    (second / "b.yml").write_text("version: 1\nlocations:\n  main:\n    id: loc2\n")
    assert load_config(second, env={}).config_digest != one.config_digest


def test_token_values_never_appear(tmp_path: Path) -> None:
    token = "pit-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    text = (
        f"version: 1\nlocations:\n  main:\n    id: {token}\n"
        f"    integrations:\n      {token}: {{scopes: [{token}]}}\n"
        f"    defaults: {{source: '${{LEAK}}'}}\n"
        "    contacts: [{email: a@example.com}]\n"
    )
    path = _config(tmp_path, text)
    with pytest.raises(HlsyncError) as info:
        load_config(path, env={"LEAK": token})
    rendered = str(info.value) + repr(info.value.problems)
    assert token not in rendered
    tokens = [
        p for p in info.value.problems if "looks like a HighLevel token" in p.message
    ]
    assert len(tokens) == 4


def test_an_option_field_may_leave_its_options_to_the_highlevel_ui(
    tmp_path: Path,
) -> None:
    """HighLevel's API writes no picklist options, so a field created through it has
    none: a config (an export) declares it without, and its values go unchecked."""
    text = """\
version: 1
locations:
  main:
    id: loc1
    custom_fields:
      level: {name: Level, type: SINGLE_OPTIONS}
      hobbies: {name: Hobbies, type: MULTIPLE_OPTIONS}
    contacts:
      - email: ann@example.com
        custom_fields: {level: platinum, hobbies: [chess, go]}
"""
    state = load_config(_config(tmp_path, text), env={})
    (main,) = state.locations
    assert [f.options for f in main.custom_fields] == [(), ()]
    assert main.contacts[0].custom_fields == {
        "hobbies": ["chess", "go"],
        "level": "platinum",
    }


def test_manage_by_kind_from_a_template_and_the_location(tmp_path: Path) -> None:
    text = """\
version: 1
templates:
  base:
    manage: {integrations: exclusive, tags: exclusive}
locations:
  main:
    id: loc1
    extends: base
    manage:
      tags: additive
      contacts: exclusive
      delete_unlisted_contacts: true
"""
    (main,) = load_config(_config(tmp_path, text), env={}).locations
    assert main.manage == {
        "integration": "exclusive",
        "tag": "additive",
        "contact": "exclusive",
    }
    assert main.exclusive("contact") and not main.exclusive("tag")
