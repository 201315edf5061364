"""Safe YAML loading: plain data, marks by JSON path, limits, refused input."""

from __future__ import annotations

from pathlib import Path

import pytest

from hlsync.config import yamlload
from hlsync.config.yamlload import load_yaml, load_yaml_text
from hlsync.errors import Location
from tests.conftest import REPO


def _messages(text: str) -> list[str]:
    return [
        f"{p.location}: {p.message}" for p in load_yaml_text(text, "f.yaml").problems
    ]


def test_marks_by_json_path() -> None:
    doc = load_yaml_text(
        "version: 1\nlocations:\n  main:\n    tags: [vip, 'new']\n", "f.yaml"
    )
    assert doc.problems == []
    assert doc.data == {"version": 1, "locations": {"main": {"tags": ["vip", "new"]}}}
    assert doc.marks[("locations", "main", "tags", 1)] == Location("f.yaml", 4, 17)
    assert doc.key_marks[("locations", "main")] == Location("f.yaml", 3, 3)
    assert doc.styles[("locations", "main", "tags", 1)] == "'"
    # a mapping or list is placed at its key
    assert doc.where(("locations", "main", "nothing", 3)) == Location("f.yaml", 3, 3)
    assert doc.marks[("locations", "main", "tags")] == Location("f.yaml", 4, 5)


def test_yaml_12_core_scalars() -> None:
    doc = load_yaml_text(
        "a: NO\nb: yes\nc: true\nd: 0o17\ne: 0x1F\nf: 1.5e3\ng: ~\nh: 2024-01-02\n"
        "i: 1_000\nj: .inf\nk: False\n",
        "f.yaml",
    )
    assert doc.data == {
        "a": "NO",
        "b": "yes",
        "c": True,
        "d": 15,
        "e": 31,
        "f": 1500.0,
        "g": None,
        "h": "2024-01-02",
        "i": "1_000",
        "j": ".inf",
        "k": False,
    }


def test_duplicate_keys_are_reported_and_loading_goes_on() -> None:
    doc = load_yaml_text("a: 1\nb: 2\na: 3\nc:\n  x: 1\n  x: 2\n", "f.yaml")
    assert [(str(p.location), p.message) for p in doc.problems] == [
        ("f.yaml:3:1", 'duplicate key "a" (first defined at line 1)'),
        ("f.yaml:6:3", 'duplicate key "x" (first defined at line 5)'),
    ]
    assert doc.data == {"a": 1, "b": 2, "c": {"x": 1}}


def test_merge_keys_with_positions_of_the_anchor() -> None:
    doc = load_yaml_text(
        "base: &b\n  city: Springfield\n  state: IL\nitem:\n  <<: *b\n  state: OR\n",
        "f.yaml",
    )
    assert doc.problems == []
    assert doc.data["item"] == {"state": "OR", "city": "Springfield"}
    assert doc.marks[("item", "city")] == Location("f.yaml", 2, 9)
    assert doc.marks[("item", "state")] == Location("f.yaml", 6, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: !!binary aGVsbG8=\n", "f.yaml:1:4: unsupported YAML tag !!binary"),
        ("a: !!set {x: null}\n", "f.yaml:1:4: unsupported YAML tag !!set"),
        ("a: !custom x\n", "f.yaml:1:4: unsupported YAML tag !custom"),
        (
            "a: !!python/name:os.system x\n",
            "f.yaml:1:4: unsupported YAML tag !!python/name:os.system",
        ),
        ("a: !!int twelve\n", "f.yaml:1:4: 'twelve' is not a valid !!int"),
    ],
)
def test_unsafe_tags_refuse_the_document(text: str, expected: str) -> None:
    doc = load_yaml_text(text, "f.yaml")
    assert doc.failed and doc.data is None
    assert _messages(text)[0].startswith(expected)


