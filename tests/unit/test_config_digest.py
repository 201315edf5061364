"""The config digest covers every field of the model, found by walking the dataclasses.

``SAMPLE`` sets every field of every declaration dataclass to a non-default value; the
test changes one field at a time and asserts the digest changes. A dataclass or field
added to the model that ``SAMPLE`` does not exercise fails
``test_the_sample_reaches_every_field``: extend ``SAMPLE``, and the digest test then
proves the new field is in the digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hlsync.config.digest import config_digest
from hlsync.config.durations import format_duration
from hlsync.core.model import (
    AgencySpec,
    Contact,
    CustomField,
    CustomValue,
    DesiredState,
    Integration,
    LocationSpec,
    Policy,
    SinkSpec,
    Tag,
    Target,
    TokenPolicy,
    TokenRef,
)
from hlsync.errors import Location

ROOT = Path("/srv/config")
NOT_CONFIG = {"config_digest", "root"}  # DesiredState's bookkeeping
HERE = Location("hlsync.yaml", 3, 5)


def _integration(name: str) -> Integration:
    return Integration(
        name=name,
        description="reads contacts",
        scopes=("contacts.readonly",),
        ensure="present",
        protect=True,
        source=HERE,
        token=TokenPolicy(
            rotate_every=timedelta(days=90),
            overlap=timedelta(days=2),
            generation=3,
            revoke_issued_before="2026-12-01T00:00:00Z",
            sink=SinkSpec(
                "command",
                path=str(ROOT / "tokens" / name),
                key="TOKEN",
                argv=(str(ROOT / "bin" / "store"), "--name", name),
                env=("VAULT_ADDR",),
                holder="Zapier",
                source=HERE,
            ),
        ),
    )


SAMPLE = DesiredState(
    target=Target(
        kind="url", url="http://127.0.0.1:8765", sandbox_db=str(ROOT / "db.sqlite3")
    ),
    agency=AgencySpec(
        token=TokenRef(env="AGENCY_TOKEN", file=str(ROOT / "agency.token")),
        integrations=(_integration("agency-bot"),),
    ),
    locations=(
        LocationSpec(
            name="main",
            id="loc1",
            token=TokenRef(env="MAIN_TOKEN", file=str(ROOT / "main.token")),
            integrations=(_integration("seed-bot"),),
            custom_fields=(
                CustomField(
                    key="pincode",
                    name="Pincode",
                    data_type="SINGLE_OPTIONS",
                    options=("a", "b"),
                    placeholder="000",
                    ensure="present",
                    protect=True,
                    source=HERE,
                ),
            ),
            tags=(Tag("vip", ensure="present", protect=True, source=HERE),),
            custom_values=(
                CustomValue(
                    "booking_link",
                    value="https://example.com/book",
                    ensure="present",
                    protect=True,
                    source=HERE,
                ),
            ),
            contacts=(
                Contact(
                    key="email:ann@example.com",
                    fields={"email": "ann@example.com", "firstName": "Ann"},
                    tags=("vip",),
                    tags_exclusive=True,
                    custom_fields={"pincode": "a"},
                    ensure="present",
                    protect=True,
                    source=HERE,
                ),
            ),
            default_region="US",
            source=HERE,
            auth_integration="seed-bot",
            auth_fallback=True,
            manage={"tag": "exclusive"},
        ),
    ),
    config_digest="",
    root=str(ROOT),
    policy=Policy(
        forbid_scopes=("payments/*",),
        max_scopes=12,
        max_rotate_every=timedelta(days=180),
        source=HERE,
    ),
)

Path_ = tuple[tuple[str, int | None], ...]  # (field, index in a tuple) from SAMPLE


def _config_fields(cls: type) -> list[dataclasses.Field[Any]]:
    fields = [f for f in dataclasses.fields(cls) if f.compare]
    return [f for f in fields if not (cls is DesiredState and f.name in NOT_CONFIG)]


def _instances(obj: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every dataclass instance in ``obj`` with the path that leads to it."""
    yield path, obj
    for f in _config_fields(type(obj)):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _instances(value, (*path, (f.name, None)))
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    yield from _instances(item, (*path, (f.name, i)))


def _declared_classes(cls: type, seen: set[type] | None = None) -> set[type]:
    """``cls`` and every model dataclass its field annotations name, transitively."""
    seen = set() if seen is None else seen
    seen.add(cls)
    hints = typing.get_type_hints(cls)
    for f in _config_fields(cls):
        for found in _types_in(hints[f.name]):
            is_model = isinstance(found, type) and dataclasses.is_dataclass(found)
            if is_model and found not in seen:
                _declared_classes(found, seen)
    return seen


