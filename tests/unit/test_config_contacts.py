"""Seed contacts: identity, defaults, custom-field values, CSV and JSONL files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hlsync.config.contacts_io import RawContact, read_contacts
from hlsync.config.loader import load_config
from hlsync.core.model import DesiredState
from hlsync.errors import HlsyncError, Location, Problem

HEAD = """\
version: 1
default_region: US
locations:
  main:
    id: loc1
    custom_fields:
      visits: {name: Visits, type: NUMERICAL}
      spend: {name: Spend, type: MONETORY}
      level: {name: Level, type: RADIO, options: [a, b]}
      hobbies: {name: Hobbies, type: CHECKBOX, options: [golf, chess, yoga]}
      joined: {name: Joined, type: DATE}
      notes: {name: Notes, type: LARGE_TEXT}
      photo: {name: Photo, type: FILE_UPLOAD}
    tags: [{name: gone, ensure: absent}]
"""


def _load(
    tmp_path: Path, body: str, files: dict[str, str] | None = None
) -> DesiredState:
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    path = tmp_path / "hlsync.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return load_config(path, env={})


def _problems(
    tmp_path: Path, body: str, files: dict[str, str] | None = None
) -> list[str]:
    with pytest.raises(HlsyncError) as info:
        _load(tmp_path, body, files)
    return [f"{p.location}: {p.message}" for p in info.value.problems]


def test_identity_and_normalisation(tmp_path: Path) -> None:
    state = _load(
        tmp_path,
        "    contacts:\n"
        "      - {email: ' Ann@Example.COM ', phone: '(202) 555-0143'}\n"
        "      - {phone: '+44 20 7946 0958', dnd: true, dateOfBirth: '1990-09-25'}\n",
    )
    ann, bob = state.locations[0].contacts
    assert ann.key == "email:ann@example.com"
    assert ann.fields == {"email": "Ann@Example.COM", "phone": "+12025550143"}
    assert bob.key == "phone:+442079460958"
    assert bob.fields["dnd"] is True


def test_a_number_upstream_stores_is_kept_with_a_warning(tmp_path: Path) -> None:
    # HighLevel's own seed documentation writes +1234567890: no such number exists,
    # but upstream stores it, so the config takes it as written (in E.164)
    state = _load(
        tmp_path,
        "    contacts:\n"
        "      - {firstName: Seed, phone: '+1234567890'}\n"
        "      - {email: b@example.com, phone: '555 0100'}\n"
        "      - {email: c@example.com, phone: '+1 202 555 0143'}\n",
    )
    seed, bob, carol = state.locations[0].contacts
    assert seed.key == "phone:+1234567890"
    assert seed.fields["phone"] == "+1234567890"
    assert bob.fields["phone"] == "+15550100"  # default_region: US
    assert carol.fields["phone"] == "+12025550143"
    hint = "HighLevel stores it, but calls and texts may reach nobody: check the digits"
    assert state.warnings == (
        Problem(
            'phone "+1234567890" is not a valid number; kept as +1234567890',
            Location(str(tmp_path / "hlsync.yaml"), 16, 34),
            hint,
            severity="warning",
        ),
        Problem(
            'phone "555 0100" is not a valid number for region US; kept as +15550100',
            Location(str(tmp_path / "hlsync.yaml"), 17, 39),
            hint,
            severity="warning",
        ),
    )


def test_a_valid_config_has_no_warnings(tmp_path: Path) -> None:
    state = _load(tmp_path, "    contacts: [{phone: '+44 20 7946 0958'}]\n")
    assert state.warnings == ()


def test_phone_letters_and_extensions_are_refused_never_rewritten(
    tmp_path: Path,
) -> None:
    assert _problems(
        tmp_path,
        "    contacts:\n"
        "      - {phone: '+1 800 FLOWERS'}\n"
        "      - {phone: '(202) 555-0143 x12'}\n"
        "      - {phone: '+'}\n",
    ) == [
        f'{tmp_path / "hlsync.yaml"}:16:17: phone "+1 800 FLOWERS" has letters; '
        "hlsync does not turn them into digits",
        f'{tmp_path / "hlsync.yaml"}:17:17: phone "(202) 555-0143 x12" has an '
        "extension, and HighLevel's phone holds the number only",
        f'{tmp_path / "hlsync.yaml"}:18:17: invalid phone number "+": '
        "not a phone number",
    ]


def test_custom_field_values_from_yaml(tmp_path: Path) -> None:
    state = _load(
        tmp_path,
        "    contacts:\n"
        "      - email: a@example.com\n"
        "        custom_fields: {visits: 3, spend: 12.5, level: b, hobbies: [yoga, golf],"
        " joined: '2024-02-29', notes: hi}\n",
    )
    (contact,) = state.locations[0].contacts
    assert contact.custom_fields == {
        "visits": 3,
        "spend": 12.5,
        "level": "b",
        "hobbies": ["yoga", "golf"],
        "joined": "2024-02-29",
        "notes": "hi",
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            "{visits: '3'}",
            'custom field "visits" (NUMERICAL) takes a number, got a string',
        ),
        (
            "{visits: true}",
            'custom field "visits" (NUMERICAL) takes a number, got a boolean',
        ),
        ("{level: c}", 'custom field "level" (RADIO) has no option "c"; options: a, b'),
        (
            "{hobbies: golf}",
            'custom field "hobbies" (CHECKBOX) takes a list of options, got a string',
        ),
        (
            "{hobbies: [golf, darts]}",
            'custom field "hobbies" (CHECKBOX) has no option "darts"; options: golf, chess, yoga',
        ),
        (
            "{joined: '2023-02-29'}",
            'custom field "joined" (DATE): invalid date "2023-02-29"; write YYYY-MM-DD',
        ),
        (
            "{notes: 5}",
            'custom field "notes" (LARGE_TEXT) takes a string, got a number',
        ),
        (
            "{photo: x}",
            'custom field "photo" (FILE_UPLOAD) cannot be set on seed contacts',
        ),
    ],
)
def test_custom_field_value_problems(tmp_path: Path, values: str, message: str) -> None:
    body = f"    contacts:\n      - email: a@example.com\n        custom_fields: {values}\n"
    (problem,) = _problems(tmp_path, body)
    key = values[1 : values.index(":")]
    column = len("        custom_fields: {") + 1
    if "[" not in values:  # a list is placed at its key, a scalar at itself
        column += len(key) + len(": ")
    assert problem.endswith(f":17:{column}: {message}")


def test_defaults_fill_only_what_is_missing(tmp_path: Path) -> None:
    state = _load(
        tmp_path,
        "    defaults: {source: seed, tags: [member], custom_fields: {visits: 0}}\n"
        "    contacts:\n"
        "      - {email: a@example.com}\n"
        "      - {email: b@example.com, source: event, tags: [vip], custom_fields: {visits: 5}}\n",
    )
    a, b = state.locations[0].contacts
    assert (a.fields["source"], a.tags, a.custom_fields) == (
        "seed",
        ("member",),
        {"visits": 0},
    )
    assert (b.fields["source"], b.tags, b.custom_fields) == (
        "event",
        ("vip",),
        {"visits": 5},
    )


def test_tag_declared_absent_cannot_be_used(tmp_path: Path) -> None:
    body = "    contacts:\n      - {email: a@example.com, tags: [ok, gone]}\n"
    (problem,) = _problems(tmp_path, body)
    assert problem.endswith(
        ':16:43: tag "gone" is declared ensure: absent in this location'
    )


CSV = """\
firstName,email,phone,tags,dnd,customFields.visits,customFields.hobbies,customFields.spend
Ann,ann@example.com,(202) 555-0143, vip ; new ,true,3,golf;yoga,9.99

