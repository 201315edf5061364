"""The manual driver end to end, the emulator standing in for the live service.

``target: leadconnector`` with ``HLSYNC_LEADCONNECTOR_URL`` pointing at a running
emulator: plan (locations read over HTTP, integrations from the ledger) → runbook
(golden files) → ``hlsync confirm`` → ``hlsync token deliver`` (a token minted through
the emulator's admin API, as the UI would show it, piped on stdin) → ``hlsync verify``
finds the scope the operator forgot to tick; ticked, the same token verifies clean.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from hlsync.cli import main
from hlsync.commands.token import read_token
from hlsync.config.loader import load_config
from hlsync.core.plan import Plan
from hlsync.engine.planner import build_plan
from hlsync.engine.reader import read_observed
from hlsync.errors import HlsyncError
from hlsync.live.ledger import load_ledger
from hlsync.live.manual import URL_ENV, integration_plan, manual_target_access
from hlsync.live.runbook import render_runbook_markdown, render_runbook_text
from hlsync.targets.location_tokens import resolve_tokens
from hlsync.upstream.client import ApiClient
from tests.emulator_fixtures import LOCATION_A, LiveEmulator
from tests.golden import GOLDEN, check_golden

pytestmark = pytest.mark.integration

RUNBOOKS = GOLDEN / "runbook"
SCOPES = [
    "contacts.readonly",
    "contacts.write",
    "locations/customFields.readonly",
    "locations/tags.readonly",
]
CONFIG = f"""\
version: 1
target: leadconnector
locations:
  main:
    id: {LOCATION_A}
    token: {{env: MAIN_TOKEN}}
    integrations:
      seed-bot:
        description: Loads the seed contacts from CI
        scopes: [{", ".join(SCOPES)}]
    tags: [vip]
