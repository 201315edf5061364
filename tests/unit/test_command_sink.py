"""A ``command`` sink runs with least privilege (issue 10, item 7): a minimal
environment plus what the config's ``env:`` names, never another token."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hlsync.config.loader import load_config
from hlsync.core.plan import Change
from hlsync.targets.drivers import Token
from hlsync.tokens.custody import TokenCustody
from hlsync.tokens.sinks.command import command_environment

NEW = "pit-00000000-1111-2222-3333-444444444444"
OTHERS = {
    "HL_BRAVO_TOKEN": "pit-bravo-bravo-bravo",  # another location, by convention
    "ALPHA_PIT": "pit-alpha-alpha-alpha",  # the location token the config names
    "AGENCY_PIT": "pit-agency-agency-agency",
    "GITHUB_TOKEN": "ghs_ci_secret_ci_secret",  # the CI's own secrets
    "AWS_SECRET_ACCESS_KEY": "aws-secret-aws-secret",
}


def test_the_environment_is_minimal_plus_what_is_named() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/ci",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "VAULT_ADDR": "https://vault.example",
        "UNNAMED": "x",
        **OTHERS,
    }
    assert command_environment(environ, "alpha/bot", ("VAULT_ADDR", "UNSET")) == {
        "PATH": "/usr/bin",
        "HOME": "/home/ci",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "VAULT_ADDR": "https://vault.example",
        "HLSYNC_INTEGRATION": "alpha/bot",
    }


def test_a_sink_command_printing_its_environment_sees_no_other_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen.env"
    program = tmp_path / "dump_env.sh"  # inside the config folder, as containment asks
    program.write_text(f"#!/bin/sh\ncat >/dev/null\nenv > '{seen}'\n")
    program.chmod(0o755)
    (tmp_path / "hlsync.yaml").write_text(
        "version: 1\n"
        "agency:\n"
        "  token: {env: AGENCY_PIT}\n"
        "locations:\n"
        "  alpha:\n"
        "    id: loc1\n"
        "    token: {env: ALPHA_PIT}\n"
        "    integrations:\n"
        "      bot:\n"
        "        scopes: [contacts.readonly]\n"
        "        token: {sink: {command: [./dump_env.sh], env: [VAULT_ADDR]}}\n"
    )
    for name, value in OTHERS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example")
    desired = load_config(str(tmp_path))
    custody = TokenCustody(desired, None, "")
    change = Change(
        address="alpha.integration['bot']",
        action="create",
        kind="integration",
        location="alpha",
        location_id="loc1",
        key="bot",
        desired={"name": "bot"},
    )
    asyncio.run(custody.deliver(custody.before_mint(change), change, Token(NEW)))
    env = dict(line.split("=", 1) for line in seen.read_text().splitlines())
    assert env["HLSYNC_INTEGRATION"] == "alpha/bot"
    assert env["VAULT_ADDR"] == "https://vault.example"
    held = "\n".join(f"{k}={v}" for k, v in env.items())
    for name, value in OTHERS.items():
        assert name not in env and value not in held
    assert NEW not in held  # the new token comes on stdin only
    shell_own = {"PWD", "OLDPWD", "SHLVL", "_"}  # set by sh itself, not by hlsync
    given = set(env) - shell_own - {k for k in env if k.startswith("LC_")}
    assert given <= {"PATH", "HOME", "LANG", "TZ", "VAULT_ADDR", "HLSYNC_INTEGRATION"}
