"""load_config for issue 5: token policy, sinks, a location's seeding auth, policy.

The one-problem failure cases live in tests/data/invalid/ (test_validate_invalid.py);
here: the model those keys build, the digest that covers them, problems that come in
pairs, templates and directory configs, and ``plan`` refusing a policy violation.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hlsync.cli import main
from hlsync.config.loader import load_config
from hlsync.config.tokens import TokenRules
from hlsync.core.catalog import load_catalog
from hlsync.core.model import Policy, SinkSpec, TokenPolicy
from hlsync.errors import HlsyncError, Location


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(HlsyncError) as info:
        load_config(path, env={})
    return [f"{p.location}: {p.message}" for p in info.value.problems]


SEEDED = """\
version: 1
policy:
  forbid_scopes: ["payments/*", "saas/*"]
  max_scopes: 6
  max_rotate_every: 180d
locations:
  main:
    id: loc1
    auth: {integration: seed-bot}
    tags: [vip]
    integrations:
      seed-bot:
        scopes:
          - contacts.readonly
          - contacts.write
          - locations/tags.readonly
          - locations/tags.write
        token:
          rotate_every: 90d
          overlap: 36h
          generation: 2
          sink: {file: secrets/seed-bot.token}
      mailer:
        scopes: [contacts.readonly]
        token:
          rotate_every: 12w
          sink: {env_file: ../app.env, key: HL_MAILER_TOKEN}
      vault:
        scopes: [contacts.readonly]
        token:
          rotate_every: 30m
          sink: {command: [./bin/store-token, --name, vault]}
      lookup:
        scopes: [contacts.readonly]
        token:
          rotate_every: 1d
          sink: {command: [pass, insert, hl/lookup]}
"""


def test_token_policies_and_sinks_are_built(tmp_path: Path) -> None:
    config = _write(tmp_path / "cfg" / "hlsync.yaml", SEEDED)
    state = load_config(config, env={}, allow=[tmp_path])
    (main_loc,) = state.locations
    assert main_loc.auth_integration == "seed-bot"
    tokens = {i.name: i.token for i in main_loc.integrations}
    base = (tmp_path / "cfg").resolve()
    assert tokens["seed-bot"] == TokenPolicy(
        rotate_every=timedelta(days=90),
        overlap=timedelta(hours=36),
        generation=2,
        sink=SinkSpec("file", path=str(base / "secrets" / "seed-bot.token")),
    )
    mailer = tokens["mailer"]
    assert (mailer.rotate_every, mailer.overlap, mailer.generation) == (
        timedelta(weeks=12),
        timedelta(days=7),
        0,
    )
    assert mailer.sink == SinkSpec(
        "env_file", path=str(tmp_path.resolve() / "app.env"), key="HL_MAILER_TOKEN"
    )
    # a program written with a '/' is relative to the config file; a bare name is not
    vault = tokens["vault"].sink
    assert vault is not None
    assert vault.argv == (str(base / "bin" / "store-token"), "--name", "vault")
    lookup = tokens["lookup"].sink
    assert lookup is not None
    assert lookup.argv == ("pass", "insert", "hl/lookup")
    assert lookup.path is None
    # each sink remembers where it was written, for the engine's preflight messages
    assert lookup.source is not None
    assert (lookup.source.file, lookup.source.line) == (
        config.resolve().as_posix(),
        SEEDED.splitlines().index(
            "          sink: {command: [pass, insert, hl/lookup]}"
        )
        + 1,
    )
    assert state.policy == Policy(
        forbid_scopes=("payments/*", "saas/*"),
        max_scopes=6,
        max_rotate_every=timedelta(days=180),
    )


def test_defaults_without_token_or_policy(tmp_path: Path) -> None:
    text = (
        "version: 1\nlocations:\n  main:\n    id: loc1\n    integrations:\n"
        "      bot: {scopes: [contacts.readonly]}\n"
    )
    state = load_config(_write(tmp_path / "hlsync.yaml", text), env={})
    (bot,) = state.locations[0].integrations
    assert bot.token == TokenPolicy()
    assert bot.token.overlap == timedelta(days=7)
    assert state.locations[0].auth_integration is None
    assert state.policy == Policy()


def test_agency_integrations_take_a_token_policy(tmp_path: Path) -> None:
    text = """\
