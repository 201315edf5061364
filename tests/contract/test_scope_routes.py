"""The scope gate's data against the official files beside the repository.

``hlsync/data/scope_routes.json`` is built by ``hlsync/emulator/scope_routes_build.py`` from all
of upstream's v2 files; the reference folder holds four of them (contacts, locations,
custom fields, OAuth). For every endpoint those four declare, building again from them
gives the shipped entry (its rules, levels, versions and empty answer), and each empty
list answer the gate sends validates against the declared response schema."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from hlsync.emulator.app import modelled_routes
from hlsync.emulator.scope_gate import TRACE_ID, shapes, unmodelled
from hlsync.emulator.scope_routes_build import build
from hlsync.resources import data_path
from tests.contract import openapi

SHIPPED = data_path("scope_routes.json")


def test_the_entries_of_the_reference_files_are_what_the_builder_makes() -> None:
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))["routes"]
    rebuilt = build(openapi.OPENAPI)["routes"]
    assert len(rebuilt) == len(shipped)
    compared = 0
    for made, kept in zip(rebuilt, shipped, strict=True):
        if made["source"] is not None:
            assert made == kept, made["path"]
            compared += 1
    assert compared >= 50  # the four files' catalog endpoints


def _operation_path(source: str, method: str, path: str) -> str:
    blank = re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")
    paths: dict[str, dict[str, Any]] = openapi.load(source)["paths"]
    for written, item in paths.items():
        same = re.sub(r"\{[^}]+\}", "{}", written).rstrip("/") == blank
        if same and method.lower() in item:
            return written
    raise AssertionError(f"{method} {path} is not in {source}")


LISTS = [
    g
    for g in unmodelled(shapes(modelled_routes()))
    if g.answer == "list" and g.source and (openapi.OPENAPI / g.source).is_file()
]


@pytest.mark.parametrize("gate", LISTS, ids=lambda g: g.template)
def test_an_empty_list_answer_fits_the_declared_schema(gate: Any) -> None:
    written = _operation_path(gate.source, gate.method, gate.path)
    schema = openapi.response_schema(gate.source, written, gate.method, gate.status)
    assert schema is not None
    answer = gate.empty
    if isinstance(answer, dict) and answer.get("traceId") == TRACE_ID:
        answer = {**answer, "traceId": "5f3c-trace"}
    assert openapi.errors(answer, schema) == []
