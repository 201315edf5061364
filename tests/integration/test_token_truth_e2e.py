"""The truth about tokens does not depend on local files (issue 9, item 3).

Through the installed ``hlsync`` against ``hlsync emulator serve``:

* a token lost after an apply (its sink deleted: a fresh runner, a crash between mint
  and sink) or revoked behind hlsync's back is a planned repair: ``plan
  --detailed-exitcode`` exits 2 naming it, apply (no ``--force``) rotates now into the
  sink, the sink's token works and the next plan is clean;
* a location seeding with an integration whose sink was deleted makes no request with
  the location's own token: the repair runs first, then everything uses the new token;
* ``revoke_issued_before`` rotates every token issued before the instant exactly once,
  without any journal, and a second apply does nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hlsync.tokens.rotation import iso, parse_time
from hlsync.upstream.tls import tls_context
from tests.integration.e2e_support import (
    VERSION,
    Served,
    apply_ok,
    run_hlsync,
    serve,
)

pytestmark = pytest.mark.integration

ALPHA = ("alpha", "tTruthLocAlpha0000001", "ALPHA_TOKEN")
SINK = "tokens/bot.token"


def write_config(folder: Path, url: str, *, auth: str = "", policy: str = "") -> Path:
    """One location with the integration ``bot`` (its token in ``tokens/bot.token``),
    a tag and a contact; ``auth``: the location's ``auth:`` line; ``policy``: more
    ``token:`` lines."""
    folder.mkdir(exist_ok=True)
    lines = [
        "version: 1",
        f'target: {{url: "{url}"}}',
        "locations:",
        "  alpha:",
        f"    id: {ALPHA[1]}",
        "    token: {env: ALPHA_TOKEN}",
        *([f"    auth: {auth}"] if auth else []),
        "    integrations:",
        "      bot:",
        "        scopes: [contacts.readonly, contacts.write, locations/tags.readonly,"
        " locations/tags.write]",
        "        token:",
        f"          sink: {{file: {SINK}}}",
        *([f"          {policy}"] if policy else []),
        "    tags: [vip]",
        "    contacts:",
        "      - firstName: Ann",
        "        email: ann@example.com",
        "        tags: [vip]",
    ]
    (folder / "hlsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path, (ALPHA,)) as running:
        yield running


def admin(served: Served) -> httpx.Client:
    return httpx.Client(
        base_url=served.url,
        headers={"Version": VERSION},
        timeout=30,
        verify=tls_context(),
    )


def integrations(served: Served) -> dict[str, dict[str, Any]]:
    with admin(served) as http:
        answer = http.get("/_emulator/integrations", params={"locationId": ALPHA[1]})
    return {i["name"]: i for i in answer.json()["integrations"]}


def works(served: Served, token: str) -> int:
    """The status of a contacts search made with ``token``."""
    with admin(served) as http:
        answer = http.post(
            "/contacts/search",
            json={"locationId": ALPHA[1], "pageLimit": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
    return answer.status_code


def plan(config: Path, env: dict[str, str]) -> tuple[int, str]:
    done = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config, env=env)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout + done.stderr


def test_a_lost_token_is_a_planned_repair(tmp_path: Path, served: Served) -> None:
    config = write_config(tmp_path / "cfg", served.url)
    env = {"ALPHA_TOKEN": served.token(ALPHA[1])}
    apply_ok(config, env)
    sink = config / SINK
    first = sink.read_text().strip()
    assert plan(config, env)[0] == 0

    sink.unlink()  # a fresh runner, or a run killed between mint and sink
    code, out = plan(config, env)
    assert code == 2, out
    assert '~ alpha.integration["bot"]  (token: rotate now' in out, out
    assert f"why: repair: its sink (file {SINK}) holds no token" in out
    assert "needs --force" not in out
    assert first not in out

    done = apply_ok(config, env)  # no --force: nobody holds the lost token
    assert f"token stored in file {SINK}" in done
    second = sink.read_text().strip()
    assert second != first
    assert works(served, second) == 200
    assert works(served, first) == 401
    assert plan(config, env) == (
        0,
        "No changes. The account matches the configuration.\n",
    )

    # revoked behind hlsync's back: the sink still holds a token, but not a live one
    with admin(served) as http:
        bot = integrations(served)["bot"]["id"]
        rotated = http.post(
            f"/_emulator/integrations/{bot}/rotate", json={"mode": "now"}
        )
        assert rotated.status_code == 201
    code, out = plan(config, env)
    assert code == 2, out
    assert (
        f"why: repair: the sink's token (file {SINK}) is not this integration's "
        "current token (revoked, or replaced by a token that was never stored)" in out
    )
    apply_ok(config, env)
    assert works(served, sink.read_text().strip()) == 200
    assert plan(config, env)[0] == 0


def test_revoke_issued_before_rotates_once_without_any_journal(
    tmp_path: Path, served: Served
) -> None:
    env = {"ALPHA_TOKEN": served.token(ALPHA[1])}
    first_runner = write_config(tmp_path / "first", served.url)
    apply_ok(first_runner, env)
    leaked = (first_runner / SINK).read_text().strip()
    created = integrations(served)["bot"]["createdAt"]
    with admin(served) as http:  # an hour later on the upstream's clock
        assert http.post("/_emulator/clock", json={"advance": 3600}).is_success
    born = parse_time(created)
    assert born is not None
    instant = iso(born + timedelta(minutes=30))

    # a fresh runner: the config from git and the token from its secret store (the
    # sink), but no journal
    fresh = write_config(
        tmp_path / "fresh", served.url, policy=f"revoke_issued_before: {instant}"
    )
    (fresh / SINK).parent.mkdir()
    (fresh / SINK).write_text(leaked + "\n")
    code, out = plan(fresh, env)
    assert code == 2, out
    assert '~ alpha.integration["bot"]  (token: rotate now' in out
    assert f"before revoke_issued_before {instant}" in out
    assert "needs --force" in out
    done = run_hlsync("apply", ".", "--auto-approve", "--force", cwd=fresh, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    new = (fresh / SINK).read_text().strip()
    assert works(served, leaked) == 401 and works(served, new) == 200
    rotated = integrations(served)["bot"]["rotatedAt"]

    assert (fresh / "hlsync.journal.jsonl").is_file()
    for keep_journal in (True, False):  # the next runs, with and without a journal
        if not keep_journal:
            (fresh / "hlsync.journal.jsonl").unlink()
        done = run_hlsync("apply", ".", "--auto-approve", "--force", cwd=fresh, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("No changes."), done.stdout
    assert integrations(served)["bot"]["rotatedAt"] == rotated
    assert works(served, new) == 200


def requests_by(served: Served) -> list[dict[str, Any]]:
    """The emulator's request log: every upstream (not admin) request."""
    with admin(served) as http:
        entries = http.get("/_emulator/requests").json()["requests"]
    return [e for e in entries if not e["path"].startswith("/_emulator")]


