"""docs/emulator-admin-api.md documents every admin route, and only those."""

from __future__ import annotations

import re

from starlette.routing import Route

from hlsync.emulator.admin import admin_routes
from tests.conftest import REPO

PAGE = REPO / "docs" / "emulator-admin-api.md"
HEADING = re.compile(r"^### `(GET|POST|PUT|PATCH|DELETE) (/_emulator/[^`]*)`$")


def documented() -> list[tuple[str, str]]:
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    return [(found[1], found[2]) for line in lines if (found := HEADING.match(line))]


def served() -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in admin_routes()
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_every_admin_route_has_a_section_and_every_section_a_route() -> None:
    sections = documented()
    assert len(sections) == len(set(sections)), "a route is documented twice"
    assert sorted(served() - set(sections)) == [], "routes without a section"
    assert sorted(set(sections) - served()) == [], "sections without a route"
    assert len(sections) > 20