Bob,,+1 312 555 0187,,,,,
"Cara ""CJ"" Jones",cara@example.org,,,false,,,
"""


def test_csv_contacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    state = _load(tmp_path, "    contacts_from: people.csv\n", {"people.csv": CSV})
    ann, bob, cara = state.locations[0].contacts
    assert ann.fields == {
        "firstName": "Ann",
        "email": "ann@example.com",
        "phone": "+12025550143",
        "dnd": True,
    }
    assert ann.tags == ("vip", "new")
    assert ann.custom_fields == {
        "visits": 3,
        "hobbies": ["golf", "yoga"],
        "spend": 9.99,
    }
    assert ann.source == Location("people.csv", 2, 1)
    assert bob.key == "phone:+13125550187"
    assert bob.source is not None and bob.source.line == 4
    assert cara.fields["firstName"] == 'Cara "CJ" Jones'
    assert cara.fields["dnd"] is False


def test_csv_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    files = {
        "people.csv": "email,dnd,tags\nann@example.com,maybe,\nbob@example,,\n"
        "c@example.com,,,extra\n,,\nonly-phone-missing,,\n"
    }
    assert _problems(tmp_path, "    contacts_from: [people.csv]\n", files) == [
        'people.csv:2:1: dnd must be true or false, got "maybe"',
        'people.csv:3:1: invalid email address "bob@example"',
        "people.csv:4:1: row has 4 cells; the header has 3",
        'people.csv:6:1: invalid email address "only-phone-missing"',
    ]


def test_csv_header_problems() -> None:
    rows, problems = _read("firstName,email,,email,customFields.bad-key\n")
    assert rows == []
    assert [f"{p.location}: {p.message}" for p in problems] == [
        "x.csv:1:17: column 3 has an empty name",
        'x.csv:1:18: column "email" appears twice',
        'x.csv:1:24: bad custom-field column "customFields.bad-key"',
    ]
    _, problems = _read("")
    assert [p.message for p in problems] == ["CSV file has no header row"]


def _read(text: str) -> tuple[list[RawContact], list[Problem]]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.csv"
        path.write_text(text, encoding="utf-8")
        return read_contacts(path, "x.csv")


def test_jsonl_contacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        {"email": "a@example.com", "custom_fields": {"visits": 2}, "tags": ["x"]},
        {"phone": "+1 202 555 0143", "tags_exclusive": True},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    state = _load(tmp_path, "    contacts_from: people.jsonl\n", {"people.jsonl": text})
    a, b = state.locations[0].contacts
    assert a.custom_fields == {"visits": 2}
    assert b.tags_exclusive is True
    monkeypatch.chdir(tmp_path)
    bad = '{"email": "a@example.com"}\n[1]\n{"email": 5}\n{"firstName": "x"}\n'
    assert _problems(
        tmp_path, "    contacts_from: people.jsonl\n", {"people.jsonl": bad}
    ) == [
        "people.jsonl:2:1: each line must be a JSON object",
        'people.jsonl:3:1: "email": expected a string, got a number',
        'people.jsonl:4:1: a contact needs "email" or "phone"',
    ]


def test_duplicate_between_yaml_and_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    files = {"people.csv": "email\nbob@example.com\nANN@example.com\n"}
    body = "    contacts: [{email: ann@example.com}]\n    contacts_from: people.csv\n"
    assert _problems(tmp_path, body, files) == [
        'people.csv:3:1: duplicate contact "ann@example.com" (first at hlsync.yaml:15:16)'
    ]


def test_two_thousand_csv_rows_load(tmp_path: Path) -> None:
    rows = ["firstName,email,phone,tags,customFields.visits,customFields.hobbies"]
    rows += [
        f"P{n},p{n}@example.com,+1 312 555 {n % 100 + 100:04d},a;b,{n},golf;chess"
        for n in range(2_000)
    ]
    # 20,000 rows, and how long they take: `python -m tests.perf` (bench_config)
    state = _load(
        tmp_path, "    contacts_from: big.csv\n", {"big.csv": "\n".join(rows) + "\n"}
    )
    assert len(state.locations[0].contacts) == 2_000


def test_contacts_file_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.csv").mkdir()
    assert _problems(tmp_path, "    contacts_from: folder.csv\n") == [
        "hlsync.yaml:15:20: contacts file folder.csv is a directory"
    ]
    files = {"bad.csv": 'email,firstName\na@example.com,"An"n\n'}
    assert _problems(tmp_path, "    contacts_from: bad.csv\n", files) == [
        "bad.csv:2:1: CSV error: ',' expected after '\"'"
    ]


def test_values_in_messages_are_short(tmp_path: Path) -> None:
    body = f"    contacts:\n      - email: {'x' * 300}@example\n"
    (problem,) = _problems(tmp_path, body)
    assert problem.endswith('invalid email address "' + "x" * 59 + '…"')
