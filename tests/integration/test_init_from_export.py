"""``hlsync init --from-export`` in-process against a live emulator: the config it
writes (the export plus a least-privilege seed-bot per location), and the refusals
that look at the folder or the account, each leaving nothing behind (the flags'
refusals: tests/unit/test_init.py). The installed command's run (init, validate,
plan) is in test_e2e_export.py."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from hlsync.config.loader import load_config
from hlsync.resources import schema_path
from hlsync.upstream.client import RetryPolicy
from tests.emulator_fixtures import LOCATION_A, LOCATION_B, LiveEmulator
from tests.init_support import files_under, run_init

pytestmark = pytest.mark.integration

SEEDING = ["contacts.readonly", "contacts.write"]


@pytest.fixture(autouse=True)
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO())


def _closed_port() -> str:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def accounts(emulator: LiveEmulator, monkeypatch: pytest.MonkeyPatch) -> LiveEmulator:
    """Alpha holds two tags and a custom value; Bravo only an integration named
    seed-bot (made by someone else). Both tokens are in the environment."""
    monkeypatch.setenv("HL_ALPHA_TOKEN", emulator.token(LOCATION_A))
    monkeypatch.setenv("HL_BRAVO_TOKEN", emulator.token(LOCATION_B))
    base = f"/locations/{LOCATION_A}"
    with emulator.client(emulator.token(LOCATION_A)) as http:
        for name in ("vip", "newsletter"):
            http.post(f"{base}/tags", json={"name": name}).raise_for_status()
        value = {"name": "Booking link", "value": "https://book.example.com"}
        http.post(f"{base}/customValues", json=value).raise_for_status()
    with emulator.client() as admin:
        bot = {
            "name": "seed-bot",
            "locationId": LOCATION_B,
            "description": "Someone else's",
            "scopes": ["contacts.readonly"],
        }
        admin.post("/_emulator/integrations", json=bot).raise_for_status()
    return emulator


def test_the_export_gets_a_seed_bot_with_only_the_scopes_its_location_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], accounts: LiveEmulator
) -> None:
    folder = tmp_path / "cfg"
    code, out, err = run_init(
        folder,
        f"--location=alpha={LOCATION_A}",
        f"--location=bravo={LOCATION_B}",
        f"--target={accounts.base_url}",
        "--from-export",
        "--ci=none",
        capsys=capsys,
    )
    assert (code, err) == (0, ""), err
    assert files_under(folder) == [".gitignore", "hlsync.yaml", "locations.yaml"]
    assert out.splitlines()[:5] == [
        "hlsync init wrote:",
        f"  {folder}/hlsync.yaml",
        f"  {folder}/locations.yaml",
        f"  {folder}/.gitignore",
        "Next:",
    ]
    assert (
        "    (only seed-bot to create in alpha, the least-privilege integration the "
        "config writes with; the rest is what the account holds)"
    ) in out
    assert (
        "    (bravo's account has a seed-bot already: kept as exported, and bravo "
        "writes with its own token)"
    ) in out
    written = out + "".join(p.read_text() for p in folder.iterdir() if p.is_file())
    assert not any(t in written for t in accounts.location_tokens.values())

    head = (folder / "hlsync.yaml").read_text()
    prefix = "# yaml-language-server: $schema="
    schema = folder / head.splitlines()[0].removeprefix(prefix)
    assert schema.resolve() == schema_path("config.schema.json").resolve()
    assert yaml.safe_load(head)["scope_sets"] == {
        "seeding": {"description": "Read and write contacts", "scopes": SEEDING}
    }

    state = load_config(folder)
    alpha, bravo = state.locations
    assert (alpha.auth_integration, bravo.auth_integration) == ("seed-bot", None)
    assert sorted(t.name for t in alpha.tags) == ["newsletter", "vip"]
    (alpha_bot,) = alpha.integrations
    assert sorted(alpha_bot.scopes) == [
        *SEEDING,
        "locations/customValues.readonly",
        "locations/customValues.write",
        "locations/tags.readonly",
        "locations/tags.write",
    ]
    assert alpha_bot.token.rotate_every is not None
    (bravo_bot,) = bravo.integrations  # the account's, as exported
    assert (bravo_bot.name, sorted(bravo_bot.scopes)) == (
        "seed-bot",
        ["contacts.readonly"],
    )
    raw = yaml.safe_load((folder / "locations.yaml").read_text())["locations"]
    assert list(raw["alpha"])[:4] == ["id", "token", "auth", "integrations"]
    assert raw["alpha"]["integrations"]["seed-bot"]["token"]["sink"] == {
        "file": ".hlsync/tokens/alpha.seed-bot.token"
    }
    assert "auth" not in raw["bravo"]


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries do not wait (an unreachable target is tried 5 times)."""
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, retry: 0.0)


@pytest.mark.usefixtures("no_backoff")
@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "locations.yaml",
            "error: hlsync init does not overwrite files: {folder}/locations.yaml "
            "already exists",
        ),
        (
            "notes.yml",
            "error: hlsync init --from-export: {folder}/notes.yml would become part "
            "of the exported config (a config folder's YAML files are all read)",
        ),
    ],
)
def test_a_folder_it_would_spoil_is_refused_before_the_account_is_read(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    message: str,
) -> None:
    monkeypatch.setenv("HL_MAIN_TOKEN", "not-read")
    (tmp_path / name).write_text("mine\n")
    code, out, err = run_init(
        tmp_path,
        "--location=main=abc",
        f"--target={_closed_port()}",  # read first, this would be another error
        "--from-export",
        capsys=capsys,
    )
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == message.format(folder=tmp_path)
    assert files_under(tmp_path) == [name]
    assert (tmp_path / name).read_text() == "mine\n"


@pytest.mark.usefixtures("no_backoff")
@pytest.mark.parametrize("failure", ["bad-token", "unreachable"])
def test_an_account_that_cannot_be_read_leaves_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    emulator: LiveEmulator,
    failure: str,
) -> None:
    token = emulator.token(LOCATION_B)  # another location's: refused for alpha
    url = emulator.base_url if failure == "bad-token" else _closed_port()
    monkeypatch.setenv("HL_ALPHA_TOKEN", token)
    folder = tmp_path / "new" / "cfg"
    code, out, err = run_init(
        folder,
        f"--location=alpha={LOCATION_A}",
        f"--target={url}",
        "--from-export",
        capsys=capsys,
    )
    assert (code, out) == (1, "")
    first, *hints = err.splitlines()
    if failure == "bad-token":
        assert first.startswith(f"error: GET /locations/{LOCATION_A}/")
        assert "-> 40" in first
    else:
        assert first.startswith("error: POST /_emulator/token-owner -> no answer")
    assert len(hints) == 1 and hints[0].endswith("; nothing was written")
    assert token not in err
    assert list(tmp_path.iterdir()) == []


def test_on_a_terminal_the_target_asked_for_is_an_account(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    accounts: LiveEmulator,
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    answers: Iterator[str] = iter(
        ["", "sandbox", accounts.base_url, "alpha", LOCATION_A, "", "none"]
    )
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("builtins.input", ask)
    code, _, err = run_init(tmp_path, "--from-export", capsys=capsys)
    assert code == 0, err
    target = (
        "Target of the account to adopt: leadconnector (your HighLevel account) "
        "or an emulator URL: "
    )
    assert prompts[:3] == [target] * 3
    assert "target '': not a target" in err
    assert "target sandbox: --from-export adopts an existing account" in err
    assert load_config(tmp_path).locations[0].auth_integration == "seed-bot"
