"""``hlsync verify NAME [PATH] [--excess]``: probe a Private Integration's token.

With the integration's delivered token (read back from its ``file`` or ``env_file``
sink, where ``hlsync token deliver`` stored it; a ``command`` sink cannot be read back:
an error says so), this sends one probe per declared scope — a read for a read scope, a
request refused for its body for a write scope, never one that can change data
(:mod:`hlsync.live.probes` says how and on what assumption) — and reports each scope
``ok``, ``MISSING`` or ``not verifiable`` (an agency integration with no location to
probe on; the company id unreadable for ``saas/company.write``). ``--excess`` also
probes every catalog scope of the token's level that is not declared, and reports
each ``absent`` or ``EXTRA`` (ticked in the UI beyond the config: the likeliest
mistake, and what a reviewed scope change must prevent); the report then shows the
runbook's edit that unticks them. A scheduled drift job can run it. The location's
own token (its ``token:`` reference, when it can be read) may be used to read the
location's company id, never to probe.

Exit 0 when every verifiable declared scope is held (and, with ``--excess``, no extra
one is), 1 when one is missing or extra, or the token is refused outright (invalid,
expired, another location's). The target is the config's (``url`` or
``leadconnector``; ``HLSYNC_LEADCONNECTOR_URL`` redirects the latter for tests); the
embedded sandbox has no address to probe.
"""

from __future__ import annotations

import argparse
import os

from hlsync.config.loader import display_path, load_config
from hlsync.core.model import DesiredState, LocationSpec
from hlsync.engine import event_loop
from hlsync.errors import HlsyncError
from hlsync.live.ledger import integration_key
from hlsync.live.manual import find_integration, leadconnector_base_url
from hlsync.live.verify import Subject, check_scopes, render_report
from hlsync.targets.location_tokens import own_tokens
from hlsync.tokens.sinks.registry import sink_of
from hlsync.tokens.sinks.routing import config_dir, sink_for


def run(args: argparse.Namespace) -> int:
    desired = load_config(args.path, allow=args.allow_path)
    spec, decl = find_integration(desired, args.name)
    location = None if spec is None else spec.name
    key = integration_key(location, decl.name)
    if decl.ensure == "absent":
        raise HlsyncError(f"{key} is declared `ensure: absent`; nothing to verify")
    base_url = _base_url(desired)
    token = _delivered_token(desired, location, decl.name, key)
    probed = spec if spec is not None else _agency_probe_location(desired)
    subject = Subject(
        key=key,
        name=decl.name,
        location=location,
        location_id=None if probed is None else probed.id,
        scopes=tuple(decl.scopes),
    )
    lookup = (
        None if probed is None else own_tokens(desired, os.environ).get(probed.name)
    )
    report = event_loop.run(
        check_scopes(
            base_url,
            token,
            subject,
            excess=args.excess,
            timeout=args.timeout,
            lookup_token=lookup,
        )
    )
    root = None if args.path in (".", "") else args.path
    print(render_report(report, root))
    return report.exit_code


def _base_url(desired: DesiredState) -> str:
    if desired.target.kind == "sandbox":
        raise HlsyncError(
            "verify probes a running API; the embedded sandbox has none",
            hints=("use it with `target: leadconnector` or `target: {url: ...}`",),
        )
    return leadconnector_base_url(desired.target, os.environ)


def _agency_probe_location(desired: DesiredState) -> LocationSpec | None:
    return desired.locations[0] if desired.locations else None


def _delivered_token(
    desired: DesiredState, location: str | None, name: str, key: str
) -> str:
    """The token in the integration's sink (``file`` or ``env_file``, the default
    token file when none is configured); a ``command`` sink cannot be read back."""
    spec = sink_for(desired, location, name)
    sink = sink_of(spec)
    if not sink.readable:
        label = sink.label(config_dir(desired))
        raise HlsyncError(
            f"{key} delivers its token to {sink.noun} sink ({label}), which cannot be "
            "read back, so verify has no token to probe with",
            spec.source,
            hints=("verify reads the token from a file or env_file sink",),
        )
    value = sink.read()
    if not value:
        raise HlsyncError(
            f"no token of {key} has been delivered ({sink.why_empty(display_path)})",
            hints=(f"run 'hlsync token deliver {key}' with the token from the UI",),
        )
    return value
