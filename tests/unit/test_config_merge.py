"""Merging files of a directory and template layers, with positions."""

from __future__ import annotations

from hlsync.config.merge import Marks, merge_documents, overlay
from hlsync.config.yamlload import load_yaml_text
from hlsync.errors import Location


def test_files_merge_key_by_key() -> None:
    a = load_yaml_text("version: 1\nlocations:\n  main:\n    id: x\n", "a.yaml")
    b = load_yaml_text("version: 1\nlocations:\n  two:\n    id: y\n", "b.yaml")
    data, marks, key_marks, problems = merge_documents([a, b])
    assert problems == []
    assert data == {
        "version": 1,
        "locations": {"main": {"id": "x"}, "two": {"id": "y"}},
    }
    assert marks[("locations", "two", "id")] == Location("b.yaml", 4, 9)
    assert key_marks[("locations", "main")] == Location("a.yaml", 3, 3)


def test_conflicts_name_both_places() -> None:
    a = load_yaml_text("version: 1\ntarget: sandbox\n", "a.yaml")
    b = load_yaml_text("version: 2\ntarget: sandbox\n", "b.yaml")
    _, _, _, problems = merge_documents([a, b])
    assert [str(p).splitlines()[0] for p in problems] == [
        'b.yaml:1:1: "version" is defined twice; first at a.yaml:1:1',
        'b.yaml:2:1: "target" is defined twice; first at a.yaml:2:1',
    ]


def test_overlay_later_layer_wins_and_lists_join() -> None:
    base = {"tags": ["a"], "x": {"k": 1, "j": 2}, "contacts": [{"e": 1}], "s": "old"}
    base_marks: Marks = {
        ("tags", 0): Location("t.yaml", 1, 1),
        ("x", "k"): Location("t.yaml", 2, 1),
        ("x", "j"): Location("t.yaml", 3, 1),
        ("contacts", 0): Location("t.yaml", 4, 1),
    }
    over = {"tags": ["b"], "x": {"k": 9}, "contacts": [{"e": 2}], "s": "new"}
    over_marks: Marks = {
        ("tags", 0): Location("l.yaml", 1, 1),
        ("x", "k"): Location("l.yaml", 2, 1),
        ("contacts", 0): Location("l.yaml", 3, 1),
        ("s",): Location("l.yaml", 4, 1),
    }
    data, marks = overlay(base, base_marks, over, over_marks)
    assert data == {
        "tags": ["a", "b"],
        "x": {"k": 9, "j": 2},
        "contacts": [{"e": 1}, {"e": 2}],
        "s": "new",
    }
    assert marks[("tags", 1)] == Location("l.yaml", 1, 1)
    assert marks[("contacts", 0)] == Location("t.yaml", 4, 1)
    assert marks[("contacts", 1)] == Location("l.yaml", 3, 1)
    assert marks[("x", "k")] == Location("l.yaml", 2, 1)
    assert marks[("x", "j")] == Location("t.yaml", 3, 1)


def test_overlay_joins_a_single_contacts_file_with_a_list() -> None:
    data, marks = overlay(
        {"contacts_from": "a.csv"},
        {("contacts_from",): Location("t.yaml", 5, 20)},
        {"contacts_from": ["b.csv"]},
        {("contacts_from", 0): Location("l.yaml", 7, 22)},
    )
    assert data == {"contacts_from": ["a.csv", "b.csv"]}
    assert marks[("contacts_from", 0)] == Location("t.yaml", 5, 20)
    assert marks[("contacts_from", 1)] == Location("l.yaml", 7, 22)