version: 1
agency:
  integrations:
    reporting:
      scopes: [locations.readonly]
      token: {rotate_every: 90d, sink: {file: reporting.token}}
"""
    state = load_config(_write(tmp_path / "hlsync.yaml", text), env={})
    (reporting,) = state.agency.integrations
    assert reporting.token.rotate_every == timedelta(days=90)
    assert reporting.token.sink is not None
    assert reporting.token.sink.path == str(tmp_path.resolve() / "reporting.token")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("generation: 2", "generation: 3"),
        ("rotate_every: 90d", "rotate_every: 60d"),
        ("overlap: 36h", "overlap: 2d"),
        ("secrets/seed-bot.token", "secrets/seed.token"),
        ("HL_MAILER_TOKEN", "HL_MAILER"),
        ("--name, vault", "--name, vault2"),
        ("max_scopes: 6", "max_scopes: 7"),
        ('"saas/*"]', '"saas/*", "oauth.*"]'),
        ("max_rotate_every: 180d", "max_rotate_every: 26w"),
        ("auth: {integration: seed-bot}", "tags: [vip]"),
    ],
)
def test_the_digest_covers_token_policy_auth_and_policy(
    tmp_path: Path, old: str, new: str
) -> None:
    before = load_config(
        _write(tmp_path / "a" / "hlsync.yaml", SEEDED), env={}, allow=[tmp_path]
    )
    assert old in SEEDED
    changed = SEEDED.replace(old, new, 1)
    if old.startswith("auth:"):  # drop auth: (the tags line is then written twice)
        changed = changed.replace(
            "    tags: [vip]\n    tags: [vip]\n", "    tags: [vip]\n"
        )
    after = load_config(
        _write(tmp_path / "b" / "hlsync.yaml", changed), env={}, allow=[tmp_path]
    )
    assert before.config_digest != after.config_digest


def test_the_digest_ignores_where_the_config_is_checked_out(tmp_path: Path) -> None:
    one = load_config(
        _write(tmp_path / "one" / "hlsync.yaml", SEEDED), env={}, allow=[tmp_path]
    )
    two = load_config(
        _write(tmp_path / "two" / "hlsync.yaml", SEEDED), env={}, allow=[tmp_path]
    )
    assert one.config_digest == two.config_digest


def test_auth_from_a_template_uses_the_template_integration(tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    _write(
        config / "templates.yaml",
        """\
templates:
  franchise:
    auth: {integration: member-sync}
    integrations:
      member-sync:
        scopes: [contacts.readonly, contacts.write]
        token:
          rotate_every: 90d
          sink: {file: shared.token}
""",
    )
    _write(
        config / "hlsync.yaml",
        """\
version: 1
locations:
  one: {id: loc1, extends: franchise}
  two: {id: loc2, extends: franchise}
""",
    )
    problems = _problems(config)
    # the template's sink is the same file for both locations
    assert problems == [
        f"{(config / 'templates.yaml').resolve()}:9:24: two/member-sync: token sink "
        f"{(config / 'shared.token').resolve()} is also the sink of one/member-sync "
        f"at {(config / 'templates.yaml').resolve()}:9:24"
    ]
    _write(
        config / "templates.yaml",
        (config / "templates.yaml")
        .read_text()
        .replace("          sink: {file: shared.token}\n", ""),
    )
    state = load_config(config, env={})
    assert [loc.auth_integration for loc in state.locations] == [
        "member-sync",
        "member-sync",
    ]


def test_auth_missing_scopes_each_reported(tmp_path: Path) -> None:
    text = """\
version: 1
locations:
  main:
    id: loc1
    auth: {integration: bot}
    custom_fields:
      pincode: {name: Pincode, type: TEXT}
    tags: [vip]
    integrations:
      bot:
        scopes: [contacts.readonly]
