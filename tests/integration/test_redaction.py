"""No token value ever appears in output, plan files, the journal or logs (issue 5).

One run through the whole token lifecycle against a real emulator: create (file,
env_file and command sinks), rotate by the clock, expire the old token, rotate now on
request, a sink command that fails (and prints the token to its stderr), a location
whose token file holds a revoked token (401), a stale saved plan, and delete. ``plan``,
``show`` and ``apply`` run in every format and with DEBUG logging on for every logger.
Every token the emulator mints (bootstrap tokens included) is recorded as it is minted;
then every captured output, every file hlsync wrote (plan files, the journal, anything
under ``.hlsync/``) and the log are searched for each value: zero hits. The sinks are
the one place tokens belong; the test reads them only to prove the search would find a
token that leaked.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hlsync.cli import main
from hlsync.emulator import auth
from tests.emulator_fixtures import LOCATION_A, LOCATION_B, LiveEmulator

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FORMATS = ("text", "markdown", "json")


def write_pager(config: Path) -> None:
    """The pager's sink command, a script in the config folder (a program outside it
    is refused): prints the token it gets, then fails."""
    script = config / "pager.py"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys; t = sys.stdin.read(); print(t); "
        "sys.stderr.write('pager refused ' + t); sys.exit(1)\n"
    )
    script.chmod(0o755)


def config_text(url: str, *, hook: str = "present", pager: bool = True) -> str:
    pager_lines = [
        "      pager:",
        "        scopes: [contacts.readonly]",
        "        token:",
        "          sink: {command: [./pager.py]}",
    ]
    return "\n".join(
        [
            "version: 1",
            f'target: {{url: "{url}"}}',
            "locations:",
            "  alpha:",
            f"    id: {LOCATION_A}",
            "    token: {env: ALPHA_TOKEN}",
            "    auth: {integration: seed-bot}",
            "    integrations:",
            "      seed-bot:",
            "        scopes: [contacts.readonly, contacts.write]",
            "        token:",
            "          rotate_every: 90d",
            "          sink: {file: .hlsync/seed-bot.token}",
            "      hook:",
            f"        ensure: {hook}",
            "        scopes: [contacts.readonly]",
            "        token:",
            "          sink: {env_file: app.env, key: HOOK_TOKEN}",
            *(pager_lines if pager else []),
            "    contacts:",
            "      - firstName: Ann",
            "        email: ann@example.com",
            "  bravo:",
            f"    id: {LOCATION_B}",
            "    token: {file: bravo.token}",
            "    tags: [redaction]",
            "",
        ]
    )


def test_no_token_value_anywhere(
    tmp_path: Path,
    emulator: LiveEmulator,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    minted: list[str] = [*emulator.location_tokens.values(), emulator.agency_token]
    original = auth.new_token

    def recording() -> str:
        value = original()
        minted.append(value)
        return value

    monkeypatch.setattr(auth, "new_token", recording)
    caplog.set_level(logging.DEBUG)
    emulator.state.clock.set(T0)
    monkeypatch.setenv("ALPHA_TOKEN", emulator.token(LOCATION_A))
    config = tmp_path / "cfg"
    config.mkdir()
    (config / "bravo.token").write_text(emulator.token(LOCATION_B) + "\n")
    write_pager(config)
    (config / "hlsync.yaml").write_text(config_text(emulator.base_url))
    outputs: list[str] = []

    def hlsync(*argv: str, expect: int | None = None) -> str:
        code = main(list(argv))
        out, err = capsys.readouterr()
        outputs.append(out + err)
        if expect is not None:
            assert code == expect, out + err
        return out + err

    cfg = str(config)
    plan_file = str(tmp_path / "create.plan.json")
    for fmt in FORMATS:
        hlsync("plan", cfg, "--format", fmt, expect=0)
    hlsync("plan", cfg, "--out", plan_file, expect=0)
    for fmt in FORMATS:
        hlsync("show", plan_file, "--format", fmt, expect=0)
    created = hlsync("apply", plan_file, "--format", "json", expect=1)  # pager fails
    assert "minted and NOT stored" in created
    hlsync("apply", plan_file, expect=1)  # stale: created since the plan was made
    for fmt in FORMATS:  # the lost pager token is reported
        assert "pager" in hlsync("plan", cfg, "--format", fmt, expect=0)

    (config / "hlsync.yaml").write_text(config_text(emulator.base_url, pager=False))
    first_seed = (config / ".hlsync" / "seed-bot.token").read_text().strip()
    emulator.state.clock.advance(timedelta(days=91))
    for fmt in FORMATS:
        assert "rotate" in hlsync("plan", cfg, "--format", fmt, expect=0)
    rotate_file = str(tmp_path / "rotate.plan.json")
    hlsync("plan", cfg, "--out", rotate_file, expect=0)
    for fmt in FORMATS:
        hlsync("show", rotate_file, "--format", fmt, expect=0)
    hlsync("apply", rotate_file, "--format", "markdown", expect=0)
    hlsync("token", "expire-old", "alpha/seed-bot", cfg, "--auto-approve", expect=1)
    hlsync(
        "token", "expire-old", "alpha/seed-bot", cfg, "--auto-approve", "--force",
        expect=0,
    )  # fmt: skip
    hlsync(
        "token", "rotate", "alpha/hook", cfg, "--now", "--force", "--auto-approve",
        "--format", "json", expect=0,
    )  # fmt: skip
    hlsync(
        "token", "expire-old", "alpha/hook", cfg, "--auto-approve", "--force",
        expect=1,
    )  # fmt: skip

    (config / "bravo.token").write_text(first_seed + "\n")  # revoked: 401
    refused = hlsync("plan", cfg, expect=1)
    assert "401" in refused

    (config / "bravo.token").write_text(emulator.token(LOCATION_B) + "\n")
    (config / "hlsync.yaml").write_text(
        config_text(emulator.base_url, hook="absent", pager=False)
    )
    for fmt in FORMATS:
        hlsync("plan", cfg, "--format", fmt, expect=0)
    hlsync("apply", cfg, "--auto-approve", expect=1)  # a delete needs --force
    for fmt in FORMATS[:2]:
        hlsync("apply", cfg, "--auto-approve", "--force", "--format", fmt, expect=0)

    # sanity: enough tokens were minted, and the search finds one where it belongs
    assert len(minted) >= 2 + 6  # bootstrap, 3 creates, rotate, rotate now
    sinks = (config / ".hlsync" / "seed-bot.token").read_text() + (
        config / "app.env"
    ).read_text()
    assert sum(value in sinks for value in minted) == 2

    belong = {config / ".hlsync" / "seed-bot.token", config / "app.env"}
    belong.add(config / "bravo.token")  # the bootstrap token, put there by the test
    written = [
        p
        for p in [*tmp_path.rglob("*"), *config.rglob(".*")]
        if p.is_file() and p not in belong
    ]
    assert any(p.name == "hlsync.journal.jsonl" for p in written)
    assert any(p.name.endswith(".plan.json") for p in written)
    haystacks = {f"output {i}": text for i, text in enumerate(outputs)}
    haystacks["log"] = caplog.text
    haystacks.update({str(p): p.read_text(errors="replace") for p in written})
    leaks = [
        (where, value[:8] + "…")
        for value in minted
        for where, text in haystacks.items()
        if value in text
    ]
    assert leaks == []
