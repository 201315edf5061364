"""Helpers for the end-to-end tests: the installed ``hlsync`` script in subprocesses.

Every run happens in a temporary copy of an example (its committed files only:
``tests.examples_copy``), so nothing is written into the repository (the sandbox
database and minted tokens land beside the copied config).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hlsync.config.loader import load_config
from hlsync.emulator.sandbox import BURST_MAX_VARIABLE
from hlsync.upstream.tls import tls_context
from tests.examples_copy import EXAMPLES as EXAMPLES
from tests.examples_copy import copy_example as copy_example

REPO = Path(__file__).resolve().parents[2]
HLSYNC = Path(sys.executable).parent / "hlsync"
VERSION = "2021-07-28"

# examples/agency's locations: (config name, HighLevel id, token variable or None=file)
AGENCY_LOCATIONS = (
    ("downtown", "agDowntown00000000001", "HL_DOWNTOWN_TOKEN"),
    ("lakeside", "agLakeside00000000002", None),
    ("uptown", "agUptown0000000000003", "HL_UPTOWN_TOKEN"),
)
QUICKSTART_LOCATION = ("main", "qs7LocAtion0000000001", "HLSYNC_QUICKSTART_TOKEN")
# The sandbox paces requests like upstream (100 per 10 s); no end-to-end test is about
# rate limits, so every run raises its burst budget (a test-only variable, the twin of
# the served emulator's --burst-max 5000). Pacing itself: test_client_emulator.py.
FAST_SANDBOX = {BURST_MAX_VARIABLE: "5000"}


def hermetic_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without HLSYNC_* settings, plus FAST_SANDBOX and ``env``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("HLSYNC_")}
    full.update(FAST_SANDBOX)
    full.update(env or {})
    return full


def run_hlsync(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``hlsync ARGS`` in ``cwd`` in :func:`hermetic_env` (``env`` added)."""
    return subprocess.run(
        [str(HLSYNC), *args],
        cwd=cwd,
        env=hermetic_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in ``path`` (fails loudly otherwise)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def normalize_target(text: str) -> str:
    """The plan text with the target (sandbox or an emulator URL) as ``<target>``."""
    return re.sub(
        r"^hlsync will make these changes to \S+:$",
        "hlsync will make these changes to <target>:",
        text,
        flags=re.MULTILINE,
    )


@dataclass(slots=True)
class Served:
    """A running ``hlsync emulator serve`` and its bootstrap credentials."""

    url: str
    credentials: dict[str, Any]

    def token(self, location_id: str) -> str:
        for loc in self.credentials["locations"]:
            if loc["id"] == location_id:
                return str(loc["token"])
        raise KeyError(location_id)

    def client(self, location_id: str | None = None) -> httpx.Client:
        """A sync client; with a location id it carries that location's token."""
        headers = {"Version": VERSION}
        if location_id is not None:
            headers["Authorization"] = f"Bearer {self.token(location_id)}"
        return httpx.Client(
            base_url=self.url, headers=headers, timeout=30, verify=tls_context()
        )

    def find_contact(self, location_id: str, email: str) -> dict[str, Any]:
        with self.client(location_id) as http:
            answer = http.get(
                "/contacts/search/duplicate",
                params={"locationId": location_id, "email": email},
            )
            answer.raise_for_status()
            contact = answer.json()["contact"]
        assert contact is not None, email
        return dict(contact)

    def update_contact(
        self, location_id: str, contact_id: str, body: Mapping[str, Any]
    ) -> None:
        """A change made behind hlsync's back (as someone in the HighLevel UI would)."""
        with self.client(location_id) as http:
            http.put(f"/contacts/{contact_id}", json=dict(body)).raise_for_status()


@contextmanager
def serve(
    tmp: Path, locations: tuple[tuple[str, str, str | None], ...], *flags: str
) -> Iterator[Served]:
    """Run ``hlsync emulator serve --port 0`` with ``locations``; SIGTERM at the end."""
    tokens_file = tmp / "emulator-tokens.json"
    command = [str(HLSYNC), "emulator", "serve", "--port", "0"]
    command += ["--tokens-file", str(tokens_file), *flags]
    for name, location_id, _ in locations:
        command += ["--location", f"{location_id}:{name}"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            prefix = "hlsync emulator listening on "
            assert line.startswith(prefix), line
            credentials = json.loads(tokens_file.read_text(encoding="utf-8"))
            yield Served(line[len(prefix) :].strip(), credentials)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def point_at(
    config: Path,
    served: Served,
    locations: tuple[tuple[str, str, str | None], ...],
    main_file: str = "hlsync.yaml",
) -> dict[str, str]:
    """Aim the copied config at ``served``; return the token environment for it.

    Locations whose token reference is a variable get it in the returned environment;
    the agency example's lakeside reads ``secrets/lakeside.token``, which is written.
    """
    edit(config / main_file, "target: sandbox\n", f'target: {{url: "{served.url}"}}\n')
    env: dict[str, str] = {}
    for name, location_id, variable in locations:
        if variable is None:
            secret = config / "secrets" / f"{name}.token"
            secret.parent.mkdir(exist_ok=True)
            secret.write_text(served.token(location_id) + "\n", encoding="utf-8")
        else:
            env[variable] = served.token(location_id)
    return env


def apply_ok(config: Path, env: Mapping[str, str] | None = None) -> str:
    """``hlsync apply --auto-approve`` that must succeed; its stdout."""
    done = run_hlsync("apply", ".", "--auto-approve", cwd=config, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert " 0 failed, 0 skipped" in done.stdout
    return done.stdout


NO_CHANGES = "No changes. The account matches the configuration.\n"


def options_unset(address: str, options: Sequence[str]) -> str:
    """The plan's warning for a picklist whose options the upstream lacks."""
    return (
        f"Warning: {address}: options [{', '.join(options)}] are not set upstream "
        "(HighLevel's API cannot write picklist options); set them in the HighLevel "
        "UI (Settings > Custom Fields)"
    )


def converged_text(config: Path) -> str:
    """What ``plan`` prints once ``config`` is applied: no changes, after a warning
    for each declared picklist (the API cannot write options; they stay unset)."""
    warnings = [
        options_unset(f'{spec.name}.custom_field["{field.key}"]', field.options)
        for spec in load_config(config, env={}).locations
        for field in spec.custom_fields
        if field.options and field.ensure == "present"
    ]
    return "".join(f"{w}\n" for w in warnings) + ("\n" if warnings else "") + NO_CHANGES


def assert_converged(config: Path, env: Mapping[str, str] | None = None) -> None:
    """The next ``plan --detailed-exitcode`` says there are no changes and exits 0."""
    done = run_hlsync("plan", ".", "--detailed-exitcode", cwd=config, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == converged_text(config)


def change_three(config: Path) -> None:
    """examples/agency with one contact field, one integration scope, one new contact."""
    locations = config / "locations.yaml"
    edit(locations, "        lastName: Novak\n", "        lastName: Novakova\n")
    edit(
        locations,
        "        scopes: [contacts.readonly]\n",
        "        scopes: [contacts.readonly, locations/tags.readonly]\n",
    )
    text = locations.read_text(encoding="utf-8")
    assert text.endswith("          membership: silver\n")
    locations.write_text(
        text
        + "      - firstName: Lena\n"
        + "        lastName: Fischer\n"
        + "        email: lena.fischer@example.org\n",
        encoding="utf-8",
    )
