#!/usr/bin/env python3
"""Build ``hlsync/data/scope_routes.json``: every scope-catalog endpoint as the official
OpenAPI files declare it, for the emulator's scope gate (``emulator/scope_gate.py``).

Input: a checkout of GoHighLevel/highlevel-api-docs (CC0; the reference folder's
copies are from commit 0af86a4, ``LICENSE-NOTE.md``), read from ``apps/*.json`` (v2),
and the scope catalog ``hlsync/data/scopes.json``. Usage::

    python -m hlsync.emulator.scope_routes_build /path/to/highlevel-api-docs [--check]

Each catalog endpoint is matched to its operation (method and path, parameter names
ignored). Where the catalog spells an endpoint otherwise than the files do, the
operation is the one :data:`CORRECTIONS` names (the catalog's spelling is kept in the
entry's ``catalog``); an endpoint no file declares is kept as the catalog spells it,
with no parameter or body rules (``source: null``). ``objects/schema.write`` lists no
endpoint in the catalog; :data:`EXTRA` adds the operation the files give it.

Per entry, from the operation:

* ``scope``: the scope the operation's ``security`` names when it is a catalog scope,
  else the catalog's (many operations declare an empty list; three catalog rows are
  filed under ``funnels/pagecount.readonly`` while their operations name the write
  scope they belong to). ``levels``: the catalog's access of that scope's endpoint.
* ``versions``: the ``Version`` header's enum; ``query``: the required query
  parameters; ``body``: the request body's top-level properties as the emulator's
  ``Prop`` tables hold them (kind, required, nullable, enum), None without a body.
* ``names``: where the request names its location or company (``path``, ``query`` or
  ``body``, the parameter, and ``location`` or ``company``), None when it names none.
* ``object``: the path parameter naming one object (the last segment when it is a
  parameter other than ``locationId``/``companyId`` and not an enum), None for a list.
* ``status``: the success status; ``empty``: for a read of a list, the answer with
  nothing in it, built from the response schema (arrays empty, counts 0, required
  objects the same way), None when the schema needs a value nothing can stand for.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from hlsync.resources import data_path

CATALOG = data_path("scopes.json")
OUT = data_path("scope_routes.json")
METHODS = ("get", "post", "put", "patch", "delete")
SAAS = "/saas-api/public-api"

# catalog spelling -> the official operation (method and path as the files write it)
CORRECTIONS = {
    "GET /locations/timeZones": "GET /locations/{locationId}/timezones",
    "GET /custom-field/object-key/:key": "GET /custom-fields/object-key/{objectKey}",
    "POST /calendars/resources": "POST /calendars/resources/{resourceType}",
    "GET /locations": f"GET {SAAS}/locations",
    "PUT /update-saas-subscription/:locationId": (
        f"PUT {SAAS}/update-saas-subscription/{{locationId}}"
    ),
    "POST /bulk-disable-saas/:companyId": f"POST {SAAS}/bulk-disable-saas/{{companyId}}",
    "POST /enable-saas/:locationId": f"POST {SAAS}/enable-saas/{{locationId}}",
}
# scope -> operations the catalog does not list for it
EXTRA = {"objects/schema.write": ("PUT /objects/{key}",)}
LOCATION_NAMES = ("locationId", "location_id", "altId")
COMPANY_NAMES = ("companyId",)


class Spec:
    """The operations of every ``apps/*.json``, with their files for ``$ref``s."""

    def __init__(self, root: Path) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self.ops: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {}
        for path in sorted((root / "apps").glob("*.json")):
            name = f"apps/{path.name}"
            data = json.loads(path.read_text(encoding="utf-8"))
            self.files[name] = data
            for template, item in data.get("paths", {}).items():
                for method, op in item.items():
                    if method in METHODS:
                        key = (method.upper(), _shape(template))
                        self.ops.setdefault(key, (name, template, op))

    def find(self, method: str, path: str) -> tuple[str, str, dict[str, Any]] | None:
        return self.ops.get((method, _shape(path)))

    def resolve(self, name: str, node: Any) -> Any:
        """``node`` with a local ``$ref`` followed (one level)."""
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"].partition("#")[2]
            found: Any = self.files[name]
            for key in pointer.strip("/").split("/"):
                found = found[key]
            node = found
        return node


def _shape(path: str) -> str:
    """A path with its parameters blanked (``{id}`` and ``:id`` alike), no end slash."""
    return re.sub(r"\{[^}]+\}|:[A-Za-z_]+", "{}", path).rstrip("/") or "/"


def _starlette(path: str) -> str:
    return re.sub(r":([A-Za-z_]+)", r"{\1}", path).rstrip("/") or "/"


def _parameters(spec: Spec, name: str, op: dict[str, Any]) -> list[dict[str, Any]]:
    return [spec.resolve(name, p) for p in op.get("parameters", [])]


def _merged(spec: Spec, name: str, schema: Any, depth: int = 0) -> dict[str, Any]:
    """An object schema with ``allOf`` parts merged (properties and required)."""
    schema = spec.resolve(name, schema)
    if not isinstance(schema, dict) or depth > 10:
        return {}
    if "allOf" not in schema:
        return schema
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in schema["allOf"]:
        inner = _merged(spec, name, part, depth + 1)
        merged["properties"].update(inner.get("properties", {}))
        merged["required"] += inner.get("required", [])
    merged["properties"].update(schema.get("properties", {}))
    merged["required"] += schema.get("required", [])
    return merged


def _kind(spec: Spec, name: str, prop: Any) -> dict[str, Any]:
    prop = spec.resolve(name, prop)
    if not isinstance(prop, dict):
        return {"kind": "any"}
    out: dict[str, Any] = {}
    kind = prop.get("type")
    if kind == "string":
        out["kind"] = "string"
        enum = [v for v in prop.get("enum", []) if isinstance(v, str)]
        if enum and len(enum) == len(prop.get("enum", [])):
            out["enum"] = enum
    elif kind == "boolean":
        out["kind"] = "boolean"
    elif kind in ("number", "integer"):
        out["kind"] = "number"
    elif kind == "array":
        items = spec.resolve(name, prop.get("items", {}))
        is_text = isinstance(items, dict) and items.get("type") == "string"
        out["kind"] = "strings" if is_text else "array"
    elif kind == "object" or "properties" in prop or "allOf" in prop:
        out["kind"] = "object"
    else:
        out["kind"] = "any"
    if prop.get("nullable"):
        out["nullable"] = True
    return out


def _body(spec: Spec, name: str, op: dict[str, Any]) -> dict[str, Any] | None:
    body = spec.resolve(name, op.get("requestBody"))
    if not isinstance(body, dict):
        return None
    content: dict[str, Any] = body.get("content", {})
    medias = [m for m in ("application/json", "multipart/form-data") if m in content]
    media = medias[0] if medias else next(iter(content), "")
    schema = content.get(media, {}).get("schema")
    schema = _merged(spec, name, schema)
    required = set(schema.get("required", []))
    return {
        prop: {
            **_kind(spec, name, value),
            **({"required": True} if prop in required else {}),
        }
        for prop, value in schema.get("properties", {}).items()
    }


def _names(
    params: list[dict[str, Any]], body: dict[str, Any] | None
) -> dict[str, str] | None:
    """Where the request names its location or company, most binding first."""
    by_place: dict[str, dict[str, dict[str, Any]]] = {"path": {}, "query": {}}
    for p in params:
        if p.get("in") in by_place:
            by_place[p["in"]][p["name"]] = p
    for place in ("path", "query"):
        found = by_place[place]
        for param in LOCATION_NAMES:
            if param in found and (place == "path" or found[param].get("required")):
                return {"in": place, "name": param, "of": "location"}
        for param in COMPANY_NAMES:
            if param in found and (place == "path" or found[param].get("required")):
                return {"in": place, "name": param, "of": "company"}
    for param in ("locationId", "altId"):
        if body and param in body:
            return {"in": "body", "name": param, "of": "location"}
    if body and "companyId" in body:
        return {"in": "body", "name": "companyId", "of": "company"}
    return None


def _objects(path: str, params: list[dict[str, Any]]) -> list[str]:
    """The path parameters naming objects: not the location or company, no enum."""
    enums = {p.get("name") for p in params if p.get("schema", {}).get("enum")}
    found = re.findall(r"\{([^}]+)\}", path)
    return [p for p in found if p not in LOCATION_NAMES + COMPANY_NAMES + tuple(enums)]


def _answer(
    method: str, path: str, objects: list[str], reads: bool, empty: Any
) -> tuple[str, str | None]:
    """What the gate answers a request that passed every check, and the object
    parameter a ``missing`` answer names."""
    last = path.rsplit("/", 1)[-1]
    named_last = bool(objects) and last == "{" + objects[-1] + "}"
    if reads:
        if named_last or (empty is ... and objects):
            return "missing", objects[-1]
        return ("unemulated", None) if empty is ... else ("list", None)
    if named_last and method in ("PUT", "PATCH", "DELETE"):
        return "missing", objects[-1]
    return "unemulated", None


TRACE_ID = "{traceId}"  # the emulator puts a fresh trace id here
# the social planner's envelope: what an empty answer says besides its data
ENVELOPE = {"success": True, "message": "OK"}


def _empty(spec: Spec, name: str, schema: Any, status: int) -> Any:
    """The answer with nothing in it, or ``...`` when the schema needs a value nothing
    can stand for: arrays empty, numbers 0 where they count (``total``, ``count``),
    required objects alike, a required ``traceId`` fresh, the envelope
    (``success``, ``statusCode``, ``message``) filled."""

    def walk(schema: Any, depth: int, prop: str) -> Any:
        schema = _merged(spec, name, schema)
        kind = schema.get("type")
        if kind == "array":
            return []
        if kind in ("number", "integer"):
            if prop == "statusCode" and depth == 1:
                return status
            counts = "total" in prop.lower() or "count" in prop.lower()
            return 0 if counts else ...
        if kind == "boolean":
            return ENVELOPE["success"] if prop == "success" and depth == 1 else ...
        if kind == "string":
            if prop == "traceId":
                return TRACE_ID
            return ENVELOPE["message"] if prop == "message" and depth == 1 else ...
        if (kind != "object" and "properties" not in schema) or depth > 6:
            return ...
        required = set(schema.get("required", []))
        out: dict[str, Any] = {}
        for key, value in schema.get("properties", {}).items():
            inner = walk(value, depth + 1, key)
            if inner is ...:
                if key in required:
                    return ...
                continue
            if key in required or isinstance(inner, list | int) or inner:
                out[key] = inner
        return out

    return walk(schema, 0, "")


def _success(op: dict[str, Any]) -> tuple[int, Any]:
    for status, response in sorted(op.get("responses", {}).items()):
        if status.startswith("2"):
            content = response.get("content", {}).get("application/json", {})
            return int(status), content.get("schema")
    return 200, None


def _entry(
    spec: Spec,
    scope_name: str,
    levels: list[str],
    method: str,
    catalog_path: str | None,
    wanted: str,
    scopes: dict[str, Any],
) -> dict[str, Any]:
    method, wanted_path = wanted.split(" ", 1)
    found = spec.find(method, wanted_path)
    if found is None:
        path = _starlette(wanted_path)
        named = "{locationId}" in path
        answer, obj = _answer(method, path, _objects(path, []), False, ...)
        return {
            "method": method,
            "path": path,
            "catalog": catalog_path,
            "scope": scope_name,
            "levels": levels,
            "source": None,
            "versions": [],
            "query": [],
            "body": None,
            "names": {"in": "path", "name": "locationId", "of": "location"}
            if named
            else None,
            "answer": answer,
            "object": obj,
            "status": 200,
            "empty": None,
        }
    name, template, op = found
    path = _starlette(template)
    declared = [s for scheme in op.get("security") or [] for s in scheme.values()]
    named_scopes = [s for group in declared for s in group if s in scopes]
    if named_scopes and named_scopes[0] != scope_name:
        scope_name = named_scopes[0]
        levels = scopes[scope_name]["access"]
    params = _parameters(spec, name, op)
    version = [
        p.get("schema", {}).get("enum", [])
        for p in params
        if p.get("in") == "header" and p.get("name") == "Version"
    ]
    body = _body(spec, name, op)
    status, schema = _success(op)
    reads = scope_name.endswith((".readonly", ".read"))
    empty = _empty(spec, name, schema, status) if reads else ...
    answer, obj = _answer(method, path, _objects(path, params), reads, empty)
    return {
        "method": method,
        "path": path,
        "catalog": None if _shape(path) == _shape(catalog_path or "") else catalog_path,
        "scope": scope_name,
        "levels": levels,
        "source": name,
        "versions": version[0] if version else [],
        "query": [
            p["name"] for p in params if p.get("in") == "query" and p.get("required")
        ],
        "body": body,
        "names": _names(params, body),
        "answer": answer,
        "object": obj,
        "status": status,
        "empty": empty if answer == "list" else None,
    }


def build(root: Path) -> dict[str, Any]:
    catalog = json.loads(CATALOG.read_text(encoding="utf-8"))
    spec = Spec(root)
    scopes: dict[str, Any] = {}
    for s in catalog["scopes"]:
        scopes[s["name"]] = {
            "access": s["access"],
            "endpoint_levels": {
                f"{e['method']} {e['path']}": e["access"] for e in s["endpoints"]
            },
        }
    routes = []
    for s in catalog["scopes"]:
        for e in s["endpoints"]:
            catalog_path = f"{e['method']} {e['path']}"
            wanted = CORRECTIONS.get(catalog_path, catalog_path)
            routes.append(
                _entry(
                    spec,
                    s["name"],
                    e["access"],
                    e["method"],
                    e["path"],
                    wanted,
                    scopes,
                )
            )
        for wanted in EXTRA.get(s["name"], ()):
            routes.append(
                _entry(
                    spec,
                    s["name"],
                    s["access"],
                    wanted.split(" ", 1)[0],
                    None,
                    wanted,
                    scopes,
                )
            )
    return {
        "source": "GoHighLevel/highlevel-api-docs apps/*.json (v2) at 0af86a4, "
        "matched to hlsync/data/scopes.json by hlsync/emulator/scope_routes_build.py",
        "routes": routes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="a checkout of highlevel-api-docs")
    parser.add_argument("--check", action="store_true", help="exit 1 when stale")
    args = parser.parse_args(argv)
    text = json.dumps(build(args.root), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        return 0 if current == text else 1
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
