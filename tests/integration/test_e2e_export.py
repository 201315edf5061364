"""Adoption end to end, through the installed ``hlsync`` against ``hlsync emulator
serve`` (issue 11): an account filled behind hlsync's back exports to a config that
plans clean, a golden location stamps an empty one, what the config does not manage
is listed, or pruned behind ``--force``, and ``hlsync init --from-export`` adopts an
account with only its seeding integration left to create.

The accounts are filled over HTTP (upstream routes and the emulator's admin API),
not by hlsync: the few hlsync runs are the ones the proofs need.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.integration.e2e_support import Served, run_hlsync, serve

pytestmark = pytest.mark.integration

FAST = ("--burst-max", "10000")
GOLDEN = ("golden", "expGolden00000000001", "HL_GOLDEN_TOKEN")
FRESH = ("fresh", "expFresh000000000002", "HL_FRESH_TOKEN")
# PATH and the export are both one folder down: the modeline's path is kept right
SCHEMA = "# yaml-language-server: $schema=../../schemas/config.schema.json\n"
# 20 fields of mixed types; option types get no options (upstream's API writes none)
FIELD_TYPES = (
    "TEXT",
    "LARGE_TEXT",
    "NUMERICAL",
    "PHONE",
    "MONETORY",
    "CHECKBOX",
    "SINGLE_OPTIONS",
    "MULTIPLE_OPTIONS",
    "DATE",
    "RADIO",
)


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = http.post(path, json=body)
    assert answer.status_code in (200, 201), answer.text
    data: dict[str, Any] = answer.json()
    return data


def fill(
    served: Served,
    location_id: str,
    *,
    integrations: int,
    fields: int,
    values: int,
    tags: int,
    contacts: int,
) -> None:
    """Fill a location as people and other tools would, without hlsync."""
    with served.client() as admin:
        scopes = [
            ["contacts.readonly", "locations/tags.readonly"],
            ["contacts.readonly", "contacts.write"],
            ["locations/customValues.readonly", "calendars.readonly"],
        ]
        for n in range(integrations):
            _post(
                admin,
                "/_emulator/integrations",
                {
                    "name": f"partner-{n}",
                    "description": f"Partner sync {n}",
                    "locationId": location_id,
                    "scopes": scopes[n % len(scopes)],
                },
            )
    base = f"/locations/{location_id}"
    with served.client(location_id) as http:
        ids: dict[str, tuple[str, str]] = {}
        for n in range(fields):
            kind = FIELD_TYPES[n % len(FIELD_TYPES)]
            body = {"name": f"Field {n} {kind.title()}", "dataType": kind}
            if n % 4 == 0:
                body["placeholder"] = f"e.g. {n}"
            found = _post(http, f"{base}/customFields", body)["customField"]
            ids[found["fieldKey"]] = (found["id"], kind)
        for n in range(values):
            value = f"https://book.example.com/{location_id}/{n}"
            if n == 0:
                value = "Use ${COUPON} at checkout"  # upstream text, not a variable
            _post(http, f"{base}/customValues", {"name": f"Value {n}", "value": value})
        for n in range(tags):
            _post(http, f"{base}/tags", {"name": f"tag-{n:02d}"})
        for n in range(contacts):
            _post(http, "/contacts/", _contact(location_id, n, tags, ids))


def _contact(
    location_id: str, n: int, tags: int, fields: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "locationId": location_id,
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
        "email": f"Person{n}@Example.com",
        "country": "US",
        "source": "web form" if n % 2 else "import",
        "tags": [f"tag-{n % tags:02d}", f"tag-{(n * 7) % tags:02d}"],
    }
    if n % 3 == 0:
        body["phone"] = f"+1202555{n:04d}"
    if n % 50 == 0:
        body["dnd"] = True
    values = []
    for _key, (field_id, kind) in sorted(fields.items())[: 1 + n % 5]:
        values.append({"id": field_id, "field_value": _value(kind, n)})
    body["customFields"] = values
    return body


def _value(kind: str, n: int) -> Any:
    if kind in ("NUMERICAL", "MONETORY"):
        return n * 1.5
    if kind == "DATE":
        return f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}"
    if kind in ("CHECKBOX", "MULTIPLE_OPTIONS"):
        return ["a", "b"] if n % 2 else ["c"]
    if kind == "PHONE":
        return f"+1312555{n:04d}"
    return f"value {n}"


def source(folder: Path, served: Served, *locations: tuple[str, str, str]) -> Path:
    """A config naming only the target and the locations (ids and tokens)."""
    folder.mkdir(parents=True)
    lines = [SCHEMA, "version: 1\n"]
    lines.append(f'target: {{url: "{served.url}"}}\nlocations:\n')
    for name, location_id, variable in locations:
        lines.append(f"  {name}:\n    id: {location_id}\n")
        lines.append(f"    token: {{env: {variable}}}\n")
    path = folder / "hlsync.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def files(folder: Path) -> dict[str, bytes]:
    """Every file an export wrote, by path under ``folder``."""
    found = sorted(folder.rglob("*.yaml")) + sorted(folder.rglob("*.jsonl"))
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in found}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, dict[str, str]]]:
    with serve(tmp_path, (GOLDEN, FRESH), *FAST) as running:
        env = {var: running.token(loc) for _, loc, var in (GOLDEN, FRESH)}
        with running.client() as admin:  # a fixed day for the exports' header
            clock = {"set": "2026-05-04T12:00:00Z"}
            admin.post("/_emulator/clock", json=clock).raise_for_status()
        yield running, env


def test_a_filled_account_exports_plans_clean_and_exports_the_same_bytes(
    tmp_path: Path, served: tuple[Served, dict[str, str]]
) -> None:
    emulator, env = served
    fill(
        emulator,
        GOLDEN[1],
        integrations=3,
        fields=20,
        values=10,
        tags=15,
        contacts=500,
    )
    path = source(tmp_path / "bootstrap", emulator, GOLDEN)

    done = run_hlsync(
        "export", str(path), "--out", "adopted", "--contacts", cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "export: wrote adopted/contacts/golden.jsonl (500 contacts)" in done.stdout
    exported = files(tmp_path / "adopted")
    assert sorted(exported) == [
        "contacts/golden.jsonl",
        "hlsync.yaml",
        "locations.yaml",
    ]
    everything = b"".join(exported.values()).decode()
    assert not any(token in everything for token in env.values())
    assert "pit-" not in everything and "pit-" not in done.stdout + done.stderr
    head = exported["hlsync.yaml"].decode()
    assert head.startswith(SCHEMA)
    assert f"from {emulator.url} on 2026-05-04 (the upstream's date)" in head
    golden = yaml.safe_load(exported["locations.yaml"])["locations"]["golden"]
    assert golden["token"] == {"env": "HL_GOLDEN_TOKEN"}
    assert len(golden["integrations"]) == 3  # the location's own token's is not one
    assert golden["integrations"]["partner-0"]["token"] == {
        "sink": {"held_by": "not hlsync (adopted by hlsync export)"}
    }
    assert len(golden["custom_fields"]) == 20 and len(golden["tags"]) == 15
    assert golden["custom_values"]["Value 0"] == "Use $${COUPON} at checkout"
    rows = [json.loads(line) for line in exported["contacts/golden.jsonl"].splitlines()]
    assert len(rows) == 500 and rows[0]["email"] == "Person0@Example.com"

    plan = run_hlsync("plan", "adopted", "--detailed-exitcode", cwd=tmp_path, env=env)
    assert (plan.returncode, plan.stdout) == (
        0,
        "No changes. The account matches the configuration.\n",
    ), plan.stderr

    again = run_hlsync(
        "export", str(path), "--out", "adopted", "--contacts", cwd=tmp_path, env=env
    )
    assert again.returncode == 0, again.stderr
    assert files(tmp_path / "adopted") == exported  # byte for byte
    assert again.stdout.count("export: unchanged ") == 3


def test_a_golden_template_stamps_an_empty_location_that_exports_alike(
    tmp_path: Path, served: tuple[Served, dict[str, str]]
) -> None:
    emulator, env = served
    fill(emulator, GOLDEN[1], integrations=2, fields=6, values=3, tags=4, contacts=0)
    golden_source = source(tmp_path / "golden-src", emulator, GOLDEN)
    done = run_hlsync(
        "export",
        str(golden_source),
        "--out",
        "golden",
        "--as-template",
        "franchise",
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    golden = files(tmp_path / "golden")
    assert sorted(golden) == ["hlsync.yaml", "locations.yaml", "templates.yaml"]
    template = yaml.safe_load(golden["templates.yaml"])["templates"]["franchise"]
    assert sorted(template) == ["custom_fields", "integrations", "tags"]

    # the new location: the golden's shared files, and its own parameters
    stamp = tmp_path / "fresh"
    stamp.mkdir()
    for name in ("hlsync.yaml", "templates.yaml"):
        (stamp / name).write_bytes(golden[name])
    params = {"Value 0": "Use ${COUPON} at the door", "Value 1": "x", "Value 2": "y"}
    (stamp / "locations.yaml").write_text(
        yaml.safe_dump(
            {
                "locations": {
                    "fresh": {
                        "id": FRESH[1],
                        "token": {"env": FRESH[2]},
                        "extends": "franchise",
                        "custom_values": {
                            k: v.replace("${", "$${") for k, v in params.items()
                        },
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    applied = run_hlsync("apply", "fresh", "--auto-approve", cwd=tmp_path, env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "0 failed, 0 skipped" in applied.stdout

    fresh_source = source(tmp_path / "fresh-src", emulator, FRESH)
    done = run_hlsync(
        "export",
        str(fresh_source),
        "--out",
        "fresh-export",
        "--as-template",
        "franchise",
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    fresh = files(tmp_path / "fresh-export")
    # what the template holds, and the source's settings, are the same bytes
    assert fresh["templates.yaml"] == golden["templates.yaml"]
    assert fresh["hlsync.yaml"] == golden["hlsync.yaml"]
    # the locations differ only in their ids, names and parameters
    ours = yaml.safe_load(fresh["locations.yaml"])["locations"]["fresh"]
    theirs = yaml.safe_load(golden["locations.yaml"])["locations"]["golden"]
    assert ours.pop("custom_values") == {
        k: v.replace("${", "$${") for k, v in params.items()
    }
    theirs.pop("custom_values")
    assert (ours.pop("id"), theirs.pop("id")) == (FRESH[1], GOLDEN[1])
    assert (ours.pop("token"), theirs.pop("token")) == (
        {"env": FRESH[2]},
        {"env": GOLDEN[2]},
    )
    assert ours == theirs


def test_unmanaged_objects_are_listed_and_exclusive_kinds_pruned_with_force(
    tmp_path: Path, served: tuple[Served, dict[str, str]]
) -> None:
    emulator, env = served
    fill(emulator, GOLDEN[1], integrations=2, fields=2, values=2, tags=3, contacts=0)
    config = tmp_path / "cfg"
    path = source(config, emulator, GOLDEN)
    with path.open("a", encoding="utf-8") as text:
        text.write("    tags:\n      - {name: tag-00, protect: true}\n")

    plan = run_hlsync("plan", ".", "--out", "plan.json", cwd=config, env=env)
    assert plan.returncode == 0, plan.stderr
    listing = (
        "Not managed by this config (hlsync leaves them alone; "
        "`manage: {<kind>: exclusive}` would delete them):\n"
        "  golden: 2 integrations: partner-0, partner-1\n"
        "  golden: 2 custom fields: field_0_text, field_1_large_text\n"
        "  golden: 2 tags: tag-01, tag-02\n"
        "  golden: 2 custom values: Value 0, Value 1\n"
    )
    assert plan.stdout.startswith(
        "No changes. The account matches the configuration.\n\n" + listing
    )
    saved = json.loads((config / "plan.json").read_text(encoding="utf-8"))
    assert [(u["kind"], u["names"]) for u in saved["unmanaged"]] == [
        ("integration", ["partner-0", "partner-1"]),
        ("custom_field", ["field_0_text", "field_1_large_text"]),
        ("tag", ["tag-01", "tag-02"]),
        ("custom_value", ["Value 0", "Value 1"]),
    ]
    shown = run_hlsync("show", "plan.json", "--format", "markdown", cwd=config)
    assert "<summary>Not managed by this config: 8 objects</summary>" in shown.stdout
    assert "- golden: 2 tags: tag-01, tag-02\n" in shown.stdout

    with path.open("a", encoding="utf-8") as text:
        text.write(
            "    manage: {integrations: exclusive, tags: exclusive,"
            " custom_values: exclusive}\n"
        )
    refused = run_hlsync("apply", ".", "--auto-approve", cwd=config, env=env)
    assert refused.returncode == 1
    assert 'golden.tag["tag-01"] deleting is irreversible' in refused.stderr
    assert "apply again with --force" in refused.stderr
    with emulator.client(GOLDEN[1]) as http:
        tags_before = http.get(f"/locations/{GOLDEN[1]}/tags").json()["tags"]
    assert len(tags_before) == 3  # nothing was deleted

    forced = run_hlsync("apply", ".", "--auto-approve", "--force", cwd=config, env=env)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "Apply: 6 ok, 0 failed, 0 skipped" in forced.stdout
    with emulator.client(GOLDEN[1]) as http:
        tags = http.get(f"/locations/{GOLDEN[1]}/tags").json()["tags"]
        values = http.get(f"/locations/{GOLDEN[1]}/customValues").json()
        fields = http.get(f"/locations/{GOLDEN[1]}/customFields").json()
    with emulator.client() as admin:
        integrations = admin.get(
            "/_emulator/integrations", params={"locationId": GOLDEN[1]}
        ).json()["integrations"]
    assert [t["name"] for t in tags] == ["tag-00"]  # protect: true, declared
    assert values["customValues"] == []
    assert len(fields["customFields"]) == 2  # custom fields stayed additive
    # the integration holding the location's own token is never pruned
    assert [i["name"] for i in integrations] == ["emulator-bootstrap"]


def test_init_from_export_adopts_an_account_and_plans_only_its_seed_bot(
    tmp_path: Path, served: tuple[Served, dict[str, str]]
) -> None:
    """``hlsync init --from-export``: the export is the config, beside init's
    .gitignore and CI files; it validates, and the plan right after shows only the
    least-privilege seeding integration to create (the rest is the account's)."""
    emulator, env = served
    fill(
        emulator,
        FRESH[1],
        integrations=1,
        fields=3,
        values=2,
        tags=3,
        contacts=4,
    )
    done = run_hlsync(
        "init",
        "adopted",
        f"--location=fresh={FRESH[1]}",
        f"--target={emulator.url}",
        "--from-export",
        "--contacts",
        cwd=tmp_path,
        env={FRESH[2]: env[FRESH[2]]},
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.splitlines()[:7] == [
        "hlsync init wrote:",
        "  adopted/hlsync.yaml",
        "  adopted/locations.yaml",
        "  adopted/contacts/fresh.jsonl (4 contacts)",
        "  adopted/.gitignore",
        "  adopted/.github/workflows/hlsync.yml",
        "  adopted/.pre-commit-config.yaml",
    ]
    folder = tmp_path / "adopted"
    written = {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in folder.rglob("*")
        if p.is_file()
    }
    assert len(written) == 6
    assert "on 2026-05-04 (the upstream's date)" in written["locations.yaml"]
    everything = "".join(written.values()) + done.stdout
    assert not any(token in everything for token in env.values())

    valid = run_hlsync("validate", "adopted", cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout == (
        "adopted: valid — 1 location, 2 integrations, 3 custom fields, 3 tags, "
        "2 custom values, 4 contacts\n"
    )

    plan = run_hlsync("plan", "adopted", "--detailed-exitcode", cwd=tmp_path, env=env)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    changes = [
        line.strip()
        for line in plan.stdout.splitlines()
        if line.startswith(("  + ", "  ~ ", "  - "))
    ]
    assert changes == ['+ fresh.integration["seed-bot"]']
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in plan.stdout
    assert "Not managed by this config" not in plan.stdout
    assert not any(token in plan.stdout + plan.stderr for token in env.values())
