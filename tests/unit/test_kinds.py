"""The kind registry agrees with the model, the protocol and both JSON Schemas.

A kind added to ``hlsync.core.model.Kind`` but forgotten anywhere fails here (or in
mypy, for the exhaustive ``match`` statements): the registry, the model's containers,
the config schema's location and template sections, the plan schema's ``kind`` enum and
address pattern, the plan file's reader.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, get_args

import pytest

from hlsync.core.model import Kind, LocationSpec, ObservedLocation
from hlsync.core.plan import KINDS as PLAN_KINDS
from hlsync.core.plan import address
from hlsync.kinds.custom_field import DATA_TYPES
from hlsync.kinds.registry import KINDS, kind_named
from hlsync.resources import schema_path

NAMES = [k.name for k in KINDS]


def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_path(name).read_text())
    return loaded


def test_the_registry_lists_every_kind_of_the_model_once() -> None:
    assert sorted(NAMES) == sorted(get_args(Kind))
    assert len(set(NAMES)) == len(NAMES)
    assert len({k.section for k in KINDS}) == len(KINDS)
    assert sorted(PLAN_KINDS) == sorted(NAMES)


@pytest.mark.parametrize("name", get_args(Kind))
def test_kind_named_finds_each_kind(name: Kind) -> None:
    assert kind_named(name).name == name


@pytest.mark.parametrize("kind", KINDS, ids=NAMES)
def test_each_kind_owns_a_container_of_the_model(kind: Any) -> None:
    spec_fields = {f.name for f in dataclasses.fields(LocationSpec)}
    observed_fields = {f.name for f in dataclasses.fields(ObservedLocation)}
    assert kind.section in spec_fields
    assert kind.section in observed_fields
    spec = LocationSpec(name="main", id="loc")
    observed = ObservedLocation(name="main", id="loc")
    assert kind.declared(spec) is getattr(spec, kind.section)
    assert kind.observed(observed) is getattr(observed, kind.section)
    assert observed.objects(kind.name) is getattr(observed, kind.section)


def test_every_tuple_of_a_location_spec_belongs_to_a_kind() -> None:
    """A declaration container nobody plans would be config that silently does
    nothing."""
    sections = {k.section for k in KINDS}
    spec = LocationSpec(name="main", id="loc")
    tuples = {
        f.name
        for f in dataclasses.fields(spec)
        if isinstance(getattr(spec, f.name), tuple)
    }
    assert tuples == sections


def test_layers_order_dependencies_and_deletes() -> None:
    by_name = {k.name: k for k in KINDS}
    creates = max(k.layer for k in KINDS)
    assert all(k.delete_layer > creates for k in KINDS)
    # contacts wait for the tags and fields they use; they are deleted before them
    for used in ("tag", "custom_field"):
        assert by_name["contact"].layer > by_name[used].layer
        assert by_name["contact"].delete_layer < by_name[used].delete_layer
    # integrations first (a new token seeds the others) and deleted last
    assert by_name["integration"].layer == min(k.layer for k in KINDS)
    assert by_name["integration"].delete_layer == max(k.delete_layer for k in KINDS)


@pytest.mark.parametrize("where", ["location", "template"])
def test_the_config_schema_has_a_section_per_kind(where: str) -> None:
    properties = _schema("config.schema.json")["$defs"][where]["properties"]
    for kind in KINDS:
        assert kind.section in properties, f"{where} lacks {kind.section}"


def test_the_plan_schema_names_every_kind() -> None:
    change = _schema("plan.schema.json")["$defs"]["change"]["properties"]
    assert sorted(change["kind"]["enum"]) == sorted(NAMES)
    pattern = re.compile(change["address"]["pattern"])
    for name in NAMES:
        assert pattern.match(address("main", name, "x"))
        assert pattern.match(address(None, name, "x") + ".token")
    assert not pattern.match('main.widget["x"]')


def test_the_config_schema_can_manage_each_kind() -> None:
    manage = _schema("config.schema.json")["$defs"]["manage"]["properties"]
    consents = {k.prune_consent for k in KINDS if k.prune_consent}
    assert set(manage) == {k.section for k in KINDS} | consents
    for where in ("location", "template"):
        properties = _schema("config.schema.json")["$defs"][where]["properties"]
        assert properties["manage"]["$ref"] == "#/$defs/manage"


def test_an_export_declares_only_data_types_the_config_knows() -> None:
    declared = _schema("config.schema.json")["$defs"]["customField"]["properties"]
    assert list(DATA_TYPES) == declared["type"]["enum"]
