"""``export_config`` in-process against a live emulator: what an export writes, keeps,
removes and refuses (the installed command's proofs are in test_e2e_export.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from hlsync.adopt.export import ExportResult, export_config
from hlsync.config.loader import load_config
from hlsync.errors import HlsyncError
from hlsync.kinds.base import ContactSelection
from hlsync.kinds.integration import fold_scopes
from tests.emulator_fixtures import LOCATION_A, LiveEmulator

pytestmark = pytest.mark.integration

TOKEN = "HL_ALPHA_TOKEN"
SOURCE = """\
version: 1
target: {{url: "{url}"}}
scope_sets:
  crm-read: {{scopes: [contacts.readonly, locations/tags.readonly]}}
  crm-write: {{include: [crm-read], scopes: [contacts.write]}}
{extra}locations:
  alpha:
    id: {location}
    token: {{env: {token}}}
"""


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> None:
    http.post(path, json=body).raise_for_status()


@pytest.fixture
def account(emulator: LiveEmulator, monkeypatch: pytest.MonkeyPatch) -> LiveEmulator:
    """Location A with a little of everything, and its token in the environment."""
    monkeypatch.setenv(TOKEN, emulator.token(LOCATION_A))
    base = f"/locations/{LOCATION_A}"
    with emulator.client() as admin:
        body = {"name": "zap", "locationId": LOCATION_A, "description": "Zapier"}
        scopes = ["contacts.readonly", "locations/tags.readonly", "contacts.write"]
        _post(admin, "/_emulator/integrations", {**body, "scopes": scopes})
        admin.post("/_emulator/clock", json={"set": "2026-05-04T12:00:00Z"})
    with emulator.client(emulator.token(LOCATION_A)) as http:
        _post(http, f"{base}/customFields", {"name": "Pin code", "dataType": "TEXT"})
        _post(http, f"{base}/customFields", {"name": "Mail", "dataType": "EMAIL"})
        _post(http, f"{base}/tags", {"name": "vip"})
        _post(http, f"{base}/customValues", {"name": "Promo", "value": "${X}"})
        for n, tag in enumerate(("vip", "vip", "other")):
            contact = {"locationId": LOCATION_A, "email": f"p{n}@example.com"}
            _post(http, "/contacts/", {**contact, "tags": [tag]})
        _post(http, "/contacts/", {"locationId": LOCATION_A, "firstName": "Nobody"})
    return emulator


def _source(tmp_path: Path, emulator: LiveEmulator, extra: str = "") -> Path:
    path = tmp_path / "src" / "hlsync.yaml"
    path.parent.mkdir(exist_ok=True)
    text = SOURCE.format(
        url=emulator.base_url, location=LOCATION_A, token=TOKEN, extra=extra
    )
    path.write_text(text, encoding="utf-8")
    return path


def _export(source: Path, out: Path, **options: Any) -> ExportResult:
    return export_config(load_config(source), out, **options)


def test_scopes_fold_into_the_largest_sets_that_fit() -> None:
    sets = {
        "read": frozenset({"a", "b"}),
        "write": frozenset({"a", "b", "c"}),
        "other": frozenset({"d", "e"}),
        "empty": frozenset(),
    }
    assert fold_scopes(frozenset({"a", "b", "c", "x"}), sets) == (["write"], ["x"])
    assert fold_scopes(frozenset({"a", "b", "d", "e"}), sets) == (
        ["other", "read"],
        [],
    )
    assert fold_scopes(frozenset({"a"}), sets) == ([], ["a"])


def test_an_export_folds_scopes_escapes_text_and_leaves_out_what_it_cannot_say(
    tmp_path: Path, account: LiveEmulator
) -> None:
    out = tmp_path / "out"
    result = _export(_source(tmp_path, account), out, contacts=ContactSelection())
    alpha = yaml.safe_load((out / "locations.yaml").read_text())["locations"]["alpha"]
    assert alpha["integrations"]["zap"]["scope_sets"] == ["crm-write"]
    assert "scopes" not in alpha["integrations"]["zap"]
    assert list(alpha["custom_fields"]) == ["pin_code"]  # EMAIL: no config type
    assert alpha["custom_values"] == {"Promo": "$${X}"}
    assert alpha["contacts_from"] == "contacts/alpha.jsonl"
    assert result.contacts == {"alpha": 3}
    assert any("'Mail' (contact.mail, EMAIL) left out" in w for w in result.warnings)
    assert any("1 contact(s) without email or phone" in w for w in result.warnings)
    assert load_config(out).locations[0].custom_values[0].value == "${X}"


def test_contacts_by_filter_and_limit(tmp_path: Path, account: LiveEmulator) -> None:
    out = tmp_path / "out"
    selection = ContactSelection((("tags", "vip"),), limit=1)
    assert _export(_source(tmp_path, account), out, contacts=selection).contacts == {
        "alpha": 1
    }
    assert (out / "contacts" / "alpha.jsonl").read_text().count("\n") == 1


def test_the_date_moves_only_with_the_content(
    tmp_path: Path, account: LiveEmulator
) -> None:
    source, out = _source(tmp_path, account), tmp_path / "out"
    first = _export(source, out)
    assert {p.name for p in first.written} == {"hlsync.yaml", "locations.yaml"}
    with account.client() as admin:
        admin.post("/_emulator/clock", json={"set": "2027-01-02T00:00:00Z"})
    assert _export(source, out).written == ()  # a later day, the same account
    with account.client(account.token(LOCATION_A)) as http:
        _post(http, f"/locations/{LOCATION_A}/tags", {"name": "new"})
    changed = _export(source, out)
    assert [p.name for p in changed.written] == ["locations.yaml"]
    assert "on 2027-01-02" in (out / "locations.yaml").read_text()
    assert "on 2026-05-04" in (out / "hlsync.yaml").read_text()


def test_a_template_export_and_back_removes_its_template_only(
    tmp_path: Path, account: LiveEmulator
) -> None:
    source, out = _source(tmp_path, account), tmp_path / "out"
    _export(source, out, template="gym")
    (out / ".hlsync").mkdir()
    (out / "notes.txt").write_text("mine")
    plain = _export(source, out)
    assert [p.name for p in plain.removed] == ["templates.yaml"]
    assert (out / "notes.txt").read_text() == "mine" and (out / ".hlsync").is_dir()
    with pytest.raises(HlsyncError, match="template name"):
        _export(source, out, template="Gym!")


def test_a_folder_with_files_an_export_did_not_write_is_refused(
    tmp_path: Path, account: LiveEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.yaml").write_text("version: 1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HlsyncError, match="did not write: out/mine.yaml"):
        _export(_source(tmp_path, account), Path("out"))
    assert sorted(p.name for p in out.iterdir()) == ["mine.yaml"]


def test_a_token_in_the_account_stops_the_export_before_it_writes(
    tmp_path: Path, account: LiveEmulator
) -> None:
    leaked = "pit-12345678-1234-1234-1234-123456789abc"
    with account.client(account.token(LOCATION_A)) as http:
        _post(
            http,
            f"/locations/{LOCATION_A}/customValues",
            {"name": "Oops", "value": leaked},
        )
    out = tmp_path / "out"
    with pytest.raises(HlsyncError) as caught:
        _export(_source(tmp_path, account), out)
    assert "token-shaped" in str(caught.value) and leaked not in str(caught.value)
    assert not out.exists()


def test_an_account_that_breaks_the_source_policy_fails_validation(
    tmp_path: Path, account: LiveEmulator
) -> None:
    policy = "policy: {max_scopes: 2}\n"
    with pytest.raises(HlsyncError) as caught:
        _export(_source(tmp_path, account, policy), tmp_path / "out")
    text = str(caught.value)
    assert "does not validate" in text and "max_scopes" in text


def test_template_export_needs_one_location(
    tmp_path: Path, account: LiveEmulator
) -> None:
    config = load_config(_source(tmp_path, account))
    two = dataclasses.replace(config, locations=config.locations * 2)
    with pytest.raises(HlsyncError, match="one golden location"):
        export_config(two, tmp_path / "o", template="t")
    assert not (tmp_path / "o").exists()
