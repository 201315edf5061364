"""What ``hlsync export`` carries over from the source config (PATH) into the export.

PATH names the target and the locations (their ids and where their tokens live), and
may hold a policy, scope sets and integrations. The export keeps all of that, so the
exported config reaches the same account with the same tokens under the same rules:

* ``version``, ``default_region``, ``policy`` and ``scope_sets`` as written in PATH
  (``${VAR}`` references kept);
* the target: a ``url`` as written, ``leadconnector``, or the sandbox's database;
* the agency's and each location's token reference, each location's ``id`` (as
  written), ``default_region``, ``auth`` and ``manage``;
* the ``token:`` settings of every integration PATH declares (rotation, generation,
  sink): its token is hlsync's, not held elsewhere.

Every path (a token file, a sink, the sandbox database) is rewritten relative to the
export folder, so it still names the same file; one that leads out of the export folder
is collected in :attr:`Carry.outside`, the ``--allow-path`` directories the export's
users need (``hlsync.config.containment``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hlsync.config import checks
from hlsync.config.durations import format_duration
from hlsync.config.loader import find_files
from hlsync.config.merge import merge_documents
from hlsync.config.yamlload import load_yaml
from hlsync.core.model import (
    DEFAULT_OVERLAP,
    DesiredState,
    LocationSpec,
    SinkSpec,
    TokenPolicy,
    TokenRef,
)
from hlsync.kinds.base import Verbatim
from hlsync.kinds.registry import kind_named
from hlsync.tokens.sinks.routing import sink_for

MODELINE = "# yaml-language-server: $schema="


@dataclass(frozen=True, slots=True)
class Source:
    """The source config: its model, its merged data as written, and its folder."""

    desired: DesiredState
    raw: Mapping[str, Any]
    folder: Path
    schema: str | None  # the $schema of its first file's modeline, resolved

    @classmethod
    def read(cls, desired: DesiredState) -> Source:
        """PATH's files again, without ``${VAR}`` substitution (it loaded already)."""
        files, folder = find_files(Path(desired.root))
        docs = [load_yaml(f, str(f)) for f in files]
        raw, _, _, _ = merge_documents(docs)
        return cls(desired, raw, folder, _modeline(files[0]))


@dataclass(slots=True)
class Carry:
    """Carries PATH's settings into an export written to ``out`` (module docstring)."""

    source: Source
    out: Path
    outside: set[Path] = field(default_factory=set)

    def path(self, absolute: str | Path) -> str:
        """``absolute`` relative to the export folder (POSIX), noting it when it
        leads out of it."""
        target = Path(os.path.normpath(absolute))
        if not target.is_relative_to(self.out):
            self.outside.add(target.parent)
        return Path(os.path.relpath(target, self.out)).as_posix()

    def head(self) -> dict[str, Any]:
        """``version`` … ``scope_sets``: the top of the export's ``hlsync.yaml``."""
        raw = self.source.raw
        out: dict[str, Any] = {"version": raw.get("version", 1)}
        out["target"] = self.target()
        for key in ("default_region", "policy", "scope_sets"):
            if key in raw:
                out[key] = raw[key]
        return out

    def target(self) -> Any:
        target = self.source.desired.target
        if target.kind == "sandbox":
            return {"sandbox": {"db": self.path(target.sandbox_db or "")}}
        return self.source.raw.get("target", target.kind)

    def scope_sets(self) -> dict[str, frozenset[str]]:
        """PATH's scope sets, expanded (an integration's scopes are folded into them)."""
        raw = self.source.raw.get("scope_sets") or {}
        sets = {
            name: (list(spec.get("include", [])), list(spec.get("scopes", [])))
            for name, spec in raw.items()
        }
        expanded, _ = checks.expand_scope_sets(sets)
        return expanded

    def token_ref(self, ref: TokenRef | None) -> dict[str, str] | None:
        if ref is None:
            return None
        if ref.env is not None:
            return {"env": ref.env}
        return {"file": self.path(ref.file or "")}

    def location(self, spec: LocationSpec) -> dict[str, Any]:
        """A location's head: id, token, default_region, auth, manage."""
        raw = (self.source.raw.get("locations") or {}).get(spec.name) or {}
        out: dict[str, Any] = {"id": raw.get("id", spec.id)}
        token = self.token_ref(spec.token)
        if token is not None:
            out["token"] = token
        if "default_region" in raw:
            out["default_region"] = raw["default_region"]
        if spec.auth_integration is not None:
            auth: dict[str, str] = {"integration": spec.auth_integration}
            if spec.auth_fallback:
                auth["fallback"] = "location-token"
            out["auth"] = auth
        if spec.manage:
            manage: dict[str, Any] = {}
            for kind, mode in spec.manage.items():
                found = kind_named(kind)
                manage[found.section] = mode
                if mode == "exclusive" and found.prune_consent:
                    manage[found.prune_consent] = True
            out["manage"] = manage
        return out

    def tokens(self, where: str | None) -> dict[str, Verbatim]:
        """The ``token:`` settings of each integration PATH declares in ``where``
        (None: the agency), its sink written out even when PATH left it default."""
        desired = self.source.desired
        if where is None:
            declared = desired.agency.integrations
        else:
            spec = desired.location(where)
            declared = () if spec is None else spec.integrations
        return {
            i.name: self._policy(i.token, where, i.name)
            for i in declared
            if i.ensure == "present"
        }

    def _policy(self, policy: TokenPolicy, where: str | None, name: str) -> Verbatim:
        out = Verbatim()
        if policy.rotate_every is not None:
            out["rotate_every"] = format_duration(policy.rotate_every)
        if policy.overlap != DEFAULT_OVERLAP:
            out["overlap"] = format_duration(policy.overlap)
        if policy.generation:
            out["generation"] = policy.generation
        if policy.revoke_issued_before is not None:
            out["revoke_issued_before"] = policy.revoke_issued_before
        out["sink"] = self._sink(sink_for(self.source.desired, where, name))
        return out

    def _sink(self, spec: SinkSpec) -> dict[str, Any]:
        if spec.kind == "file":
            return {"file": self.path(spec.path or "")}
        if spec.kind == "env_file":
            return {"env_file": self.path(spec.path or ""), "key": spec.key}
        if spec.kind == "command":
            argv = list(spec.argv)
            inside = argv and Path(argv[0]).is_relative_to(self.source.folder)
            if inside and os.path.isabs(argv[0]):  # a program of the config's own
                argv[0] = self.path(argv[0])
            out: dict[str, Any] = {"command": argv}
            if spec.env:
                out["env"] = list(spec.env)
            return out
        return {"held_by": spec.holder}


def _modeline(first: Path) -> str | None:
    """The schema named by a modeline among the file's leading comment lines, as an
    absolute path (a URL as it is); None without one."""
    try:
        lines = first.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        if not line.startswith("#"):
            break
        if line.startswith(MODELINE):
            value = line[len(MODELINE) :].strip()
            if "://" in value or os.path.isabs(value):
                return value
            return os.path.normpath(first.resolve().parent / value)
    return None
