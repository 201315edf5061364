"""The sink registry: every ``SinkKind`` has its module, its class and its config shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest

from hlsync.core.model import SinkKind, SinkSpec
from hlsync.resources import load_schema
from hlsync.tokens.sinks.registry import SINK_KINDS, sink_class, sink_of

SINK_SCHEMA = load_schema("config.schema.json")["$defs"]["sink"]


def _example(kind: str) -> dict[str, Any]:
    """The schema's example of a ``kind`` sink (each example names one kind)."""
    found = [e for e in SINK_SCHEMA["examples"] if kind in e]
    assert found, f"schemas/config.schema.json has no example of a {kind} sink"
    return dict(found[0])


@pytest.mark.parametrize("kind", get_args(SinkKind))
def test_every_sink_kind_has_a_sink_module_and_a_config_shape(
    kind: SinkKind, tmp_path: Path
) -> None:
    cls = sink_class(kind)  # assert_never (AssertionError) when a kind has no case
    assert cls.__module__ == f"hlsync.tokens.sinks.{kind}"
    assert kind in SINK_SCHEMA["properties"]
    assert {"required": [kind]} in SINK_SCHEMA["oneOf"]

    def resolve(steps: tuple[str | int, ...], text: str) -> Path:
        return tmp_path / text

    spec = cls.parse(_example(kind), resolve, None)
    assert spec.kind == kind
    sink = sink_of(spec)
    assert type(sink).__module__ == cls.__module__
    assert sink.label(tmp_path).startswith(kind + " ")
    assert (sink.previous_path() is None) == (not sink.readable)


def test_the_kinds_are_the_sink_kind_literal_and_the_schema_s() -> None:
    assert SINK_KINDS == get_args(SinkKind)
    named = {key for branch in SINK_SCHEMA["oneOf"] for key in branch["required"]}
    assert named == set(SINK_KINDS)  # a schema kind unknown here would not be parsed
    assert len({sink_class(kind) for kind in SINK_KINDS}) == len(SINK_KINDS)


def test_an_unknown_kind_is_refused_not_treated_as_another() -> None:
    with pytest.raises(AssertionError):
        sink_class("vault")  # type: ignore[arg-type]
    with pytest.raises(AssertionError):
        sink_of(SinkSpec("vault", path="x"))  # type: ignore[arg-type]