"""
    spot = f"{(tmp_path / 'hlsync.yaml').resolve()}:5:25"
    assert _problems(_write(tmp_path / "hlsync.yaml", text)) == [
        f'{spot}: auth: integration "bot" lacks scope "{scope}", needed {why}'
        for scope, why in [
            ("contacts.write", "to write the seed contacts"),
            ("locations/customFields.readonly", "to read the declared custom fields"),
            ("locations/customFields.write", "to write the declared custom fields"),
            ("locations/tags.readonly", "to read the declared tags"),
            ("locations/tags.write", "to write the declared tags"),
        ]
    ]


def test_auth_scopes_may_come_from_scope_sets(tmp_path: Path) -> None:
    text = """\
version: 1
scope_sets:
  crm: {scopes: [contacts.readonly, contacts.write]}
locations:
  main:
    id: loc1
    auth: {integration: bot}
    integrations:
      bot: {scope_sets: [crm]}
"""
    state = load_config(_write(tmp_path / "hlsync.yaml", text), env={})
    assert state.locations[0].auth_integration == "bot"


def test_a_broken_auth_integration_is_not_reported_twice(tmp_path: Path) -> None:
    # the integration's own problem (unknown scope set, bad token) is enough: auth
    # does not add "lacks scope" or "not declared" on top
    text = """\
version: 1
locations:
  main:
    id: loc1
    auth: {integration: bot}
    integrations:
      bot: {scope_sets: [crm]}
  other:
    id: loc2
    auth: {integration: bot2}
    integrations:
      bot2:
        scopes: [contacts.readonly, contacts.write]
        token: {rotate_every: soon}
"""
    problems = _problems(_write(tmp_path / "hlsync.yaml", text))
    assert [p.split(": ", 1)[1] for p in problems] == [
        'unknown scope set "crm"',
        '"rotate_every": "soon" is not valid: a duration such as 90d: a positive '
        "whole number followed by m (minutes), h (hours), d (days) or w (weeks)",
    ]


def test_auth_without_integration_key(tmp_path: Path) -> None:
    text = "version: 1\nlocations:\n  main:\n    id: loc1\n    auth: {name: bot}\n"
    problems = _problems(_write(tmp_path / "hlsync.yaml", text))
    assert [p.split(": ", 1)[1] for p in problems] == [
        '"auth": missing required key "integration"',
        'unknown key "name"',
    ]


def test_policy_exempts_integrations_being_deleted(tmp_path: Path) -> None:
    text = """\
version: 1
policy: {forbid_scopes: ["payments/*"], max_scopes: 1, max_rotate_every: 90d}
locations:
  main:
    id: loc1
    integrations:
      legacy:
        ensure: absent
        scopes: [payments/orders.write, contacts.readonly]
"""
    state = load_config(_write(tmp_path / "hlsync.yaml", text), env={})
    assert state.locations[0].integrations[0].ensure == "absent"


def test_policy_lists_each_violation(tmp_path: Path) -> None:
    text = """\
version: 1
policy:
  forbid_scopes: ["*.write", "contacts.*"]
  max_scopes: 1
  max_rotate_every: 30d
locations:
  main:
    id: loc1
    integrations:
      bot:
        scopes: [contacts.write, locations/tags.readonly]
        token: {sink: {file: bot.token}}
"""
    problems = _problems(_write(tmp_path / "hlsync.yaml", text))
    assert [p.split(".yaml:", 1)[1] for p in problems] == [
        "11:9: main/bot holds 2 scopes; policy max_scopes allows 1",
        '11:18: scope "contacts.write" is forbidden by policy (forbid_scopes: '
        '"*.write", "contacts.*")',
        "12:9: main/bot sets no token rotate_every; policy max_rotate_every requires "
        "rotation at least every 30d",
    ]


def test_plan_refuses_a_policy_violation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """validate runs inside load_config, so plan (and apply) inherit the policy."""
    text = """\
version: 1
policy:
  forbid_scopes: ["payments/*"]
locations:
  main:
    id: loc1
    integrations:
      bot:
        scopes: [contacts.readonly, payments/orders.write]