def _types_in(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in typing.get_args(annotation):
        yield from _types_in(arg)


def _changed(value: Any) -> Any:
    """A different value of the same shape (None for a nested declaration)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, timedelta):
        return value + timedelta(minutes=1)
    if isinstance(value, tuple):
        return value[:-1]
    if isinstance(value, Mapping):
        return {**value, "extra": 1}
    if dataclasses.is_dataclass(value):
        return None
    raise AssertionError(f"no change known for {type(value).__name__}: extend _changed")


def _replace(obj: Any, path: Path_, name: str, value: Any) -> Any:
    if not path:
        return dataclasses.replace(obj, **{name: value})
    (head, index), rest = path[0], path[1:]
    inner = getattr(obj, head)
    if index is None:
        return dataclasses.replace(obj, **{head: _replace(inner, rest, name, value)})
    items = list(inner)
    items[index] = _replace(items[index], rest, name, value)
    return dataclasses.replace(obj, **{head: tuple(items)})


CASES = [
    (path, type(obj), f.name)
    for path, obj in _instances(SAMPLE)
    for f in _config_fields(type(obj))
]


def test_the_sample_reaches_every_field() -> None:
    declared = {
        (cls.__name__, f.name)
        for cls in _declared_classes(DesiredState)
        for f in _config_fields(cls)
    }
    reached = {(cls.__name__, name) for _, cls, name in CASES}
    assert declared - reached == set(), "extend SAMPLE with the new model field"
    for path, cls, name in CASES:
        value = getattr(_at(path), name)
        assert value is not None and value != (), f"{cls.__name__}.{name} is empty"


def _at(path: Path_) -> Any:
    obj: Any = SAMPLE
    for name, index in path:
        obj = getattr(obj, name) if index is None else getattr(obj, name)[index]
    return obj


@pytest.mark.parametrize(
    ("path", "cls", "name"),
    CASES,
    ids=[".".join([*(p for p, _ in path), name]) for path, _, name in CASES],
)
def test_every_field_is_in_the_digest(path: Path_, cls: type, name: str) -> None:
    before = getattr(_at(path), name)
    other = _replace(SAMPLE, path, name, _changed(before))
    assert config_digest(other, ROOT) != config_digest(SAMPLE, ROOT)


def test_positions_and_bookkeeping_are_not_in_the_digest() -> None:
    moved = Location("other.yaml", 40, 1)
    location = dataclasses.replace(SAMPLE.locations[0], source=moved)
    other = dataclasses.replace(
        SAMPLE,
        locations=(location,),
        policy=dataclasses.replace(SAMPLE.policy, source=moved),
        config_digest="ab" * 32,
        root="/elsewhere",
    )
    assert config_digest(other, ROOT) == config_digest(SAMPLE, ROOT)


def test_paths_inside_the_root_are_relative_to_it() -> None:
    elsewhere = Path("/home/ann/checkout")

    def moved(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(str(ROOT)):
            return str(elsewhere) + value[len(str(ROOT)) :]
        if isinstance(value, tuple):
            return tuple(moved(item) for item in value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {
                f.name: moved(getattr(value, f.name)) for f in dataclasses.fields(value)
            }
            return dataclasses.replace(value, **changes)
        return value

    copy = moved(SAMPLE)
    assert copy.agency.token.file == str(elsewhere / "agency.token")
    assert config_digest(copy, elsewhere) == config_digest(SAMPLE, ROOT)
    # a path outside the root stays absolute, so moving it changes the digest
    assert config_digest(copy, Path("/nowhere")) != config_digest(SAMPLE, ROOT)


def test_a_value_of_an_unknown_type_is_a_bug_not_a_silent_skip() -> None:
    odd = dataclasses.replace(
        SAMPLE.locations[0].contacts[0], fields={"when": types.SimpleNamespace()}
    )
    location = dataclasses.replace(SAMPLE.locations[0], contacts=(odd,))
    state = dataclasses.replace(SAMPLE, locations=(location,))
    with pytest.raises(TypeError, match="no JSON form for SimpleNamespace"):
        config_digest(state, ROOT)


def _whole_tree(value: Any) -> Any:
    """The digest's JSON built whole, as the digest once was."""
    if isinstance(value, str) and value.startswith(f"{ROOT}/"):
        return value[len(f"{ROOT}/") :]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _whole_tree(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.compare and f.name not in NOT_CONFIG
        }
    if isinstance(value, tuple | list):
        return [_whole_tree(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _whole_tree(v) for k, v in value.items()}
    if isinstance(value, timedelta):
        return format_duration(value)
    return value


def test_a_large_config_is_hashed_piecewise_to_the_same_bytes() -> None:
    """Long tuples (more locations and contacts than one piece holds) are encoded a
    piece at a time; the bytes hashed are still those of the whole JSON text."""
    template = SAMPLE.locations[0]
    contacts = tuple(
        dataclasses.replace(
            template.contacts[0],
            key=f"email:m{n}@example.com",
            fields={"email": f"m{n}@example.com", "firstName": f"Mé{n}"},
            custom_fields={"pincode": "b"} if n % 3 else {},
        )
        for n in range(300)
    )
    locations = tuple(
        dataclasses.replace(
            template,
            name=f"loc{n}",
            id=f"id{n}",
            contacts=contacts if n in (0, 69) else template.contacts,
            integrations=(),
            token=None,
        )
        for n in range(70)
    )
    state = dataclasses.replace(SAMPLE, locations=locations, agency=AgencySpec())
    text = json.dumps(
        _whole_tree(state), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert config_digest(state, ROOT) == hashlib.sha256(text.encode()).hexdigest()
