"""Token policy, seeding auth and organisation policy: the config side of issue 5.

:class:`TokenRules` is used by ``config_build.Builder`` on schema-valid data (the schema
already checked every shape, duration and name), and reports through ``report`` what
JSON Schema cannot see:

* ``token:`` of an integration becomes a ``model.TokenPolicy``; each sink kind parses
  its own shape (``parse`` of its class in :mod:`hlsync.tokens.sinks`), with paths
  resolved against the config file that names them (a command's program too, when it
  holds a ``/``), each of which must stay inside the config folder
  (:mod:`hlsync.config.containment`). ``overlap`` must be shorter than
  ``rotate_every``; the live HighLevel service keeps an old token exactly 7 days, so
  ``target: leadconnector`` accepts no other overlap. Two integrations delivering to the same file (or the same entry of one env
  file) would overwrite each other's token: an error at the second sink. A sink that is
  a YAML file is refused, since a directory config would read the token as config.
  ``revoke_issued_before`` must be an ISO 8601 instant with its time zone.
* a ``command`` sink's ``env:`` may not name a variable that holds a token: one that
  looks like a location token (``HL_*_TOKEN``) or one that a location's or the
  agency's ``token: {env: …}`` names (:meth:`TokenRules.check_command_env`, once every
  token variable is known). The command runs without any other variable of hlsync's
  environment (``sinks.command``), so this is the one way one could reach it.
* ``auth: {integration: NAME}`` of a location must name one of its own present
  integrations, with a sink hlsync can read back (not a command) and every scope the
  engine uses to seed: what each kind's ``write_scopes`` names for the location's config
  (``contacts.readonly`` and ``contacts.write`` always, the custom-field and tag scopes
  when it declares custom fields or tags). Each missing scope is
  one error at the ``auth`` entry, naming the scope and what it is needed for.
* ``policy:`` (``forbid_scopes`` globs, ``max_scopes``, ``max_rotate_every``) applies to
  every present integration, agency and locations alike; ``ensure: absent`` ones are
  exempt since they are being deleted. A forbidden scope is reported at the scope entry
  that names it, or at the scope-set reference that brings it in; ``max_scopes`` at the
  integration's ``scopes`` (else ``scope_sets``); ``max_rotate_every`` at
  ``rotate_every``, or at the integration (its ``token``) when it sets no rotation. A
  glob matching no scope of the catalog is an error too: a typo would silently switch
  the rule off.

Messages name integrations as ``location/name`` (``agency/name``), the way the journal
and ``hlsync token`` do.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from hlsync.config import checks
from hlsync.config.durations import format_duration, parse_duration
from hlsync.config.seeds import Report, Where
from hlsync.core.catalog import Catalog
from hlsync.core.model import (
    DEFAULT_OVERLAP,
    Integration,
    Policy,
    SinkSpec,
    TokenPolicy,
)
from hlsync.errors import Location
from hlsync.kinds.registry import KINDS
from hlsync.tokens.rotation import iso, parse_time
from hlsync.tokens.sinks.base import Claim
from hlsync.tokens.sinks.registry import SINK_KINDS, sink_class, sink_of

LIVE_OVERLAP = timedelta(days=7)  # the live service's fixed window (reference §7)
_CONFIG_SUFFIXES = (".yaml", ".yml")
_LOCATION_TOKEN = re.compile(r"HL_[A-Za-z0-9_]*_TOKEN")


@dataclass(frozen=True, slots=True)
class _Claim:
    """A file some integration's sink writes: which entry (None: all of it), whose,
    declared where."""

    key: str | None
    label: str
    where: Location


class TokenRules:
    """Builds token policies and checks sinks, ``auth`` and ``policy`` (module doc)."""

    def __init__(
        self,
        report: Report,
        catalog: Catalog,
        *,
        path_from: Callable[[Location, str, str], Path],
        display: Callable[[Path], str],
    ) -> None:
        self.report = report
        self.catalog = catalog
        self.path_from = path_from
        self.display = display
        self.live = False  # target: leadconnector
        self.policy = Policy()
        self._policy_at: Location | None = None
        self._longest = ""  # max_rotate_every as written
        self._claims: dict[Path, list[_Claim]] = {}
        self.token_variables: set[str] = set()  # named by token: {env: …}
        self._command_env: list[tuple[str, Location, str]] = []

    def read_policy(self, raw: Any, at: Callable[..., Location]) -> Policy:
        """The top-level ``policy:`` mapping as a ``model.Policy``."""
        if not isinstance(raw, dict):
            return self.policy
        names = [scope.name for scope in self.catalog]
        globs = raw.get("forbid_scopes", [])
        for index, glob in enumerate(globs):
            if not fnmatch.filter(names, glob):
                self.report(
                    f"forbid_scopes {checks.quote(glob)} matches no scope",
                    at("policy", "forbid_scopes", index),
                    checks.did_you_mean(glob, names)
                    or "write a scope name or a glob such as payments/*; "
                    "'hlsync scopes' lists them",
                )
        longest = raw.get("max_rotate_every")
        self._longest = str(longest)
        self._policy_at = at("policy")
        self.policy = Policy(
            forbid_scopes=tuple(globs),
            max_scopes=raw.get("max_scopes"),
            max_rotate_every=None if longest is None else parse_duration(longest),
            source=self._policy_at,
        )
        return self.policy

    def token(self, spec: Any, where: Where, label: str) -> TokenPolicy:
        """An integration's ``token:`` (``where`` is relative to the integration)."""
        if not isinstance(spec, dict):
            return TokenPolicy()
        rotate = _duration(spec.get("rotate_every"))
        overlap = _duration(spec.get("overlap")) or DEFAULT_OVERLAP
        if "overlap" in spec:
            spot = where(("token", "overlap"))
            if self.live and overlap != LIVE_OVERLAP:
                self.report(
                    f"overlap {spec['overlap']}: the live HighLevel service keeps an "
                    "old token exactly 7 days after a rotation",
                    spot,
                    "remove overlap: or set it to 7d for target: leadconnector",
                )
            if rotate is not None and overlap >= rotate:
                self.report(
                    f"overlap {spec['overlap']} must be shorter than rotate_every "
                    f"{spec['rotate_every']}",
                    spot,
                    "the next rotation would be due while the old token still works",
                )
        return TokenPolicy(
            rotate_every=rotate,
            overlap=overlap,
            generation=spec.get("generation", 0),
            sink=self._sink(spec.get("sink"), where, label),
            revoke_issued_before=self._instant(spec, where),
        )

    def _instant(self, spec: Mapping[str, Any], where: Where) -> str | None:
        """``revoke_issued_before`` as ISO 8601 UTC (``…Z``); the schema requires the
        offset (a time without one is ambiguous); a located error when it is still no
        instant (``2026-02-30T…``)."""
        text = spec.get("revoke_issued_before")
        if text is None:
            return None
        when = parse_time(str(text)) if isinstance(text, str) else None
        if when is None:
            self.report(
                f"revoke_issued_before {checks.quote(str(text))} is not an ISO 8601 "
                "instant with a time zone",
                where(("token", "revoke_issued_before")),
                "write the instant the token leaked (or now), in UTC: "
                "revoke_issued_before: 2026-12-01T00:00:00Z",
            )
            return None
        return iso(when)

    def _sink(self, spec: Any, where: Where, label: str) -> SinkSpec | None:
        if not isinstance(spec, dict):
            return None
        # the schema lets exactly one kind's key name the sink
        kind = next((k for k in SINK_KINDS if k in spec), None)
        if kind is None:  # a schema that knows a kind hlsync does not: never silent
            self.report(
                f"{label}: token sink names no kind hlsync knows",
                where(("token", "sink")),
                "write one of: " + ", ".join(SINK_KINDS),
            )
            return None

        def resolve(steps: tuple[str | int, ...], text: str) -> Path:
            spot = where(("token", "sink", *steps))
            return self.path_from(spot, text, f"token sink {steps[0]}")

        built = sink_class(kind).parse(spec, resolve, where(("token", "sink")))
        for index, name in enumerate(built.env):
            self._command_env.append(
                (name, where(("token", "sink", "env", index)), label)
            )
        claim = sink_of(built).claim()
        if claim is not None:
            self._claim(claim, where(("token", "sink", kind)), label)
        return built

    def check_command_env(self) -> None:
        """Refuse each ``env:`` entry of a command sink that names a token variable."""
        for name, spot, label in self._command_env:
            if name in self.token_variables:
                why = "a location's or the agency's token is read from it"
            elif _LOCATION_TOKEN.fullmatch(name):
                why = "its name says it holds a location token (HL_*_TOKEN)"
            else:
                continue
            self.report(
                f"{label}: the sink command may not receive {name}: {why}",
                spot,
                "a sink command gets the new token on its stdin and needs no other; "
                "remove it from env:",
            )

    def _claim(self, claim: Claim, spot: Location, label: str) -> None:
        """Refuse a sink file that is YAML, or that another integration's sink writes
        too (the whole file, or the same entry of it)."""
        path, key = claim.path, claim.entry
        shown = self.display(path)
        if path.suffix in _CONFIG_SUFFIXES:
            self.report(
                f"{label}: token sink {shown} is a YAML file",
                spot,
                "a directory config would read it as config; use another suffix, "
                "such as .token or .env",
            )
        for other in self._claims.get(path, []):
            if key is None or other.key is None or key == other.key:
                both = key is not None and other.key is not None
                entry = f" ({key})" if both else ""
                self.report(
                    f"{label}: token sink {shown}{entry} is also the sink of "
                    f"{other.label} at {other.where}",
                    spot,
                    "give each integration a sink of its own (a template's sink is "
                    "shared by every location that extends it); without sink: each "
                    "gets its own file",
                )
                break
        self._claims.setdefault(path, []).append(_Claim(key, label, spot))

    def check_policy(
        self,
        integration: Integration,
        spec: Mapping[str, Any],
        where: Where,
        sets: Mapping[str, frozenset[str]],
        label: str,
    ) -> None:
        """Report ``integration`` (built from ``spec``) breaking the policy."""
        policy = self.policy
        if integration.ensure == "absent":
            return
        hint = f"the policy is at {self._policy_at}" if self._policy_at else None
        for index, scope in enumerate(spec.get("scopes", [])):
            globs = self._forbidding(scope)
            if globs:
                self.report(
                    f'scope "{scope}" is forbidden by policy (forbid_scopes: {globs})',
                    where(("scopes", index)),
                    hint,
                )
        for index, name in enumerate(spec.get("scope_sets", [])):
            bad = sorted(s for s in sets.get(name, ()) if self._forbidding(s))
            if bad:
                listed = ", ".join(f'"{s}"' for s in bad)
                globs = ", ".join(
                    sorted({g for s in bad for g in self._forbidding(s).split(", ")})
                )
                self.report(
                    f'scope set "{name}" brings in {listed}, forbidden by policy '
                    f"(forbid_scopes: {globs})",
                    where(("scope_sets", index)),
                    hint,
                )
        limit = policy.max_scopes
        if limit is not None and len(integration.scopes) > limit:
            key = "scopes" if "scopes" in spec else "scope_sets"
            self.report(
                f"{label} holds {len(integration.scopes)} scopes; policy max_scopes "
                f"allows {limit}",
                where((key,)),
                "split it into integrations of fewer scopes each",
            )
        self._check_rotation(integration.token, spec, where, label, hint)

    def _check_rotation(
        self,
        token: TokenPolicy,
        spec: Mapping[str, Any],
        where: Where,
        label: str,
        hint: str | None,
    ) -> None:
        longest = self.policy.max_rotate_every
        if longest is None:
            return
        shown = self._longest
        if token.rotate_every is None:
            suggested = format_duration(min(longest, timedelta(days=90)))
            self.report(
                f"{label} sets no token rotate_every; policy max_rotate_every "
                f"requires rotation at least every {shown}",
                where(("token",) if "token" in spec else ()),
                f"add token: {{rotate_every: {suggested}}}",
            )
        elif token.rotate_every > longest:
            self.report(
                f"rotate_every {spec['token']['rotate_every']} is longer than policy "
                f"max_rotate_every {shown}",
                where(("token", "rotate_every")),
                hint,
            )

    def _forbidding(self, scope: str) -> str:
        """The globs (comma-separated, quoted) that forbid ``scope``; '' when none."""
        return ", ".join(
            f'"{glob}"'
            for glob in self.policy.forbid_scopes
            if fnmatch.fnmatchcase(scope, glob)
        )

    def check_auth(
        self,
        location: str,
        data: Mapping[str, Any],
        integrations: tuple[Integration, ...],
        where: Where,
        *,
        unsure: set[str],
    ) -> str | None:
        """The integration a location seeds with (``auth:``), checked; ``unsure``
        names integrations whose scopes could not be resolved (already reported)."""
        raw = data.get("auth")
        if not isinstance(raw, dict):
            return None
        name = str(raw["integration"])
        spot = where(("auth", "integration"))
        declared = {i.name: i for i in integrations}
        if name in unsure and name not in declared:
            return name
        found = declared.get(name)
        if found is None:
            self.report(
                f'auth: integration "{name}" is not declared in location "{location}"',
                spot,
                checks.did_you_mean(name, declared)
                or "declare it under this location's integrations:",
            )
            return name
        if found.ensure == "absent":
            self.report(
                f'auth: integration "{name}" is ensure: absent; its token cannot seed '
                f'location "{location}"',
                spot,
            )
            return name
        sink = None if found.token.sink is None else sink_of(found.token.sink)
        if sink is not None and not sink.readable:
            self.report(
                f'auth: integration "{name}" delivers its token to {sink.noun}, which '
                "hlsync cannot read back to seed with",
                spot,
                "give it a file or env_file sink (or none, for the default file)",
            )
        if name in unsure:
            return name
        needed = [need for kind in KINDS for need in kind.write_scopes(data)]
        for scope, why in needed:
            if scope not in found.scopes:
                self.report(
                    f'auth: integration "{name}" lacks scope "{scope}", needed {why}',
                    spot,
                    "add it to the integration's scopes (or to a scope set it uses)",
                )
        return name


def _duration(text: Any) -> timedelta | None:
    return parse_duration(text) if isinstance(text, str) else None