"""
    _write(tmp_path / "hlsync.yaml", text)
    monkeypatch.chdir(tmp_path)
    for command in (
        ["plan", "hlsync.yaml"],
        ["apply", "hlsync.yaml", "--auto-approve"],
    ):
        code = main(command)
        out, err = capsys.readouterr()
        assert (code, out) == (1, "")
        assert err.splitlines()[0] == (
            'error: hlsync.yaml:9:37: scope "payments/orders.write" is forbidden by '
            'policy (forbid_scopes: "payments/*")'
        )
    # nothing was planned against: no sandbox state was created
    assert not (tmp_path / ".hlsync").exists()


_odd = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=10**7),
    st.sampled_from(["", "90d", "0d", "7d", "1w", "payments/*", "*", "[", "seed-bot"]),
    st.text(alphabet="dhmw0123456789-/*. ", max_size=6),
    st.lists(
        st.sampled_from(["pass", "", "./x", "payments/*", "contacts.*"]), max_size=3
    ),
)
_sinks = st.one_of(
    _odd,
    st.dictionaries(
        st.sampled_from(["file", "env_file", "key", "command", "x"]), _odd, max_size=3
    ),
)
_tokens = st.one_of(
    _odd,
    st.fixed_dictionaries(
        {},
        optional={
            "rotate_every": _odd,
            "overlap": _odd,
            "generation": _odd,
            "sink": _sinks,
        },
    ),
)
_policies = st.one_of(
    _odd,
    st.fixed_dictionaries(
        {},
        optional={"forbid_scopes": _odd, "max_scopes": _odd, "max_rotate_every": _odd},
    ),
)
_auths = st.one_of(_odd, st.dictionaries(st.sampled_from(["integration"]), _odd))


@settings(max_examples=100, deadline=None)
@given(
    _policies,
    _auths,
    _tokens,
    _tokens,
    st.sampled_from(["sandbox", "leadconnector"]),
)
def test_any_token_auth_or_policy_value_is_an_error_or_a_model(
    policy: Any, auth: Any, first: Any, second: Any, target: str
) -> None:
    """Never a traceback: each odd value is a located problem, or it is valid."""
    data = {
        "version": 1,
        "target": target,
        "policy": policy,
        "locations": {
            "main": {
                "id": "loc1",
                "token": {"env": "HL_MAIN_TOKEN"},
                "auth": auth,
                "integrations": {
                    "seed-bot": {
                        "scopes": ["contacts.readonly", "contacts.write"],
                        "token": first,
                    },
                    "other": {"scopes": ["payments/orders.write"], "token": second},
                },
            }
        },
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hlsync.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        try:
            state = load_config(path, env={})
        except HlsyncError as exc:
            assert exc.problems
            assert all(p.location is not None for p in exc.problems)
        else:
            assert len(state.config_digest) == 64


def test_a_sink_of_no_known_kind_is_an_error_not_the_default_file() -> None:
    """Past the schema no such sink arrives; if one did, it is reported, never taken
    for another kind or left to the default token file."""
    reported: list[tuple[str, Location, str | None]] = []
    rules = TokenRules(
        lambda message, where, hint=None: reported.append((message, where, hint)),
        load_catalog(),
        path_from=lambda where, text, what: Path("/cfg") / text,
        display=str,
    )
    here = Location("hlsync.yaml", 9, 7)
    policy = rules.token({"sink": {"vault": "hl/bot"}}, lambda path: here, "main/bot")
    assert policy.sink is None
    assert reported == [
        (
            "main/bot: token sink names no kind hlsync knows",
            here,
            "write one of: file, env_file, command, held_by",
        )
    ]


def test_revoke_issued_before_is_an_instant_in_utc(tmp_path: Path) -> None:
    text = (
        "version: 1\nlocations:\n  main:\n    id: loc1\n    integrations:\n"
        "      bot:\n        scopes: [contacts.readonly]\n        token:\n"
        "          revoke_issued_before: {}\n"
    )
    good = _write(tmp_path / "a" / "hlsync.yaml", text.format("2026-12-01T02:00+02:00"))
    (spec,) = load_config(good, env={}).locations
    assert spec.integrations[0].token.revoke_issued_before == "2026-12-01T00:00:00Z"
    for value, message in (
        ("2026-12-01T00:00:00", "must be an ISO 8601 instant with its time zone"),
        ("2026-02-30T00:00:00Z", "is not an ISO 8601 instant with a time zone"),
    ):
        bad = _write(tmp_path / value / "hlsync.yaml", text.format(value))
        (problem,) = _problems(bad)
        assert problem.startswith(f"{bad}:9:33: ") and message in problem, problem