"""
KEY = "main/seed-bot"


@pytest.fixture
def live(
    emulator: LiveEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A live-target config whose base URL is the emulator; returns its folder."""
    folder = tmp_path / "live"
    folder.mkdir()
    (folder / "hlsync.yaml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv(URL_ENV, emulator.base_url)
    monkeypatch.setenv("MAIN_TOKEN", emulator.token(LOCATION_A))
    monkeypatch.setenv("USER", "ci-runner")
    return folder


def _plan(folder: Path, env: dict[str, str]) -> Plan:
    desired = load_config(folder)

    async def go() -> Plan:
        async with httpx.AsyncClient(base_url=env[URL_ENV]) as http:
            access = manual_target_access(
                ApiClient(http), desired, resolve_tokens(desired, env)
            )
            return build_plan(desired, await read_observed(desired, access))

    return asyncio.run(go())


def _mint(emulator: LiveEmulator, scopes: list[str]) -> tuple[str, str]:
    """What the UI does on "Create": an integration and its token, shown once."""
    with emulator.client() as admin:
        answer = admin.post(
            "/_emulator/integrations",
            json={
                "name": "seed-bot",
                "description": "Loads the seed contacts from CI",
                "scopes": scopes,
                "locationId": LOCATION_A,
            },
        )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return str(body["integration"]["id"]), str(body["token"])


OUTPUTS: list[str] = []


def _run(
    argv: list[str], capsys: pytest.CaptureFixture[str], stdin: str | None = None
) -> tuple[int, str, str]:
    """``hlsync ARGV`` with ``stdin``; every output is also kept in ``OUTPUTS``."""
    if stdin is not None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdin", io.StringIO(stdin))
            code = main(argv)
    else:
        code = main(argv)
    out, err = capsys.readouterr()
    OUTPUTS.append(out + err)
    return code, out, err


# The emulator's address (its port changes from run to run) in the golden runbooks.
EMULATOR_URL = "http://emulator.invalid"


def test_round_trip(
    live: Path,
    emulator: LiveEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    update_golden: bool,
) -> None:
    env = dict(os.environ)
    OUTPUTS.clear()
    monkeypatch.chdir(live)
    code, out, err = _run(["plan", "--out", "plan.json"], capsys)
    assert code == 0, err
    plan = Plan.from_json((live / "plan.json").read_text(encoding="utf-8"))
    assert [(c.kind, c.action) for c in plan.pending] == [
        ("integration", "create"),
        ("tag", "create"),
    ]
    runbook = render_runbook_text(plan)
    url = emulator.base_url
    fixed = dataclasses.replace(plan, target=EMULATOR_URL)
    check_golden(RUNBOOKS / "round-trip.txt", render_runbook_text(fixed), update_golden)
    check_golden(
        RUNBOOKS / "round-trip.md", render_runbook_markdown(fixed), update_golden
    )
    assert "\n" + runbook + "\n" in out  # the plan shows the UI steps too
    # HLSYNC_LEADCONNECTOR_URL is where the plan went: its header and runbook say so
    assert plan.target == url
    assert out.startswith(f"hlsync will make these changes to {url}:\n")
    assert f"Target {url}." in runbook
    assert "services.leadconnectorhq.com" not in out

    # apply: the tag goes through the API, the integration is left to the operator
    code, out, err = _run(["apply", "plan.json"], capsys)
    assert code == 4, err
    assert "1 Private Integration change is left to make by hand" in err
    for name, render in (
        ("runbook.txt", render_runbook_text),
        ("runbook.md", render_runbook_markdown),
    ):
        assert (live / ".hlsync" / name).read_text(encoding="utf-8") == render(plan)
    with emulator.client(emulator.token(LOCATION_A)) as api:
        tags = api.get(f"/locations/{LOCATION_A}/tags").json()["tags"]
    assert [t["name"] for t in tags] == ["vip"]
    assert [c.kind for c in _plan(live, env).pending] == ["integration"]

    # The operator created it in the UI (one box left unticked) and copied the token.
    integration_id, token = _mint(emulator, SCOPES[:-1])

    code, out, err = _run(["token", "deliver", KEY], capsys, token + "\n")
    assert code == 1
    assert "is not confirmed" in err and "hlsync confirm main/seed-bot" in err

    code, out, err = _run(["confirm", KEY], capsys)
    assert (code, err) == (0, "")
    assert "Recorded in" in out and "create of main.integration" in out
    assert "by ci-runner" in out
    ledger_file = live / "hlsync.ledger.json"
    entry = load_ledger(ledger_file).get(KEY)
    assert entry is not None and entry.scopes == tuple(SCOPES)
    assert entry.history[-1].by == "ci-runner"
    assert _plan(live, env).pending == ()
    _c, _o, _e = _run(["apply", "--auto-approve"], capsys)
    assert _c == 0, _o + _e
    ledger = load_ledger(ledger_file)
    assert integration_plan(load_config(live), ledger, build_plan).pending == ()

    code, out, err = _run(["confirm", KEY, str(live), "--by", "ann"], capsys)
    assert code == 0 and "nothing to confirm" in out

    code, out, err = _run(["token", "deliver", KEY, str(live)], capsys, token + "\n")
    assert (code, err) == (0, "")
    sink = live / ".hlsync" / "tokens" / "main.seed-bot.token"
    assert sink.read_text(encoding="utf-8") == token + "\n"
    assert stat.S_IMODE(sink.stat().st_mode) == 0o600
    delivered = load_ledger(ledger_file).get(KEY)
    assert delivered is not None and delivered.token_delivered_at is not None

    code, out, err = _run(["verify", KEY, str(live)], capsys)
    assert code == 1, err
    lines = {line.split()[0]: line for line in out.splitlines() if line[:2] == "  "}
    assert "MISSING" in lines["locations/tags.readonly"]
    assert "401 The token is not authorized for this scope." in out
    assert " ok " in lines["contacts.readonly"]
    assert " ok " in lines["locations/customFields.readonly"]
    # a write scope is proved by a create refused for its body, after the scope check
    assert " ok " in lines["contacts.write"]
    assert "POST /contacts/ -> 422 property hlsyncScopeProbe should not exist" in out
    assert "Result: 1 scope missing, 3 ok, 0 not verifiable." in out
    # the report ends with the runbook's edit that ticks it
    assert '"Edit"' in out and "[x] locations/tags.readonly" in out
    assert f"$ hlsync verify {KEY} {live}" in out

    # Ticking the box in the UI keeps the token (upstream); now it verifies clean.
    with emulator.client() as admin:
        edited = admin.patch(
            f"/_emulator/integrations/{integration_id}", json={"scopes": SCOPES}
        )
    assert edited.status_code == 200, edited.text
    code, out, err = _run(["verify", KEY, str(live)], capsys)
    assert (code, err) == (0, "")
    assert "Result: 0 scopes missing, 4 ok, 0 not verifiable." in out

    # A fresh runner without the sink: the ledger says a token was delivered, so the
    # plan's runbook step is its repair (rotate now in the UI, then deliver it).
    sink.unlink()
    code, out, err = _run(["plan", "--detailed-exitcode"], capsys)
    assert code == 2, err
    assert (
        "why: repair: its sink (file .hlsync/tokens/main.seed-bot.token) holds no "
        "token; a new token now, into the sink" in out
    )
    assert "Rotate now the token of" in out and "needs --force" not in out

    seen = ledger_file.read_text(encoding="utf-8")
    assert json.loads(seen)["integrations"][KEY]["history"]
    files = [ledger_file, live / "plan.json", *(live / ".hlsync").glob("runbook.*")]
    for text in [*OUTPUTS, *(f.read_text(encoding="utf-8") for f in files)]:
        assert token not in text and token[4:] not in text


def test_agency_integration_round_trip(
    live: Path, emulator: LiveEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    config = live / "hlsync.yaml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + "agency:\n  integrations:\n    reporting:\n"
        + "      scopes: [locations.readonly, users.readonly]\n",
        encoding="utf-8",
    )
    name = "agency/reporting"
    code, out, err = _run(["confirm", name, str(live), "--by", "ann"], capsys)
    assert code == 0, err
    assert 'create of agency.integration["reporting"], by ann' in out
    with emulator.client() as admin:
        minted = admin.post(
            "/_emulator/integrations",
            json={
                "name": "reporting",
                "scopes": ["locations.readonly", "users.readonly"],
                "companyId": emulator.company_id,
            },
        ).json()
    token = str(minted["token"])
    code, out, err = _run(["token", "deliver", name, str(live)], capsys, token)
    assert code == 0, err
    sink = live / ".hlsync" / "tokens" / "agency.reporting.token"
    assert sink.read_text(encoding="utf-8") == token + "\n"
    code, out, err = _run(["verify", name, str(live)], capsys)
    assert code == 0, err
    assert "Result: 0 scopes missing, 2 ok, 0 not verifiable." in out
    # an agency token reads one user (of the agency) that cannot exist: 404, held
    assert (
        "users.readonly      ok              GET /users/hlsync-probe-no-such-id" in out
    )
    assert token not in out + err
    entry = load_ledger(live / "hlsync.ledger.json").get(name)
    assert entry is not None and entry.location is None and entry.location_id is None


def test_a_terminal_is_asked_without_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "pit-0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def hidden(prompt: str) -> str:
        prompts.append(prompt)
        return f" {token} "

    monkeypatch.setattr("getpass.getpass", hidden)
    assert read_token(Terminal("never read"), "Token for main/x: ") == token
    assert prompts == ["Token for main/x: "]

    def closed(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("getpass.getpass", closed)
    with pytest.raises(HlsyncError, match="no token given"):
        read_token(Terminal(), "Token: ")


def test_deliver_refuses_what_is_not_a_token_without_repeating_it(
    live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["confirm", KEY, str(live)], capsys)[0] == 0
    for given in ("hunter2-secret-value\n", "pit-1234\n", "\n", ""):
        code, out, err = _run(["token", "deliver", KEY, str(live)], capsys, given)
        assert code == 1
        assert "nothing was stored" in err
        if given.strip():
            assert given.strip() not in out + err
    assert not (live / ".hlsync" / "tokens" / "main.seed-bot.token").exists()
    entry = load_ledger(live / "hlsync.ledger.json").get(KEY)
    assert entry is not None and entry.token_delivered_at is None


def test_verify_reports_a_refused_token_and_a_missing_one(
    live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(["verify", KEY, str(live)], capsys)
    assert code == 1
    assert "no token of main/seed-bot has been delivered" in err

    assert _run(["confirm", KEY, str(live)], capsys)[0] == 0
    stranger = "pit-00000000-1111-2222-3333-444444444444"
    assert _run(["token", "deliver", KEY, str(live)], capsys, stranger)[0] == 0
    code, out, err = _run(["verify", KEY, str(live)], capsys)
    assert code == 1
    assert "the token of main/seed-bot was refused" in err
    assert "401" in err and stranger not in out + err


def test_names_and_targets_are_checked(
    live: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = _run(["confirm", "main/nope", str(live)], capsys)
    assert code == 1 and "declared there: main/seed-bot" in err
    code, _, err = _run(["confirm", "elsewhere/seed-bot", str(live)], capsys)
    assert code == 1 and "no location 'elsewhere'" in err
    code, _, err = _run(["verify", "seed-bot", str(live)], capsys)
    assert code == 1 and "<location>/<integration>" in err
    assert _run(["confirm", KEY, str(live)], capsys)[0] == 0
    stranger = "pit-00000000-1111-2222-3333-444444444444"
    assert _run(["token", "deliver", KEY, str(live)], capsys, stranger)[0] == 0
    monkeypatch.setenv(URL_ENV, "ftp://example.invalid")
    for command in (["verify", KEY, str(live)], ["confirm", KEY, str(live)]):
        code, _, err = _run(command, capsys)
        assert code == 1 and "must be an http:// or https:// base URL" in err


def test_a_corrupt_ledger_is_reported_at_its_line(
    live: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (live / "hlsync.ledger.json").write_text(
        '{\n  "version": 1,\n  "integrations": [\n'
    )
    code, _, err = _run(["confirm", KEY, str(live)], capsys)
    assert code == 1
    assert "hlsync.ledger.json:4:1: the ledger is not valid JSON" in err


def _set_token(folder: Path, policy: str) -> None:
    """seed-bot's ``token:`` (a YAML flow mapping) in the config of ``folder``."""
    config = folder / "hlsync.yaml"
    text = config.read_text(encoding="utf-8")
    scopes_line = f"        scopes: [{', '.join(SCOPES)}]\n"
    assert scopes_line in text
    token_line = f"        token: {policy}\n"
    config.write_text(text.replace(scopes_line, scopes_line + token_line), "utf-8")


def _bump_generation(folder: Path, generation: int) -> None:
    _set_token(folder, f"{{generation: {generation}}}")


def test_a_generation_bump_is_confirmed_and_delivered_then_the_plan_is_clean(
    live: Path,
    emulator: LiveEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(live)
    integration_id, first = _mint(emulator, SCOPES)
    assert _run(["confirm", KEY], capsys)[0] == 0
    assert _run(["token", "deliver", KEY], capsys, first)[0] == 0
    # the tag goes through the API; the generation in use (0) is adopted
    code, out, err = _run(["apply", "--auto-approve"], capsys)
    assert code == 0, out + err

    _bump_generation(live, 1)
    code, out, err = _run(["plan", "--out", "plan.json"], capsys)
    assert code == 0, err
    plan = Plan.from_json((live / "plan.json").read_text(encoding="utf-8"))
    assert [(c.key, c.action) for c in plan.pending] == [("seed-bot", "rotate_now")]

    code, out, err = _run(["confirm", KEY], capsys)
    assert (code, err) == (0, ""), out
    assert "Recorded in" in out and "rotate_now of main.integration" in out
    assert "Next: hlsync token deliver main/seed-bot" in out

    # what the UI's "Rotate now" does: a new token, the old one dies
    with emulator.client() as admin:
        rotated = admin.post(
            f"/_emulator/integrations/{integration_id}/rotate", json={"mode": "now"}
        )
    assert rotated.status_code == 201, rotated.text
    second = str(rotated.json()["token"])
    assert _run(["token", "deliver", KEY], capsys, second)[0] == 0
    sink = live / ".hlsync" / "tokens" / "main.seed-bot.token"
    assert sink.read_text(encoding="utf-8") == second + "\n"
    journal = (live / "hlsync.journal.jsonl").read_text(encoding="utf-8")
    delivered = [
        e["generation"]
        for e in map(json.loads, journal.splitlines())
        if e["event"] == "delivered"
    ]
    assert delivered == [0, 1]  # the first token, then the confirmed rotation's

    code, out, err = _run(["plan", "--out", "plan.json"], capsys)
    assert code == 0, err
    assert Plan.from_json((live / "plan.json").read_text()).pending == ()
    code, out, err = _run(["confirm", KEY], capsys)
    assert code == 0 and "nothing to confirm" in out
    assert _run(["verify", KEY], capsys)[0] == 0


def test_a_bump_is_planned_from_the_ledger_when_the_journal_is_lost(
    live: Path,
    emulator: LiveEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ledger records the generation at confirm and deliver: a fresh checkout
    without the token journal still rotates now on a bump, never adopts it."""
    monkeypatch.chdir(live)
    _, first = _mint(emulator, SCOPES)
    assert _run(["confirm", KEY], capsys)[0] == 0
    assert _run(["token", "deliver", KEY], capsys, first)[0] == 0
    (live / "hlsync.journal.jsonl").unlink()
    _bump_generation(live, 1)
    code, out, err = _run(["plan", "--out", "plan.json"], capsys)
    assert code == 0, err
    assert not out.startswith("Warning:")
    plan = Plan.from_json((live / "plan.json").read_text(encoding="utf-8"))
    integration = [(c.key, c.action) for c in plan.pending if c.kind == "integration"]
    assert integration == [("seed-bot", "rotate_now")]
    assert plan.warnings == ()


def _with_sink(folder: Path, sink: str) -> None:
    config = folder / "hlsync.yaml"
    text = config.read_text(encoding="utf-8")
    scopes_line = f"        scopes: [{', '.join(SCOPES)}]\n"
    config.write_text(
        text.replace(scopes_line, scopes_line + f"        token: {{sink: {sink}}}\n"),
        encoding="utf-8",
    )


def test_deliver_and_verify_use_an_env_file_sink(
    live: Path, emulator: LiveEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = live / "app.env"
    env_file.write_text("# app settings\nOTHER=1\nSEED_TOKEN=stale\n", encoding="utf-8")
    _with_sink(live, "{env_file: app.env, key: SEED_TOKEN}")
    _, token = _mint(emulator, SCOPES)
    assert _run(["confirm", KEY, str(live)], capsys)[0] == 0
    code, out, err = _run(["token", "deliver", KEY, str(live)], capsys, token)
    assert (code, err) == (0, "")
    assert "main/seed-bot: token stored in env_file app.env (SEED_TOKEN)." in out
    assert env_file.read_text(encoding="utf-8") == (
        f"# app settings\nOTHER=1\nSEED_TOKEN={token}\n"
    )
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert not (live / ".hlsync" / "tokens").exists()  # not the default file
    # the journal has the delivery, as apply would record it; no token in it
    journal = (live / "hlsync.journal.jsonl").read_text(encoding="utf-8")
    events = [json.loads(line) for line in journal.splitlines()]
    assert [(e["event"], e["integration"]) for e in events] == [
        ("intent", KEY),
        ("delivered", KEY),
    ]
    assert events[0]["sink"] == "env_file app.env (SEED_TOKEN)"
    assert token not in journal

    code, out, err = _run(["verify", KEY, str(live)], capsys)
    assert (code, err) == (0, ""), out
    assert "Result: 0 scopes missing, 4 ok, 0 not verifiable." in out
    # without the entry there is nothing to verify with, and the message says where
    env_file.write_text("OTHER=1\n", encoding="utf-8")
    code, out, err = _run(["verify", KEY, str(live)], capsys)
    assert code == 1
    assert "no token of main/seed-bot has been delivered" in err
    assert "SEED_TOKEN" in err and "app.env" in err


def test_deliver_runs_a_command_sink_and_verify_cannot_read_it_back(
    live: Path, emulator: LiveEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    script = live / "store.sh"
    script.write_text('#!/bin/sh\ncat > "$(dirname "$0")/got.txt"\n', encoding="utf-8")
    script.chmod(0o700)
    _with_sink(live, "{command: [./store.sh]}")
    _, token = _mint(emulator, SCOPES)
    assert _run(["confirm", KEY, str(live)], capsys)[0] == 0
    code, out, err = _run(["token", "deliver", KEY, str(live)], capsys, token)
    assert (code, err) == (0, "")
    assert (live / "got.txt").read_text(encoding="utf-8") == token + "\n"
    assert token not in out
    code, out, err = _run(["verify", KEY, str(live)], capsys)
    assert code == 1
    assert "command sink" in err and "cannot be read back" in err
    assert "store.sh" in err and token not in out + err

    # a sink that refuses it: nothing recorded as delivered; the next plan says so
    script.write_text("#!/bin/sh\necho full >&2\nexit 3\n", encoding="utf-8")
    code, out, err = _run(["token", "deliver", KEY, str(live)], capsys, token)
    assert code == 1 and "exited with status 3: full" in err
    code, out, err = _run(["plan", str(live)], capsys)
    assert code == 0, err
    assert "was not stored in command " in out and "store.sh (the sink" in out
    assert "run 'hlsync token deliver main/seed-bot' again" in out + err
    assert token not in out + err


@pytest.mark.parametrize("target", ["sandbox", '{url: "http://127.0.0.1:9"}'])
def test_confirm_and_deliver_refuse_a_target_hlsync_changes_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    folder = tmp_path / "api"
    folder.mkdir()
    config = CONFIG.replace("target: leadconnector", f"target: {target}")
    (folder / "hlsync.yaml").write_text(config, encoding="utf-8")
    token = "pit-00000000-1111-2222-3333-444444444444"
    for argv, stdin in (
        (["confirm", KEY, str(folder), "--by", "ann"], None),
        (["token", "deliver", KEY, str(folder), "--by", "ann"], token + "\n"),
    ):
        code, out, err = _run(argv, capsys, stdin)
        assert (code, out) == (1, "")
        command = " ".join(argv[: argv.index(KEY)])
        assert f"hlsync {command} is for the live cloud (target: leadconnector)" in err
        assert "run 'hlsync apply'" in err
        assert token not in err
    assert sorted(p.name for p in folder.iterdir()) == ["hlsync.yaml"]  # no ledger


def test_a_rotation_cancelled_in_the_ui_puts_the_old_token_back(
    live: Path,
    emulator: LiveEmulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(live)
    _set_token(live, "{rotate_every: 30d}")
    integration_id, first = _mint(emulator, SCOPES)
    assert _run(["confirm", KEY], capsys)[0] == 0
    assert _run(["token", "deliver", KEY], capsys, first)[0] == 0
    code, out, err = _run(["token", "cancel-rotation", KEY], capsys)
    assert code == 1 and "no rotation is in progress" in err

    # 31 days on (the upstream's clock), the policy's rotation (later) is confirmed
    with emulator.client() as admin:
        admin.post("/_emulator/clock", json={"advance": 31 * 86400})
    code, out, err = _run(["confirm", KEY], capsys)
    assert (code, err) == (0, ""), out
    assert "rotate of main.integration" in out
    with emulator.client() as admin:
        rotated = admin.post(
            f"/_emulator/integrations/{integration_id}/rotate", json={"mode": "later"}
        )
    second = str(rotated.json()["token"])
    assert _run(["token", "deliver", KEY], capsys, second)[0] == 0
    sink = live / ".hlsync" / "tokens" / "main.seed-bot.token"
    assert sink.read_text(encoding="utf-8") == second + "\n"

    # the app needs more time: the runbook for "Cancel rotation" (exit 4, by hand)
    code, out, err = _run(["token", "cancel-rotation", KEY], capsys)
    assert (code, err) == (4, ""), out
    assert "Cancel the rotation of main/seed-bot" in out
    assert 'Click "Cancel rotation".' in out
    assert "$ hlsync confirm main/seed-bot --cancel-rotation" in out
    with emulator.client() as admin:
        cancelled = admin.post(
            f"/_emulator/integrations/{integration_id}/cancel-rotation"
        )
    assert cancelled.status_code == 200, cancelled.text

    code, out, err = _run(["confirm", KEY, "--cancel-rotation"], capsys)
    assert (code, err) == (0, ""), out
    assert "cancel_rotation of main.integration" in out
    assert "the previous token is back in" in out
    assert sink.read_text(encoding="utf-8") == first + "\n"
    entry = load_ledger(live / "hlsync.ledger.json").get(KEY)
    assert entry is not None and entry.old_token_expires_at is None
    assert [e.event for e in entry.history][-2:] == [
        "token_delivered",
        "cancel_rotation",
    ]
    code, out, err = _run(["verify", KEY], capsys)
    assert code == 0, out + err  # the old token works again
    code, out, err = _run(["confirm", KEY, "--cancel-rotation"], capsys)
    assert code == 1 and "no rotation is in progress" in err
    for text in OUTPUTS:
        assert first not in text and second not in text
