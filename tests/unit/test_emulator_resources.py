"""The registry of emulated upstream resources: every module under
``hlsync/emulator/resources/`` is mounted, and a literal path is never shadowed by a
parameter whatever order the registry lists the resources in."""

from __future__ import annotations

import pkgutil

import pytest
from starlette.routing import Route

from hlsync.emulator import app as emulator_app
from hlsync.emulator import resources
from hlsync.emulator.app import RESOURCES, create_app, route_template, upstream_routes


def _resource_modules() -> set[str]:
    return {
        f"{resources.__name__}.{info.name}"
        for info in pkgutil.iter_modules(resources.__path__)
    }


def test_every_resource_module_is_in_the_registry() -> None:
    registered = {routes.__module__ for routes in RESOURCES}
    assert _resource_modules() == registered
    assert len(RESOURCES) == len(registered)


def test_every_registered_route_is_mounted() -> None:
    mounted = {
        (route.path, frozenset(route.methods or ()))
        for route in create_app().routes
        if isinstance(route, Route)
    }
    for routes in RESOURCES:
        served = routes()
        assert served, routes.__module__
        for route in served:
            assert (route.path, frozenset(route.methods or ())) in mounted


def _scope(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": ""}


@pytest.mark.parametrize("reverse", [False, True])
def test_a_literal_path_reaches_its_own_route(
    monkeypatch: pytest.MonkeyPatch, reverse: bool
) -> None:
    """``/locations/search`` is not taken for a ``{locationId}``, nor
    ``/contacts/upsert`` for a ``{contactId}``, in either registry order, each
    resource's own routes reversed too."""
    if reverse:
        backwards = tuple(
            (lambda routes=routes: list(reversed(routes())))
            for routes in reversed(RESOURCES)
        )
        monkeypatch.setattr(emulator_app, "RESOURCES", backwards)
    routes = upstream_routes()
    # the scope gate's mounts: tests/unit/test_scope_gate.py
    literal = [r for r in routes if isinstance(r, Route) and "{" not in r.path]
    assert {r.path.rstrip("/") for r in literal} >= {
        "/contacts/search",
        "/contacts/upsert",
        "/locations/search",
    }
    for route in literal:
        for method in route.methods or ():
            if method == "HEAD":
                continue
            template = route_template(routes, _scope(method, route.path))
            assert template == f"{method} {route.path}"