def test_a_seeding_location_never_falls_back_to_its_own_token(
    tmp_path: Path, served: Served
) -> None:
    env = {"ALPHA_TOKEN": served.token(ALPHA[1])}
    config = write_config(tmp_path / "cfg", served.url, auth="{integration: bot}")
    apply_ok(config, env)  # bot is created with the location token, then seeds
    bootstrap = integrations(served)["emulator-bootstrap"]["id"]
    with admin(served) as http:
        assert http.delete("/_emulator/requests").is_success
    (config / SINK).unlink()  # a fresh runner; ALPHA_TOKEN is still there
    text = (config / "hlsync.yaml").read_text(encoding="utf-8")
    (config / "hlsync.yaml").write_text(text.replace("Ann", "Anna"), encoding="utf-8")

    code, out = plan(config, env)
    assert code == 2, out
    assert '~ alpha.integration["bot"]  (token: rotate now' in out
    assert "Warning: alpha: not read: its calls use bot's token (auth)" in out
    assert "contact" not in out.split("Warning")[0]  # the rest comes after the repair

    done = run_hlsync("apply", ".", "--auto-approve", cwd=config, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "alpha: the seeding token is repaired; the rest, read with it:" in done.stdout
    )
    assert '~ alpha.contact["ann@example.com"]' in done.stdout
    assert "Apply: 2 ok, 0 failed, 0 skipped" in done.stdout
    token = (config / SINK).read_text().strip()
    every = requests_by(served)
    # the apply lock's lease (this config declares no custom values) is the one thing
    # written with the location's own token, by design (README: the apply lock)
    lease = [e for e in every if "/customValues" in e["path"]]
    assert lease and {e["integrationId"] for e in lease} == {bootstrap}
    log = [e for e in every if e not in lease]
    assert log and not [e for e in log if e["integrationId"] == bootstrap]
    bot = integrations(served)["bot"]["id"]
    assert {e["integrationId"] for e in log} == {bot}
    writes = {e["route"] for e in log if e["method"] in ("POST", "PUT")}
    assert writes - {"POST /contacts/search"}, writes  # Anna was written, by bot
    assert works(served, token) == 200
    assert plan(config, env)[0] == 0

    # the deliberate opt-out: the location's own token, with a warning on every plan
    edited = (
        (config / "hlsync.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "auth: {integration: bot}",
            "auth: {integration: bot, fallback: location-token}",
        )
    )
    (config / "hlsync.yaml").write_text(edited, encoding="utf-8")
    code, out = plan(config, env)
    assert code == 0, out
    assert out.startswith(
        "Warning: alpha: auth fallback: location-token: whenever bot's token is "
        "unavailable, the location's own token reads and writes it instead "
        "(least privilege is not kept)\n"
    )
