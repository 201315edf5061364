"""``hlsync scopes``: browse the scope catalog."""

from __future__ import annotations

import argparse

from hlsync.core.catalog import Catalog, Scope, load_catalog
from hlsync.errors import HlsyncError


def run(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    if args.scope:
        print(_show(catalog, args.scope), end="")
        return 0
    found = catalog.select(level=args.level, pattern=args.prefix)
    if not found:
        raise HlsyncError(
            "no scope matches", hints=("try 'hlsync scopes' with no filter",)
        )
    width = max(len(s.name) for s in found)
    for scope in found:
        levels = ", ".join(scope.access)
        print(f"{scope.name:<{width}}  {levels:<20}  {len(scope.endpoints)} endpoints")
    return 0


def _show(catalog: Catalog, name: str) -> str:
    scope = catalog.get(name)
    if scope is None:
        suggestions = catalog.suggest(name)
        hints = (f"did you mean {' or '.join(suggestions)}?",) if suggestions else ()
        raise HlsyncError(f"unknown scope {name!r}", hints=hints)
    return _describe(scope)


def _describe(scope: Scope) -> str:
    lines = [scope.name, f"  access: {', '.join(scope.access)}"]
    kind = "write (can change data)" if scope.is_write else "read only"
    lines.append(f"  kind:   {kind}")
    lines.append("  endpoints:")
    for endpoint in scope.endpoints:
        lines.append(f"    {endpoint}  ({', '.join(endpoint.access)})")
    if not scope.endpoints:
        lines.append("    (none listed)")
    lines.append("  webhook events:")
    lines.extend(f"    {event}" for event in scope.webhook_events)
    if not scope.webhook_events:
        lines.append("    (none)")
    return "\n".join(lines) + "\n"
