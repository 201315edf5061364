"""schemas/config.schema.json: valid 2020-12, documented everywhere, examples that hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from hlsync.config.contacts_io import FIELD_NAMES
from hlsync.config.loader import load_config
from hlsync.config.schema import contact_validator, plainly_valid_contact
from hlsync.core.catalog import load_catalog
from hlsync.errors import HlsyncError
from hlsync.resources import load_schema

SCHEMA = load_schema("config.schema.json")


def _properties(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named property schema, wherever it sits (conditions of if/then aside)."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{path}.{name}", sub
        for key, sub in node.items():
            if key not in ("if", "then", "else", "not"):
                yield from _properties(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            yield from _properties(sub, f"{path}[{index}]")


PROPERTIES = list(_properties(SCHEMA))


def test_schema_is_valid_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_every_property_has_a_description_and_an_example() -> None:
    assert len(PROPERTIES) > 80
    missing = [
        path
        for path, sub in PROPERTIES
        if not sub.get("description") or not sub.get("examples")
    ]
    assert missing == []


@pytest.mark.parametrize("path_and_schema", PROPERTIES, ids=[p for p, _ in PROPERTIES])
def test_property_examples_are_valid(
    path_and_schema: tuple[str, dict[str, Any]],
) -> None:
    _, sub = path_and_schema
    checker = Draft202012Validator({"$defs": SCHEMA["$defs"], **sub})
    for example in sub["examples"]:
        assert list(checker.iter_errors(example)) == [], example


def test_scope_examples_come_from_the_catalog() -> None:
    names = {s.name for s in load_catalog()}
    integration = SCHEMA["$defs"]["locationIntegration"]["properties"]["scopes"]
    agency = SCHEMA["$defs"]["agencyIntegration"]["properties"]["scopes"]
    sub_names = set(integration["items"]["examples"])
    agency_names = set(agency["items"]["examples"])
    assert sub_names <= names and agency_names <= names
    assert "contacts.write" in sub_names and "contacts.write" not in agency_names
    assert "oauth.readonly" in agency_names and "oauth.readonly" not in sub_names


def test_contact_fields_match_the_model_field_list() -> None:
    contact = SCHEMA["$defs"]["contact"]["properties"]
    extra = {"tags", "tags_exclusive", "custom_fields", "ensure", "protect"}
    assert set(contact) == set(FIELD_NAMES) | extra


_values = st.one_of(
    st.text(max_size=4),
    st.sampled_from(["", "US", "us", "1990-01-02", "present", "absent", "a@b.co"]),
    st.booleans(),
    st.integers(),
    st.none(),
    st.lists(st.sampled_from(["a", "b", "a", ""]), max_size=3),
    st.dictionaries(
        st.sampled_from(["k", "K-", "level"]), st.sampled_from(["x", 1]), max_size=2
    ),
)
_contacts = st.dictionaries(
    st.sampled_from(
        [*FIELD_NAMES, "tags", "tags_exclusive", "custom_fields", "ensure", "x"]
    ),
    _values,
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(_contacts)
def test_fast_contact_check_never_accepts_what_the_schema_refuses(
    data: dict[str, Any],
) -> None:
    if plainly_valid_contact(data):
        assert list(contact_validator().iter_errors(data)) == []


LOCATION = "version: 1\nlocations:\n  main:\n    id: loc1\n"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "    custom_fields:\n      f: {name: F, type: TEXT, options: [a]}\n",
            '6:32: "options" does not apply to TEXT fields',
        ),
        (
            "    custom_fields:\n      f: {name: F, type: RADIO, options: []}\n",
            '6:33: "options": needs at least 1 item',
        ),
        (
            "    contacts:\n      - {email: a@example.com, tags: [x, x]}\n",
            '6:32: "tags": lists "x" twice',
        ),
        ("    contacts:\n      - {email: ''}\n", '6:17: "email": must not be empty'),
        (
            "    contacts:\n      - {email: a@example.com, country: usa}\n",
            '6:41: "country": "usa" is not valid: a two-letter upper-case country code'
            " such as US",
        ),
        (
            "    contacts:\n      - {email: a@example.com, dnd: 'yes'}\n",
            '6:37: "dnd": expected true or false, got a string',
        ),
        (
            "    contacts:\n      - {email: a@example.com, ensure: gone}\n",
            '6:40: "ensure": "gone" is not one of: present, absent',
        ),
        (
            "    tags: [5]\n",
            "5:12: item 1: expected a string, a mapping with name; got a number",
        ),
        (
            "    integrations:\n      bot: {description: " + "x" * 501 + "}\n",
            '6:26: "description": is longer than 500 characters',
        ),
        (
            "    token: {vault: x}\n",
            '5:13: unknown key "vault"',
        ),
    ],
)
def test_schema_messages(
    extra: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "c.yaml").write_text(LOCATION + extra, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HlsyncError) as info:
        load_config("c.yaml", env={})
    assert [f"{p.location}: {p.message}" for p in info.value.problems] == [
        f"c.yaml:{expected}"
    ]


def test_target_of_the_wrong_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "c.yaml").write_text("version: 1\ntarget: 5\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(HlsyncError) as info:
        load_config("c.yaml", env={})
    assert str(info.value) == (
        'c.yaml:2:9: "target": expected "sandbox" or "leadconnector", a mapping with '
        "url, a mapping with sandbox; got a number"
    )


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, sub in node.items():
            if key == "pattern" and isinstance(sub, str):
                yield sub
            else:
                yield from _patterns(sub)
    elif isinstance(node, list):
        for sub in node:
            yield from _patterns(sub)


def test_patterns_are_portable_to_editors() -> None:
    """Editors run the schema's regexes in JavaScript: no Python-only syntax."""
    patterns = list(_patterns(SCHEMA))
    assert patterns
    assert [p for p in patterns if "(?" in p or "\\A" in p or "\\Z" in p] == []
