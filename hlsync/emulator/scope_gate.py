"""The scope gate: every scope-catalog endpoint no resource in ``resources/`` models.

HighLevel's catalog (91 scopes, reference §2.3) names ~245 endpoints; the emulator
models the few hlsync manages (contacts, locations, tags, custom fields, custom
values). This module serves all the others, so that a request to any catalog endpoint
is checked as upstream checks it and ``hlsync verify`` (``live/probes.py``) means the
same here as upstream. The routes come from ``data/scope_routes.json``, which
``hlsync/emulator/scope_routes_build.py`` builds from the official OpenAPI files (its docstring
says how each field is read); an endpoint a resource module serves is left to it.

Every gated request goes through the checks in the order every handler keeps
(token → scope → location → body; the token is the middleware's):

1. the JSON body is parsed when the route declares one or names its location in it
   (400 when it is not JSON, as upstream's body parser answers before any guard);
2. the token's level and scope (401 ``The token is not authorized for this scope.``);
3. the location or company the request names (path, query or body: ``locationId``,
   ``location_id``, ``altId``, ``companyId``): another location's or company's → 403;
4. the required query parameters (422 ``X should not be empty``);
5. the body against the operation's request schema, top-level properties (422 with
   every problem: unknown property, missing required one, wrong type or enum value).
   A schema that declares no property is checked only for being an object. An
   endpoint no official file declares (``source: null``) has no rules for 4 and 5.

What a request that passes them all gets (``answer``): a read of a list answers its
success status with the list empty (the ``empty`` body; a ``traceId`` fresh); a read or
a PUT/PATCH/DELETE of one object answers 404 (no object of an unmodelled resource
exists); anything else, a valid create above all, answers 501 ``not emulated``: the
emulator keeps no such data, and says so rather than pretend. ``hlsync verify`` never
sends a request that could get this far with a write.

Versions: a gated route accepts the ``Version`` values its operation declares (the
calendars, conversations and SaaS families declare ``2021-04-15``) and ``v3``; one
declaring none accepts every version the emulator knows (:func:`versions`, asked by
the middleware).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

from hlsync.emulator.auth import require
from hlsync.emulator.errors import EmulatorError
from hlsync.emulator.handling import (
    Handler,
    body_text,
    json_body,
    routes_for,
    trace_id,
)
from hlsync.emulator.validation import Prop, check_body
from hlsync.resources import data_path

Answer = Literal["list", "missing", "unemulated"]
Place = Literal["path", "query", "body"]
TRACE_ID = "{traceId}"
KNOWN_VERSIONS = frozenset({"2021-07-28", "2021-04-15", "v3"})
NOT_EMULATED = "Not Implemented"


@dataclass(frozen=True, slots=True)
class Naming:
    """Where a request names the location or company it acts on."""

    place: Place
    name: str
    of: Literal["location", "company"]


@dataclass(frozen=True, slots=True)
class GateRoute:
    """One catalog endpoint as ``data/scope_routes.json`` holds it."""

    method: str
    path: str
    scope: str
    levels: tuple[str, ...]
    versions: frozenset[str]
    query: tuple[str, ...]
    body: Mapping[str, Prop] | None
    names: Naming | None
    answer: Answer
    object: str | None
    status: int
    empty: Any
    source: str | None
    catalog: str | None

    @property
    def template(self) -> str:
        """``GET /blogs/authors``: as the request log and fault rules name it."""
        return f"{self.method} {self.path}"


def _prop(raw: Mapping[str, Any]) -> Prop:
    return Prop(
        raw["kind"],
        required=bool(raw.get("required")),
        nullable=bool(raw.get("nullable")),
        enum=tuple(raw.get("enum", ())),
    )


def _route(raw: Mapping[str, Any]) -> GateRoute:
    body = raw["body"]
    names = raw["names"]
    return GateRoute(
        method=raw["method"],
        path=raw["path"],
        scope=raw["scope"],
        levels=tuple(raw["levels"]),
        versions=frozenset(raw["versions"]) | {"v3"}
        if raw["versions"]
        else KNOWN_VERSIONS,
        query=tuple(raw["query"]),
        body=None if body is None else {k: _prop(v) for k, v in body.items()},
        names=None
        if names is None
        else Naming(names["in"], names["name"], names["of"]),
        answer=raw["answer"],
        object=raw["object"],
        status=raw["status"],
        empty=raw["empty"],
        source=raw["source"],
        catalog=raw["catalog"],
    )


@cache
def gate_routes() -> tuple[GateRoute, ...]:
    """Every catalog endpoint, in catalog order (modelled ones included)."""
    raw = json.loads(data_path("scope_routes.json").read_text(encoding="utf-8"))
    return tuple(_route(entry) for entry in raw["routes"])


def shape(method: str, path: str) -> tuple[str, str]:
    """A route's method and path with its parameters blanked, no end slash: two
    routes of one shape serve the same requests."""
    return method, re.sub(r"\{[^}]+\}", "{}", path).rstrip("/") or "/"


def routes(modelled: Iterable[BaseRoute]) -> list[BaseRoute]:
    """The gate's routes for every catalog endpoint ``modelled`` does not serve, to
    go after them.

    A path of one segment is a route of its own; the others are mounted under their
    first segment (``/blogs``: ``/authors``, ``/posts/{postId}`` …), most specific
    first within each mount, so a request passes some 30 routes on its way instead of
    some 400. A mount takes every path under its prefix, hence last: a modelled route
    is always tried first.
    """
    served = shapes(modelled)
    single: list[tuple[str, Handler, tuple[str, ...]]] = []
    grouped: dict[str, list[tuple[str, Handler, tuple[str, ...]]]] = {}
    for gate in unmodelled(served):
        first, _, rest = gate.path.strip("/").partition("/")
        methods = (gate.method,)
        if rest:
            grouped.setdefault(first, []).append(("/" + rest, _handler(gate), methods))
        else:
            single.append((gate.path, _handler(gate), methods))
    mounts: list[BaseRoute] = []
    for first, table in sorted(grouped.items()):
        inner: list[Route] = sorted(routes_for(table), key=specificity)
        mounts.append(Mount("/" + first, routes=inner))
    return [*sorted(routes_for(single), key=specificity), *mounts]


class Gate(BaseRoute):
    """The gate's routes (:func:`routes`) as one route of the app, built the first time
    a request gets past the modelled routes.

    Building them compiles some 400 path patterns (~55 ms): a cost every ``hlsync``
    run on the sandbox and every ``hlsync emulator serve`` would pay at start, when
    most never send a request the modelled routes do not take. A request whose first
    path segment starts no gated path (the admin API's ``/_emulator`` …) is turned
    away without them.
    """

    _ROUTE = "hlsync.gate_route"  # the scope key naming the inner route that matched

    def __init__(self, modelled: Iterable[BaseRoute]) -> None:
        self._modelled = list(modelled)
        self._routes: list[BaseRoute] | None = None
        self._firsts: frozenset[str] | None = None

    @property
    def routes(self) -> list[BaseRoute]:
        if self._routes is None:
            self._routes = routes(self._modelled)
        return self._routes

    def _gated(self, path: str) -> bool:
        """Whether ``path``'s first segment starts some gated path."""
        if self._firsts is None:
            gated = unmodelled(shapes(self._modelled))
            self._firsts = frozenset(_first(gate.path) for gate in gated)
        return _first(path) in self._firsts

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """The first inner route's full match, else its first partial one (405), as
        the app's router would find them among the inner routes."""
        if not self._gated(scope["path"]):
            return Match.NONE, {}
        partial: tuple[Match, Scope] | None = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                return match, {**child, self._ROUTE: route}
            if match == Match.PARTIAL and partial is None:
                partial = (match, {**child, self._ROUTE: route})
        return partial or (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope[self._ROUTE]
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)


def _first(path: str) -> str:
    return path.strip("/").partition("/")[0]


def specificity(route: Route) -> tuple[bool, ...]:
    """At each path segment a literal sorts before a parameter."""
    return tuple(part.startswith("{") for part in route.path.strip("/").split("/"))


def shapes(served: Iterable[BaseRoute]) -> set[tuple[str, str]]:
    """The shapes (:func:`shape`) of the routes ``served``."""
    return {
        shape(method, route.path)
        for route in served
        if isinstance(route, Route)
        for method in route.methods or ()
    }


def unmodelled(served: set[tuple[str, str]]) -> list[GateRoute]:
    """The gate routes whose shape is not in ``served``."""
    return [g for g in gate_routes() if shape(g.method, g.path) not in served]


@cache
def _versions() -> Mapping[str, frozenset[str]]:
    found: dict[str, frozenset[str]] = {}
    for gate in gate_routes():
        bare = gate.path.rstrip("/") or "/"
        found[f"{gate.method} {bare}"] = gate.versions
        found[f"{gate.method} {bare}/"] = gate.versions
    return found


def versions(route: str | None) -> frozenset[str] | None:
    """The ``Version`` values route template ``route`` accepts when the gate serves
    it, else None (the middleware's own set applies)."""
    return None if route is None else _versions().get(route)


def _named(request: Request, gate: GateRoute, body: Any) -> str | None:
    names = gate.names
    if names is None:
        return None
    if names.place == "path":
        value: str | None = request.path_params.get(names.name)
    elif names.place == "query":
        value = request.query_params.get(names.name) or None
    else:
        value = body_text(body, names.name)
    return value


def _handler(gate: GateRoute) -> Handler:
    reads_body = gate.body is not None or (
        gate.names is not None and gate.names.place == "body"
    )

    async def handler(request: Request) -> JSONResponse:
        body = await json_body(request) if reads_body else None
        named = _named(request, gate, body)
        require(
            request,
            gate.scope,
            location_id=named if gate.names and gate.names.of == "location" else None,
            company_id=named if gate.names and gate.names.of == "company" else None,
            levels=gate.levels,
        )
        missing = [
            f"{name} should not be empty"
            for name in gate.query
            if not request.query_params.get(name)
        ]
        if missing:
            raise EmulatorError.unprocessable(missing)
        if gate.body:
            check_body(body, gate.body)
        elif gate.body is not None and not isinstance(body, dict):
            raise EmulatorError.unprocessable(["body must be a JSON object"])
        return _answer(request, gate)

    snake = re.sub(r"\W+", "_", gate.template).strip("_").lower()
    handler.__name__ = handler.__qualname__ = f"gate_{snake}"
    return handler


def _answer(request: Request, gate: GateRoute) -> JSONResponse:
    if gate.answer == "list":
        return JSONResponse(_fresh(copy.deepcopy(gate.empty)), gate.status)
    if gate.answer == "missing" and gate.object is not None:
        value = request.path_params.get(gate.object, "")
        raise EmulatorError(
            404,
            {
                "statusCode": 404,
                "message": f"{gate.object} {value} not found",
                "error": "Not Found",
            },
        )
    raise EmulatorError(
        501,
        {
            "statusCode": 501,
            "message": f"{gate.method} {gate.path} is not emulated: the emulator "
            f"checks its token, scope ({gate.scope}), location and body, and keeps "
            "no such data",
            "error": NOT_EMULATED,
        },
    )


def _fresh(value: Any) -> Any:
    """``value`` with each ``traceId`` placeholder a new trace id."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return trace_id() if value == TRACE_ID else value