def test_explicit_safe_tags_are_fine() -> None:
    doc = load_yaml_text("a: !!str 12\nb: !!int '7'\n", "f.yaml")
    assert (doc.problems, doc.data) == ([], {"a": "12", "b": 7})


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol"]']
    for i in range(1, 12):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    doc = load_yaml_text("\n".join(lines) + "\n", "f.yaml")
    assert doc.failed
    assert "more than 1000 alias expansions" in doc.problems[0].message


def test_moderate_alias_use_is_allowed() -> None:
    text = "d: &d {source: seed, country: US}\n" + "".join(
        f"c{i}: {{<<: *d, email: c{i}@example.com}}\n" for i in range(200)
    )
    doc = load_yaml_text(text, "f.yaml")
    assert doc.problems == []
    assert doc.data["c199"]["country"] == "US"


def test_depth_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    ok = load_yaml_text("x: " + "[" * 62 + "]" * 62 + "\n", "f.yaml")
    assert ok.problems == []
    deep = load_yaml_text("x: " + "[" * 500 + "]" * 500 + "\n", "f.yaml")
    assert [p.message for p in deep.problems] == [
        "nesting deeper than 64 levels is not allowed"
    ]


def test_recursive_alias() -> None:
    doc = load_yaml_text("a: &x\n  b: *x\n", "f.yaml")
    assert doc.failed
    assert doc.problems[0].message == "recursive YAML alias (a node contains itself)"


def test_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlload, "MAX_FILE_BYTES", 64)
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100 + "\n")
    doc = load_yaml(path, "big.yaml")
    assert doc.failed
    assert doc.problems[0].message == "file is 104 bytes; the limit is 0 MiB"
    assert yamlload.MAX_FILE_BYTES == 64


def test_default_limits_are_stated() -> None:
    assert (
        yamlload.MAX_FILE_BYTES,
        yamlload.MAX_DEPTH,
        yamlload.MAX_ALIAS_EXPANSIONS,
    ) == (
        10 * 1024 * 1024,
        64,
        1000,
    )


def test_unreadable_and_binary(tmp_path: Path) -> None:
    missing = load_yaml(tmp_path / "nope.yaml", "nope.yaml")
    assert missing.failed and "cannot read file" in missing.problems[0].message
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: Jos\xe9\n")
    doc = load_yaml(latin, "latin.yaml")
    assert (
        str(doc.problems[0]) == "latin.yaml:1:10: file is not UTF-8 text (binary file?)"
    )


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\n")
    assert load_yaml(path, "bom.yaml").data == {"version": 1}


def test_syntax_error_position() -> None:
    assert _messages("a: [1, 2\nb: 3\n") == [
        "f.yaml:2:2: YAML syntax error: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence started at line 1)"
    ]


def test_non_string_keys() -> None:
    doc = load_yaml_text("1: one\n? [a]\n: two\n~: x\n", "f.yaml")
    assert doc.data == {"1": "one"}
    assert [p.message for p in doc.problems] == [
        "mapping keys must be plain strings",
        "empty mapping key",
    ]


def test_merge_key_lists_and_bad_merge_values() -> None:
    doc = load_yaml_text(
        "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n  z: 3\nd:\n  <<: 5\n",
        "f.yaml",
    )
    assert doc.data["c"] == {"z": 3, "x": 1, "y": 2}
    assert [str(p).splitlines()[0] for p in doc.problems] == [
        "f.yaml:7:7: a merge key '<<' needs a mapping or a list of them"
    ]


def test_libyaml_and_pure_python_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """libyaml parses when installed; without it the pure-Python parser gives the same
    data, marks and styles."""
    text = (REPO / "examples" / "quickstart" / "hlsync.yaml").read_text(
        encoding="utf-8"
    )
    text += "block: |\n  a\n  b\nanchor: &x {k: 1}\nmerged: {<<: *x, j: 2}\n"
    fast = load_yaml_text(text, "q.yaml")
    monkeypatch.setattr(yamlload, "_FastComposer", None)
    slow = load_yaml_text(text, "q.yaml")
    assert fast.problems == slow.problems == []
    assert fast.data == slow.data
    assert fast.marks == slow.marks
    assert fast.key_marks == slow.key_marks
    assert fast.styles == slow.styles
