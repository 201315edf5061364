"""Custom values end to end, through the installed ``hlsync`` script, on both local
targets: the embedded sandbox and ``hlsync emulator serve``.

create -> the next ``plan --detailed-exitcode`` exits 0; a value changed behind hlsync's
back is drift; a changed config value is an update; ``ensure: absent`` deletes, and only
with ``--force``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hlsync.emulator.sandbox import default_sandbox_db, open_sandbox
from tests.integration.e2e_support import Served, edit, run_hlsync, serve

pytestmark = pytest.mark.integration

LOCATION = ("main", "cvLocation0000000001", "HL_MAIN_TOKEN")
LOCATION_ID = LOCATION[1]

CONFIG = """\
version: 1
target: {target}
locations:
  main:
    id: cvLocation0000000001
    token: {{env: HL_MAIN_TOKEN}}
    custom_values:
      Booking Link: ${{BOOKING_URL:-https://book.example.com}}/main
      Brand Colour: "#0a7cff"
"""

# Reads and writes a custom value the way someone in the HighLevel UI would: straight
# through the API with the location's token. (target, method, path, body) -> JSON.
Upstream = Callable[[str, str, dict[str, Any] | None], Any]


@pytest.fixture(params=["sandbox", "serve"])
def account(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Path, dict[str, str], Upstream]]:
    """A config with two custom values, on a fresh target of each kind."""
    config = tmp_path / "cfg"
    config.mkdir()
    if request.param == "sandbox":
        (config / "hlsync.yaml").write_text(CONFIG.format(target="sandbox"))

        def in_sandbox(method: str, path: str, body: dict[str, Any] | None) -> Any:
            db = default_sandbox_db(config)
            with open_sandbox(db, [(LOCATION_ID, "main")]) as sandbox:

                async def send() -> Any:
                    token = sandbox.location_tokens[LOCATION_ID]
                    async with sandbox.client(token) as client:
                        answer = await client.request(method, path, json=body)
                        answer.raise_for_status()
                        return answer.json()

                return asyncio.run(send())

        yield config, {}, in_sandbox
        return
    with serve(tmp_path, (LOCATION,), "--burst-max", "5000") as served:
        target = f'{{url: "{served.url}"}}'
        (config / "hlsync.yaml").write_text(CONFIG.format(target=target))
        yield config, {"HL_MAIN_TOKEN": served.token(LOCATION_ID)}, _over_http(served)


def _over_http(served: Served) -> Upstream:
    def send(method: str, path: str, body: dict[str, Any] | None) -> Any:
        with served.client(LOCATION_ID) as http:
            answer = http.request(method, path, json=body)
            answer.raise_for_status()
            return answer.json()

    return send


def _values(upstream: Upstream) -> dict[str, dict[str, Any]]:
    listed = upstream("GET", f"/locations/{LOCATION_ID}/customValues", None)
    return {v["name"]: v for v in listed["customValues"]}


def _plan(config: Path, env: dict[str, str], *extra: str) -> tuple[int, str]:
    done = run_hlsync("plan", ".", "--detailed-exitcode", *extra, cwd=config, env=env)
    assert done.returncode in (0, 2), done.stdout + done.stderr
    return done.returncode, done.stdout


def _apply(config: Path, env: dict[str, str], *extra: str) -> str:
    done = run_hlsync("apply", ".", "--auto-approve", *extra, cwd=config, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_custom_values_create_drift_change_and_delete(
    account: tuple[Path, dict[str, str], Upstream],
) -> None:
    config, env, upstream = account

    assert "Apply: 2 ok, 0 failed, 0 skipped" in _apply(config, env)
    assert _plan(config, env)[0] == 0
    values = _values(upstream)
    assert {n: v["value"] for n, v in values.items()} == {
        "Booking Link": "https://book.example.com/main",
        "Brand Colour": "#0a7cff",
    }
    assert values["Brand Colour"]["fieldKey"] == "{{ custom_values.brand_colour }}"

    # Someone changes a value in the HighLevel UI (drift), and the config changes one
    # through ${VAR}: both are updates in place.
    colour = values["Brand Colour"]
    path = f"/locations/{LOCATION_ID}/customValues/{colour['id']}"
    upstream("PUT", path, {"name": "Brand Colour", "value": "red"})
    env = {**env, "BOOKING_URL": "https://cal.example.com"}
    code, changed = _plan(config, env)
    assert code == 2
    assert '  ~ main.custom_value["Brand Colour"]\n' in changed
    assert '      value: "red" -> "#0a7cff"\n' in changed
    assert '  ~ main.custom_value["Booking Link"]\n' in changed
    assert (
        '      value: "https://book.example.com/main" -> '
        '"https://cal.example.com/main"\n'
    ) in changed
    assert "Plan: 0 to add, 2 to change, 0 to destroy." in changed
    assert "Apply: 2 ok, 0 failed, 0 skipped" in _apply(config, env)
    after = _values(upstream)
    assert {n: v["value"] for n, v in after.items()} == {
        "Booking Link": "https://cal.example.com/main",
        "Brand Colour": "#0a7cff",
    }
    assert {n: v["id"] for n, v in after.items()} == {
        n: v["id"] for n, v in values.items()
    }

    # ensure: absent deletes, and only with --force.
    edit(
        config / "hlsync.yaml",
        'Brand Colour: "#0a7cff"',
        "Brand Colour: {ensure: absent}",
    )
    refused = run_hlsync("apply", ".", "--auto-approve", cwd=config, env=env)
    assert refused.returncode == 1
    assert 'main.custom_value["Brand Colour"] deleting is irreversible' in (
        refused.stderr
    )
    assert "Brand Colour" in _values(upstream)
    assert "Apply: 1 ok, 0 failed, 0 skipped" in _apply(config, env, "--force")
    assert set(_values(upstream)) == {"Booking Link"}
    assert _plan(config, env)[0] == 0
