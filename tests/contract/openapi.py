"""The official OpenAPI files as JSON Schemas, for the contract tests.

The files are read from ``shared/reference/highlevel-openapi`` beside the repository
(never copied into it). ``$ref``s are inlined (across files, relative to the file that
holds them); OpenAPI's ``nullable: true`` becomes a ``null`` type. One upstream quirk is
mapped, as ``LICENSE-NOTE.md`` explains: the v3 spec's ``../common/common-schemas.json``
lives at ``apps/v3/common/``.

``strict=True`` also closes every object schema that lists properties
(``additionalProperties: false``): a response may then hold only declared fields.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from tests.conftest import SHARED

OPENAPI = SHARED / "reference" / "highlevel-openapi"
CONTACTS = "apps/contacts.json"
CONTACTS_V3 = "apps/v3/contacts-v3.json"
LOCATIONS = "apps/locations.json"


@cache
def load(relative: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OPENAPI / relative).read_text(encoding="utf-8"))
    return data


def _target(holder: str, ref: str) -> tuple[str, str]:
    file_part, _, pointer = ref.partition("#")
    if not file_part:
        return holder, pointer
    resolved = (Path(holder).parent / file_part).as_posix()
    parts: list[str] = []
    for piece in resolved.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    relative = "/".join(parts)
    if not (OPENAPI / relative).exists() and holder.startswith("apps/v3/"):
        relative = "apps/v3/common/" + Path(relative).name
    return relative, pointer


_DROPPED = ("example", "examples", "description", "deprecated")


def _inline(
    node: Any, holder: str, strict: bool, depth: int = 0, keep: tuple[str, ...] = ()
) -> Any:
    if depth > 40:
        raise RuntimeError("reference cycle in the OpenAPI file")
    if isinstance(node, list):
        return [_inline(item, holder, strict, depth, keep) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        relative, pointer = _target(holder, node["$ref"])
        found: Any = load(relative)
        for key in pointer.strip("/").split("/"):
            found = found[key]
        return _inline(found, relative, strict, depth + 1, keep)
    out = {
        key: value if key in keep else _inline(value, holder, strict, depth, keep)
        for key, value in node.items()
        if key in keep or key not in _DROPPED
    }
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        strict
        and out.get("type") in ("object", ["object", "null"])
        and "properties" in out
    ):
        out.setdefault("additionalProperties", False)
    return out


def schema(relative: str, pointer: str, *, strict: bool = False) -> dict[str, Any]:
    """The schema at ``pointer`` (``/components/schemas/X``) of file ``relative``."""
    found: Any = load(relative)
    for key in pointer.strip("/").split("/"):
        found = found[key.replace("~1", "/")]
    result: dict[str, Any] = _inline(copy.deepcopy(found), relative, strict)
    return result


def operation(relative: str, path: str, method: str) -> dict[str, Any]:
    op: dict[str, Any] = load(relative)["paths"][path][method.lower()]
    return op


def response_schema(
    relative: str, path: str, method: str, status: int, *, strict: bool = False
) -> dict[str, Any] | None:
    """The declared JSON schema of one response, or None when the spec declares none."""
    response = operation(relative, path, method)["responses"].get(str(status))
    if response is None:
        raise AssertionError(f"{method} {path} declares no {status} response")
    content = response.get("content", {}).get("application/json", {})
    if "schema" not in content:
        return None
    result: dict[str, Any] = _inline(content["schema"], relative, strict)
    return result


def request_schema(relative: str, path: str, method: str) -> dict[str, Any]:
    """The request body schema, ``example`` values kept (validators ignore them)."""
    body = operation(relative, path, method)["requestBody"]
    found: dict[str, Any] = _inline(
        body["content"]["application/json"]["schema"],
        relative,
        False,
        keep=("example",),
    )
    return found


def example_of(node: dict[str, Any]) -> Any:
    """A value valid for ``node`` built from the spec's own examples.

    An ``example`` is used when it is valid for its own schema; else the first enum
    value, the first ``anyOf``/``allOf`` branch, or an object/array built from the parts.
    Properties whose example contradicts their declared type (spec defects such as
    ``dateOfBirth: object`` with example ``"1990-09-25"``) are left out: see
    :func:`self_inconsistent`.
    """
    if "example" in node and not errors(node["example"], node):
        return node["example"]
    if "enum" in node:
        return node["enum"][0]
    for key in ("anyOf", "allOf", "oneOf"):
        if key in node:
            return example_of(node[key][0])
    kind = node.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in node:
        return {
            name: example_of(sub)
            for name, sub in node.get("properties", {}).items()
            if not self_inconsistent(sub)
        }
    if kind == "array":
        return [example_of(node["items"])] if "items" in node else []
    return {"string": "text", "boolean": True, "number": 1, "integer": 1}.get(
        str(kind), "text"
    )


def self_inconsistent(node: dict[str, Any]) -> bool:
    """True when the spec's own example for ``node`` fails ``node``'s schema."""
    return "example" in node and bool(errors(node["example"], node))


def raw_schema(relative: str, name: str) -> dict[str, Any]:
    """A component schema as written (refs and examples kept)."""
    found: dict[str, Any] = load(relative)["components"]["schemas"][name]
    return found


def errors(instance: Any, against: dict[str, Any]) -> list[str]:
    """Every validation error, as ``path: message`` lines (empty when valid)."""
    validator = Draft7Validator(against)
    return [
        f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(instance)
    ]
