"""Private Integration tokens end to end, through ``hlsync`` and a real emulator.

* the quick start on the sandbox bootstraps its own least-privilege integration, stores
  its token 0600 and seeds the contacts with it (the request log says which token wrote);
* rotation follows the emulator's clock: +91 days plans a rotation, both tokens work
  through the overlap, +7 days later the old one is refused and the plan is clean;
* a generation bump plans exactly one ``rotate_now``, held back without ``--force``;
* a sink command that fails: apply exits 1 saying the token was minted but not stored and
  how to recover, the next plan says so too, and ``hlsync token rotate --now --force``
  recovers (without ``--force`` it refuses);
* a sink that cannot work fails the plan before anything is minted;
* a run that dies between "token minted" and "token stored" is reported by the next plan.
"""

from __future__ import annotations

import stat
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hlsync.cli import main
from hlsync.config.loader import load_config
from hlsync.emulator import sandbox as sandbox_module
from hlsync.emulator.sandbox import Sandbox, open_sandbox
from hlsync.tokens.custody import TokenCustody
from tests.emulator_fixtures import LOCATION_A, LiveEmulator
from tests.examples_copy import copy_example
from tests.integration.e2e_support import converged_text

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SEED_SCOPES = ["contacts.readonly", "contacts.write"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_config(
    folder: Path,
    url: str,
    *,
    sink: str = "{file: tokens/seed-bot.token}",
    generation: int = 0,
    auth: bool = True,
) -> Path:
    folder.mkdir(exist_ok=True)
    lines = [
        "version: 1",
        f'target: {{url: "{url}"}}',
        "locations:",
        "  alpha:",
        f"    id: {LOCATION_A}",
        "    token: {env: ALPHA_TOKEN}",
        *(["    auth: {integration: seed-bot}"] if auth else []),
        "    integrations:",
        "      seed-bot:",
        "        description: seeds the contacts",
        f"        scopes: [{', '.join(SEED_SCOPES)}]",
        "        token:",
        "          rotate_every: 90d",
        f"          generation: {generation}",
        f"          sink: {sink}",
        "    contacts:",
        "      - firstName: Ann",
        "        email: ann@example.com",
    ]
    (folder / "hlsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def works(emulator: LiveEmulator, token: str) -> int:
    """The status of a contacts read with ``token``."""
    with emulator.client(token) as http:
        answer = http.post(
            "/contacts/search", json={"locationId": LOCATION_A, "pageLimit": 1}
        )
    return answer.status_code


def seed_bot(emulator: LiveEmulator) -> Any:
    found = [
        i for i in emulator.state.auth.integrations.values() if i.name == "seed-bot"
    ]
    assert len(found) == 1
    return found[0]


@pytest.fixture
def alpha_env(emulator: LiveEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHA_TOKEN", emulator.token(LOCATION_A))


def test_quickstart_seeds_with_its_own_least_privilege_token(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = copy_example("quickstart", tmp_path)
    opened: list[Sandbox] = []

    def keep(*args: Any, **kwargs: Any) -> Sandbox:
        opened.append(open_sandbox(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(sandbox_module, "open_sandbox", keep)
    code, out, err = run(capsys, "apply", str(config), "--auto-approve")
    assert code == 0, out + err
    sink = config / ".hlsync" / "tokens" / "main.seed-bot.token"
    assert stat.S_IMODE(sink.stat().st_mode) == 0o600
    assert stat.S_IMODE(sink.parent.stat().st_mode) == 0o700
    token = sink.read_text().strip()
    assert token not in out + err
    assert "token stored in file .hlsync/tokens/main.seed-bot.token" in out

    state = opened[0].state
    principal = state.auth.resolve(token)
    assert principal is not None
    bot = state.auth.integrations[principal.integration_id]
    assert bot.name == "seed-bot"
    declared = load_config(str(config)).location("main")
    assert declared is not None and declared.auth_integration == "seed-bot"
    (decl,) = [i for i in declared.integrations if i.name == "seed-bot"]
    assert sorted(bot.scopes) == sorted(decl.scopes)  # only what the config declares
    assert "contacts.write" in bot.scopes
    every = [
        e
        for e in state.requests.entries()
        if e.method in ("POST", "PUT", "DELETE") and e.path != "/contacts/search"
    ]
    # the apply lock's lease (the quickstart declares no custom values) is written
    # with the location's own token, on purpose: the seeding token lacks the scopes
    lease = [e for e in every if "customValues" in (e.route or "")]
    assert {e.route for e in lease} == {
        "POST /locations/{locationId}/customValues",
        "DELETE /locations/{locationId}/customValues/{id}",
    }
    assert principal.token_id not in {e.token_id for e in lease}
    writes = [e for e in every if e not in lease]
    assert {e.route for e in writes} >= {
        "POST /contacts/upsert",
        "POST /locations/{locationId}/customFields",
        "POST /locations/{locationId}/tags",
    }
    assert {e.token_id for e in writes} == {principal.token_id}
    assert all(e.status < 300 for e in writes)
    upserts = [e for e in writes if e.route == "POST /contacts/upsert"]
    assert len(upserts) == len(declared.contacts)

    code, out, _ = run(capsys, "plan", str(config), "--detailed-exitcode")
    assert (code, out) == (0, converged_text(config))


def _applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], emulator: LiveEmulator
) -> tuple[Path, Path, str]:
    """The standard config applied once: (config dir, seed-bot's sink, its token)."""
    config = write_config(tmp_path / "cfg", emulator.base_url)
    sink = config / "tokens" / "seed-bot.token"
    assert run(capsys, "apply", str(config), "--auto-approve")[0] == 0
    return config, sink, sink.read_text().strip()


def test_rotation_follows_the_emulators_clock(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
) -> None:
    emulator.state.clock.set(T0)
    config, sink, first = _applied(tmp_path, capsys, emulator)
    assert works(emulator, first) == 200

    emulator.state.clock.advance(timedelta(days=89))
    assert run(capsys, "plan", str(config), "--detailed-exitcode")[0] == 0

    emulator.state.clock.advance(timedelta(days=2))  # 91 days old
    code, out, _ = run(capsys, "plan", str(config), "--detailed-exitcode")
    assert code == 2
    assert '~ alpha.integration["seed-bot"]  (token: rotate;' in out
    assert "the token is 91 days old (rotate_every 90d)" in out
    assert "the old token expires at 2026-04-09T00:00:00Z (overlap 7d)" in out
    assert "1 token to rotate." in out

    code, out, err = run(capsys, "apply", str(config), "--auto-approve")
    assert code == 0, out + err
    second = sink.read_text().strip()
    assert second != first
    assert (works(emulator, first), works(emulator, second)) == (200, 200)
    assert run(capsys, "plan", str(config), "--detailed-exitcode")[0] == 0

    kept = sink.with_name(sink.name + ".previous")  # for a cancellation
    assert kept.read_text().strip() == first

    emulator.state.clock.advance(timedelta(days=7, seconds=1))
    assert (works(emulator, first), works(emulator, second)) == (401, 200)
    code, out, _ = run(capsys, "plan", str(config), "--detailed-exitcode")
    assert (code, out) == (0, "No changes. The account matches the configuration.\n")
    assert kept.read_text().strip() == first  # plan writes nothing
    code, out, _ = run(capsys, "apply", str(config), "--auto-approve")
    assert (code, out) == (0, "No changes. The account matches the configuration.\n")
    assert not kept.exists()  # the overlap ended: apply lets the dead token go


def test_a_generation_bump_rotates_now_exactly_once(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
) -> None:
    config, sink, first = _applied(tmp_path, capsys, emulator)
    write_config(config, emulator.base_url, generation=1)
    code, out, _ = run(capsys, "plan", str(config), "--detailed-exitcode")
    assert code == 2
    assert out.count("(token: rotate now;") == 1
    assert "generation 0 -> 1" in out
    assert "! needs --force: ends a token at once" in out
    code, out, err = run(capsys, "apply", str(config), "--auto-approve")
    assert code == 1  # the old token may still be in use: refused without --force
    assert 'alpha.integration["seed-bot"] ends a token at once' in err
    assert "apply again with --force" in err
    assert sink.read_text().strip() == first and works(emulator, first) == 200
    code, out, err = run(capsys, "apply", str(config), "--auto-approve", "--force")
    assert code == 0, out + err
    second = sink.read_text().strip()
    assert (works(emulator, first), works(emulator, second)) == (401, 200)
    assert run(capsys, "plan", str(config), "--detailed-exitcode")[0] == 0


def test_a_bump_the_journal_cannot_confirm_is_adopted_with_a_warning(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
) -> None:
    config = write_config(tmp_path / "cfg", emulator.base_url)
    assert run(capsys, "apply", str(config), "--auto-approve")[0] == 0
    journal = config / "hlsync.journal.jsonl"  # committed beside the config
    assert '"event": "delivered"' in journal.read_text()
    assert not (config / ".hlsync" / "journal.jsonl").exists()
    journal.unlink()  # a fresh checkout that lost it
    write_config(config, emulator.base_url, generation=1)
    for fmt in ("text", "markdown", "json"):
        code, out, _ = run(capsys, "plan", str(config), "--format", fmt)
        assert code == 0
        assert "alpha/seed-bot: the token generation last applied is unknown" in out
        assert "generation 1 was adopted without rotating the token" in out
        assert "hlsync token rotate alpha/seed-bot --now --force" in out
    code, out, _ = run(capsys, "plan", str(config), "--detailed-exitcode")
    assert code == 0 and out.startswith("Warning: alpha/seed-bot: the token")
    assert out.endswith("No changes. The account matches the configuration.\n")


def _python_sink(folder: Path, code: str) -> str:
    """A command sink running ``code``: a script inside the config ``folder``, since a
    program path outside it is refused (``hlsync.config.containment``)."""
    script = folder / "bin" / "sink.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!{sys.executable}\n{code}\n")
    script.chmod(0o755)
    return "{command: [./bin/sink.py]}"


def test_a_failing_sink_command_is_reported_and_recovered(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
) -> None:
    failing = _python_sink(
        tmp_path / "cfg",
        "import sys; sys.stderr.write('vault sealed: ' + sys.stdin.read()); sys.exit(2)",
    )
    # a command sink cannot be read back, so it cannot seed (validate says so)
    config = write_config(tmp_path / "cfg", emulator.base_url, sink=failing, auth=False)
    code, out, err = run(capsys, "apply", str(config), "--auto-approve")
    assert code == 1
    line = next(ln for ln in out.splitlines() if ln.startswith("  failed"))
    assert 'alpha.integration["seed-bot"]' in line
    assert "the new token was minted and NOT stored" in line
    assert "exited with status 2: vault sealed: ***" in line
    assert "run 'hlsync token rotate alpha/seed-bot --now --force'" in line
    assert "pit-" not in out + err
    seed_bot(emulator)  # created upstream: the token exists and is lost

    code, out, err = run(capsys, "plan", str(config))
    assert code == 0
    assert out.startswith("Warning: alpha/seed-bot: a token minted by create at "), out
    assert "was not stored in command" in out
    assert "hlsync token rotate alpha/seed-bot --now --force" in out

    write_config(config, emulator.base_url, auth=False)  # fixed: a file sink
    argv = ["token", "rotate", "alpha/seed-bot", str(config), "--now", "--auto-approve"]
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert "refusing to rotate alpha/seed-bot now without --force" in err
    assert "'hlsync token rotate alpha/seed-bot' (without --now)" in err
    code, out, err = run(capsys, *argv, "--force")
    assert code == 0, out + err
    assert "Warning: alpha/seed-bot" in out  # the plan shown before the fix
    token = (config / "tokens" / "seed-bot.token").read_text().strip()
    assert works(emulator, token) == 200
    code, out, _ = run(capsys, "plan", str(config), "--detailed-exitcode")
    assert (code, out) == (0, "No changes. The account matches the configuration.\n")


def test_a_sink_that_cannot_work_fails_the_plan_before_anything_is_minted(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
) -> None:
    config = write_config(
        tmp_path / "cfg",
        emulator.base_url,
        sink="{command: [no-such-vault-cli-hlsync, put]}",
        auth=False,
    )
    for verb in ("plan", "apply"):
        argv = [verb, str(config)] + (["--auto-approve"] if verb == "apply" else [])
        code, out, err = run(capsys, *argv)
        assert code == 1
        assert (
            'alpha.integration["seed-bot"]: its token sink cannot be used: the command '
            "'no-such-vault-cli-hlsync' is not found on PATH" in err
        )
    assert not [
        i for i in emulator.state.auth.integrations.values() if i.name == "seed-bot"
    ]


def test_token_verbs_on_request(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
) -> None:
    config, sink, first = _applied(tmp_path, capsys, emulator)
    verb: Callable[..., tuple[int, str, str]] = lambda *a: run(  # noqa: E731
        capsys, "token", *a, "alpha/seed-bot", str(config), "--auto-approve"
    )
    code, out, err = verb("expire-old", "--force")
    assert code == 1 and "no rotation is in progress" in err
    code, out, _ = verb("rotate")
    assert code == 0 and "1 token to rotate" in out
    second = sink.read_text().strip()
    assert (works(emulator, first), works(emulator, second)) == (200, 200)
    code, out, err = verb("rotate")
    assert code == 1 and "a rotation is already in progress" in err
    code, out, err = verb("expire-old")  # the old token may still be in use
    assert code == 1 and out == ""
    assert "refusing to expire the old token of alpha/seed-bot without --force" in err
    assert (works(emulator, first), works(emulator, second)) == (200, 200)
    code, out, _ = verb("expire-old", "--force")
    assert code == 0 and "1 old token to expire" in out
    assert "needs --force: ends a token at once" in out
    assert (works(emulator, first), works(emulator, second)) == (401, 200)
    assert verb("rotate")[0] == 0
    third = sink.read_text().strip()
    kept = sink.with_name(sink.name + ".previous")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    code, out, err = verb("cancel-rotation")
    assert code == 0 and "(token: cancel the rotation; the old token stays)" in out
    assert "New token stored" not in err  # the previous one is back, nothing new
    assert "the previous token is back in file tokens/seed-bot.token" in out
    assert (works(emulator, second), works(emulator, third)) == (200, 401)
    assert sink.read_text().strip() == second and not kept.exists()
    # the location seeds with seed-bot's token (auth: {integration}): it still works
    code, out, err = run(capsys, "plan", str(config), "--detailed-exitcode")
    assert (code, out) == (0, "No changes. The account matches the configuration.\n")
    assert second not in out + err and third not in out + err
    code, out, err = run(capsys, "token", "rotate", "alpha/seed-bot", str(config))
    assert code == 1 and "stdin is not a terminal" in err


def test_a_rotation_into_a_command_sink_is_not_cancelled(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
) -> None:
    store = tmp_path / "vault.txt"
    sink = _python_sink(
        tmp_path / "cfg",
        f"import sys; open({str(store)!r}, 'w').write(sys.stdin.read())",
    )
    config = write_config(tmp_path / "cfg", emulator.base_url, sink=sink, auth=False)
    assert run(capsys, "apply", str(config), "--auto-approve")[0] == 0
    first = store.read_text().strip()
    argv = ["token", "cancel-rotation", "alpha/seed-bot", str(config), "--auto-approve"]
    assert run(capsys, "token", "rotate", *argv[2:])[0] == 0
    new = store.read_text().strip()
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert (
        "refusing to cancel the rotation of alpha/seed-bot: its token goes to " in err
    )
    assert "which cannot be read back" in err
    assert "'hlsync token expire-old alpha/seed-bot --force'" in err
    # the upstream was never asked: the rotation is still open, both tokens work
    assert (works(emulator, first), works(emulator, new)) == (200, 200)


def test_seeding_reads_its_token_from_an_env_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(
        tmp_path / "cfg", emulator.base_url, sink="{env_file: app.env, key: SEED_TOKEN}"
    )
    (config / "app.env").write_text("# app\nOTHER=1\n")
    assert run(capsys, "apply", str(config), "--auto-approve")[0] == 0
    lines = (config / "app.env").read_text().splitlines()
    assert lines[:2] == ["# app", "OTHER=1"] and lines[2].startswith("SEED_TOKEN=pit-")
    token = lines[2].partition("=")[2]
    monkeypatch.delenv("ALPHA_TOKEN")  # seeding needs only the integration's token now
    emulator.state.requests.clear()
    code, out, err = run(capsys, "plan", str(config), "--detailed-exitcode")
    assert code == 0, out + err
    principal = emulator.state.auth.resolve(token)
    assert principal is not None
    reads = [e for e in emulator.state.requests.entries() if e.route]
    assert reads and {e.token_id for e in reads} == {principal.token_id}


def test_a_run_interrupted_between_mint_and_sink_is_reported(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(tmp_path / "cfg", emulator.base_url)

    async def crash(self: TokenCustody, ticket: str, change: Any, token: Any) -> str:
        raise KeyboardInterrupt  # the process dies with the token in memory

    with monkeypatch.context() as patched:
        patched.setattr(TokenCustody, "deliver", crash)
        code, out, err = run(capsys, "apply", str(config), "--auto-approve")
    assert code == 130 and "interrupted" in err
    assert not (config / "tokens" / "seed-bot.token").exists()
    code, out, _ = run(capsys, "plan", str(config))
    assert code == 0
    assert out.startswith(
        "Warning: alpha/seed-bot: a token may have been minted by create"
    )
    assert "never recorded (the run was interrupted)" in out
    # the plan holds the repair itself, so the warning says so instead of a command
    assert "; this plan repairs it: a new token now, into the sink" in out
    assert "hlsync token rotate" not in out
    # the drift check fails until it is repaired: a rotate now into the sink, no --force
    code, out, _ = run(capsys, "plan", str(config), "--detailed-exitcode")
    assert code == 2
    assert "why: repair: its sink (file tokens/seed-bot.token) holds no token" in out
    assert "Warning: alpha: not read: its calls use seed-bot's token (auth)" in out
    code, out, err = run(capsys, "apply", str(config), "--auto-approve")
    assert code == 0, out + err
    token = (config / "tokens" / "seed-bot.token").read_text().strip()
    assert works(emulator, token) == 200
    code, out, _ = run(capsys, "plan", str(config), "--detailed-exitcode")
    assert code == 0, out


def test_a_saved_plan_checks_its_sinks_before_minting(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
) -> None:
    config = write_config(tmp_path / "cfg", emulator.base_url, auth=False)
    plan_file = tmp_path / "plan.json"
    assert run(capsys, "plan", str(config), "--out", str(plan_file))[0] == 0
    assert list((config / "tokens").iterdir()) == []  # made by the plan's preflight
    (config / "tokens").rmdir()
    (config / "tokens").write_text("a file where the sink's folder should be")
    code, out, err = run(capsys, "apply", str(plan_file), "--config", str(config))
    assert code == 1
    assert (
        f'alpha.integration["seed-bot"]: its token sink cannot be used: '
        f"{config / 'tokens'} is not a directory" in err
    )
    assert not [
        i for i in emulator.state.auth.integrations.values() if i.name == "seed-bot"
    ]


def test_every_response_is_dated_by_the_emulators_clock(
    emulator: LiveEmulator,
) -> None:
    emulator.state.clock.set(T0 + timedelta(days=91, seconds=5))
    with emulator.client(emulator.token(LOCATION_A)) as http:
        upstream = http.get(f"/locations/{LOCATION_A}/tags")
        admin = http.get("/_emulator/clock")
        refused = http.get("/contacts/x", headers={"Authorization": "Bearer nope"})
    for answer in (upstream, admin, refused):
        assert answer.headers.get_list("date") == ["Thu, 02 Apr 2026 00:00:05 GMT"]


def test_an_agency_integration_rotates_into_its_default_sink(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    emulator: LiveEmulator,
    alpha_env: None,
) -> None:
    config = write_config(tmp_path / "cfg", emulator.base_url, auth=False)
    with (config / "hlsync.yaml").open("a", encoding="utf-8") as handle:
        handle.write(
            "agency:\n  integrations:\n    ci:\n      scopes: [locations.readonly]\n"
        )
    assert run(capsys, "apply", str(config), "--auto-approve")[0] == 0
    sink = config / ".hlsync" / "tokens" / "agency.ci.token"
    first = sink.read_text().strip()
    code, out, err = run(
        capsys, "token", "rotate", "agency/ci", str(config), "--now", "--force",
        "--auto-approve", "--format", "markdown",
    )  # fmt: skip
    assert code == 0, out + err
    assert "## hlsync apply" in out and "(token: rotate now;" in err + out
    assert "New token stored (0600): " in err
    second = sink.read_text().strip()
    assert second != first
    assert emulator.state.auth.resolve(first) is None
    assert emulator.state.auth.resolve(second) is not None


def test_token_verbs_refuse_the_live_cloud_and_absent_integrations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "live"
    config.mkdir()
    (config / "hlsync.yaml").write_text(
        "version: 1\ntarget: leadconnector\nlocations:\n  main:\n"
        f"    id: {LOCATION_A}\n    token: {{env: MAIN_TOKEN}}\n"
        "    integrations:\n      bot: {scopes: [contacts.readonly]}\n"
        "      old: {scopes: [contacts.readonly], ensure: absent}\n",
        encoding="utf-8",
    )
    code, _, err = run(
        capsys, "token", "rotate", "main/bot", str(config), "--auto-approve"
    )
    assert code == 1
    assert "main/bot: on the live cloud tokens are rotated in the HighLevel UI" in err
    code, _, err = run(
        capsys, "token", "expire-old", "main/old", str(config), "--auto-approve"
    )
    assert code == 1 and "main/old is declared `ensure: absent`" in err
