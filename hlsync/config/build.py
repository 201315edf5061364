"""From schema-checked config data to the model: templates, scopes, contacts.

:class:`Builder` gets the merged, pruned data of all files with its marks and produces
the ``Target``, ``AgencySpec`` and ``LocationSpec`` objects of ``hlsync.core.model``, adding a
:class:`Problem` for everything JSON Schema cannot see (``checks``): unknown or misplaced
scopes, scope-set and template references, emails, phones, duplicate contacts,
custom-field values, token policies and sinks, ``auth`` and ``policy``
(``config_tokens``), and every path the config names leading out of its folder
(``containment``: such a path is reported, and a seed file behind it never read). What upstream accepts but looks wrong (a phone number that no
numbering plan has) goes to ``warnings`` instead, and fails nothing. Objects the schema already rejected were pruned by ``config`` and
are listed in ``broken`` so references to them do not cause a second, misleading error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hlsync.config import checks
from hlsync.config.contacts_io import RawContact, read_contacts
from hlsync.config.containment import Containment
from hlsync.config.merge import Marks, overlay, relative
from hlsync.config.schema import (
    contact_validator,
    plainly_valid_contact,
    schema_problems,
)
from hlsync.config.seeds import Seeds, Where
from hlsync.config.tokens import TokenRules
from hlsync.config.yamlload import JsonPath, nearest_mark
from hlsync.core.catalog import Catalog, Level
from hlsync.core.model import (
    LEADCONNECTOR_URL,
    AgencySpec,
    Contact,
    CustomField,
    Integration,
    Kind,
    LocationSpec,
    Manage,
    Policy,
    Tag,
    Target,
    TokenRef,
)
from hlsync.errors import Location, Problem
from hlsync.kinds.registry import KINDS


@dataclass(slots=True)
class Broken:
    """Names of objects the schema rejected; references to them are not re-reported."""

    scope_sets: set[str] = field(default_factory=set)
    templates: set[str] = field(default_factory=set)
    custom_fields: set[str] = field(default_factory=set)
    integrations: set[str] = field(default_factory=set)


class Builder:
    """Builds the model; ``problems`` collects everything wrong along the way."""

    def __init__(
        self,
        data: dict[str, Any],
        marks: Marks,
        catalog: Catalog,
        broken: Broken,
        *,
        root_dir: Path,
        file_dirs: Mapping[str, Path],
        display: Callable[[Path], str],
        containment: Containment,
    ) -> None:
        self.data = data
        self.marks = marks
        self.catalog = catalog
        self.broken = broken
        self.root_dir = root_dir
        self.file_dirs = file_dirs
        self.display = display
        self.containment = containment
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.sets: dict[str, frozenset[str]] = {}
        self._templates: dict[str, tuple[dict[str, Any], Marks] | None] = {}
        self._files: dict[Path, tuple[list[RawContact], list[Problem]]] = {}
        self.tokens = TokenRules(
            self.problem, catalog, path_from=self.path_from, display=display
        )
        # integrations whose scopes are not fully known (an unresolved scope set)
        self._unsure: set[tuple[str, str]] = set()

    def at(self, *path: str | int) -> Location:
        return nearest_mark(self.marks, path, "<config>")

    def problem(self, message: str, where: Location, hint: str | None = None) -> None:
        self.problems.append(Problem(message, where, hint))

    def warning(self, message: str, where: Location, hint: str | None = None) -> None:
        self.warnings.append(Problem(message, where, hint, severity="warning"))

    def path_from(self, where: Location, text: str, what: str = "path") -> Path:
        """``text`` as a path relative to the directory of the file ``where`` is in,
        resolved; one leading out of the config folder is a problem at ``where``
        (``containment``; ``what`` names it in the message)."""
        base = self.file_dirs.get(where.file, self.root_dir)
        # a refused path is never resolved (it may not resolve at all): the config
        # fails to load, so it is used only for further checks of its text
        return self.contained(where, text, what) or Path(os.path.normpath(base / text))

    def contained(self, where: Location, text: str, what: str) -> Path | None:
        """:meth:`path_from`, but None (and a problem) when the path leads out of the
        config folder: the caller must not touch it."""
        base = self.file_dirs.get(where.file, self.root_dir)
        refusal = self.containment.refusal(base, text, what)
        if refusal is not None:
            self.problem(refusal[0], where, refusal[1])
            return None
        return (base / text).resolve()

    def target(self) -> Target:
        spec = self.data.get("target", "sandbox")
        self.tokens.live = spec == "leadconnector"
        if spec == "leadconnector":
            return Target("leadconnector", LEADCONNECTOR_URL)
        if isinstance(spec, dict) and "url" in spec:
            return Target("url", str(spec["url"]).rstrip("/"))
        db = self.root_dir / ".hlsync" / "sandbox.sqlite3"
        if isinstance(spec, dict) and "db" in spec.get("sandbox", {}):
            where = self.at("target", "sandbox", "db")
            db = self.path_from(where, spec["sandbox"]["db"], "sandbox database")
        return Target("sandbox", sandbox_db=str(db))

    def scope_sets(self) -> None:
        raw = self.data.get("scope_sets", {})
        # a set the schema rejected counts as empty, so including it adds no problem
        sets: dict[str, tuple[list[str], list[str]]] = {
            name: ([], []) for name in self.broken.scope_sets
        }
        for name, spec in raw.items():
            sets[name] = (spec.get("include", []), spec.get("scopes", []))
            for index, scope in enumerate(spec.get("scopes", [])):
                if scope not in self.catalog:
                    found = checks.scope_problem(self.catalog, scope, "sub-account")
                    message, hint = found or ("unknown scope", None)
                    self.problem(
                        message, self.at("scope_sets", name, "scopes", index), hint
                    )
        self.sets, problems = checks.expand_scope_sets(sets)
        for name, index, message, hint in problems:
            self.problem(message, self.at("scope_sets", name, "include", index), hint)

    def policy(self) -> Policy:
        """The top-level ``policy:``; read it before building any integration."""
        return self.tokens.read_policy(self.data.get("policy"), self.at)

    def integrations(
        self, raw: Mapping[str, Any], level: Level, where: Where, owner: str
    ) -> tuple[Integration, ...]:
        """``owner``: the location's name, or "agency"."""
        built = []
        for name, spec in sorted(raw.items()):

            def here(path: JsonPath, _name: str = name) -> Location:
                return where(("integrations", _name, *path))

            label = f"{owner}/{name}"
            scopes: set[str] = set()
            for index, scope in enumerate(spec.get("scopes", [])):
                found = checks.scope_problem(self.catalog, scope, level)
                if found:
                    self.problem(
                        found[0],
                        where(("integrations", name, "scopes", index)),
                        found[1],
                    )
                scopes.add(scope)
            unresolved = False
            for index, set_name in enumerate(spec.get("scope_sets", [])):
                spot = where(("integrations", name, "scope_sets", index))
                if set_name in self.broken.scope_sets:
                    unresolved = True
                    continue
                if set_name not in self.sets:
                    unresolved = True
                    self.problem(
                        f'unknown scope set "{set_name}"',
                        spot,
                        checks.did_you_mean(set_name, self.sets)
                        or "define it under the top-level scope_sets:",
                    )
                    continue
                for scope in sorted(self.sets[set_name]):
                    found = checks.scope_problem(self.catalog, scope, level)
                    if found and scope in self.catalog:
                        self.problem(
                            f'scope set "{set_name}": {found[0]}', spot, found[1]
                        )
                scopes |= self.sets[set_name]
            ensure = spec.get("ensure", "present")
            if not scopes and ensure == "present" and not unresolved:
                self.problem(
                    f'integration "{name}" has no scopes',
                    where(("integrations", name)),
                    "add scopes: or scope_sets:",
                )
            if unresolved:
                self._unsure.add((owner, name))
            integration = Integration(
                name=name,
                description=spec.get("description", ""),
                scopes=tuple(sorted(s for s in scopes if s in self.catalog)),
                ensure=ensure,
                protect=spec.get("protect", False),
                source=where(("integrations", name)),
                token=self.tokens.token(spec.get("token"), here, label),
            )
            self.tokens.check_policy(integration, spec, here, self.sets, label)
            built.append(integration)
        return tuple(built)

    def token(self, spec: Any, where: Location) -> TokenRef | None:
        if not isinstance(spec, dict):
            return None
        if "env" in spec:
            self.tokens.token_variables.add(spec["env"])
            return TokenRef(env=spec["env"])
        return TokenRef(file=str(self.path_from(where, spec["file"], "token file")))

    def agency(self) -> AgencySpec:
        raw = self.data.get("agency", {})
        token = self.token(raw.get("token"), self.at("agency", "token", "file"))
        integrations = self.integrations(
            raw.get("integrations", {}),
            "agency",
            lambda path: self.at("agency", *path),
            "agency",
        )
        return AgencySpec(token=token, integrations=integrations)

    def resolved_template(
        self, name: str, stack: tuple[str, ...] = ()
    ) -> tuple[dict[str, Any], Marks] | None:
        """A template with everything it extends merged in; None when unusable."""
        if name in self._templates:
            return self._templates[name]
        spec = self.data.get("templates", {}).get(name)
        if spec is None or name in self.broken.templates:
            return None
        own_marks = relative(self.marks, ("templates", name))
        result = self._extend(spec, own_marks, ("templates", name), (*stack, name))
        self._templates[name] = result
        return result

    def _extend(
        self,
        spec: dict[str, Any],
        marks: Marks,
        prefix: JsonPath,
        stack: tuple[str, ...],
    ) -> tuple[dict[str, Any], Marks] | None:
        parents = spec.get("extends", [])
        parents = [parents] if isinstance(parents, str) else parents
        data: dict[str, Any] = {}
        data_marks: Marks = {}
        usable = True
        for index, parent in enumerate(parents):
            if isinstance(spec.get("extends"), list):
                spot = self.at(*prefix, "extends", index)
            else:
                spot = self.at(*prefix, "extends")
            templates = self.data.get("templates", {})
            if parent in self.broken.templates:
                usable = False
                continue
            if parent not in templates:
                self.problem(
                    f'unknown template "{parent}"',
                    spot,
                    checks.did_you_mean(parent, templates)
                    or "define it under templates:",
                )
                usable = False
                continue
            if parent in stack:
                cycle = [*stack[stack.index(parent) :], parent]
                self.problem("template cycle: " + " -> ".join(cycle), spot)
                usable = False
                continue
            resolved = self.resolved_template(parent, stack)
            if resolved is None:
                usable = False
                continue
            data, data_marks = overlay(data, data_marks, *resolved)
        own = {k: v for k, v in spec.items() if k != "extends"}
        data, data_marks = overlay(data, data_marks, own, marks)
        return (data, data_marks) if usable else None

    def locations(self, *, needs_tokens: bool) -> tuple[LocationSpec, ...]:
        """All locations; ``needs_tokens`` (the live target) makes a token mandatory."""
        root_region = self.data.get("default_region")
        if root_region is not None and (message := checks.region_problem(root_region)):
            self.problem(message, self.at("default_region"), "use an ISO 3166-1 code")
        for name in sorted(self.data.get("templates", {})):
            self.resolved_template(name)
        built: list[LocationSpec] = []
        ids: dict[str, Location] = {}
        for name, spec in sorted(self.data.get("locations", {}).items()):
            prefix = ("locations", name)
            resolved = self._extend(spec, relative(self.marks, prefix), prefix, ())
            if resolved is None:
                continue
            data, marks = resolved

            def where(path: JsonPath, _marks: Marks = marks) -> Location:
                return nearest_mark(_marks, path, "<config>")

            location = self.location(name, data, where, root_region)
            if location.id in ids:
                self.problem(
                    f'location id "{location.id}" is also used at {ids[location.id]}',
                    where(("id",)),
                    "each location must name a different sub-account",
                )
            ids.setdefault(location.id, where(("id",)))
            if needs_tokens and location.token is None:
                self.problem(
                    f'location "{name}" has no token; the leadconnector target needs one',
                    where(()),
                    "add token: {env: NAME} or token: {file: path}",
                )
            built.append(location)
        self.tokens.check_command_env()  # every token variable is known by now
        return tuple(built)

    def location(
        self, name: str, data: dict[str, Any], where: Where, root_region: str | None
    ) -> LocationSpec:
        region: str | None = data.get("default_region", root_region)
        own = data.get("default_region")
        if own is not None and (message := checks.region_problem(own)):
            self.problem(message, where(("default_region",)), "use an ISO 3166-1 code")
        usable = region is None or checks.region_problem(region) is None
        builder = _LocationBuilder(self, name, data, where, region, usable)
        for kind in KINDS:
            builder.declarations[kind.name] = kind.build(builder)
        integrations = builder.integrations()
        unsure = {n for owner, n in self._unsure if owner == name}
        declared: dict[str, Any] = {
            kind.section: builder.declarations[kind.name] for kind in KINDS
        }
        return LocationSpec(
            name=name,
            id=data["id"],
            token=self.token(data.get("token"), where(("token", "file"))),
            default_region=region,
            source=where(()),
            auth_integration=self.tokens.check_auth(
                name,
                data,
                integrations,
                where,
                unsure=unsure | self.broken.integrations,
            ),
            auth_fallback=_auth_fallback(data),
            manage=self.manage(data, where),
            **declared,
        )

    def manage(self, data: Mapping[str, Any], where: Where) -> dict[Kind, Manage]:
        """``manage:`` by kind; ``exclusive`` for a kind with a ``prune_consent``
        (contacts) only beside that key set to ``true``."""
        raw = data.get("manage") or {}
        found: dict[Kind, Manage] = {}
        for kind in KINDS:
            mode = raw.get(kind.section)
            if mode is None:
                continue
            consent = kind.prune_consent
            if mode == "exclusive" and consent and raw.get(consent) is not True:
                self.problem(
                    f"manage: {kind.section}: exclusive deletes every {kind.nouns[0]} "
                    "of the location that the config does not list",
                    where(("manage", kind.section)),
                    f"if you mean it, add `{consent}: true` beside it; otherwise "
                    "leave it additive (the plan lists the others)",
                )
                continue
            found[kind.name] = mode
        return found

    def seeds(
        self,
        data: dict[str, Any],
        where: Where,
        region: str | None,
        usable: bool,
        fields: Sequence[CustomField],
        tags: Sequence[Tag],
    ) -> tuple[Contact, ...]:
        """The seed contacts of one location; ``usable``: its region is valid."""
        seeds = Seeds(
            self.problem,
            self.warning,
            self.broken.custom_fields,
            {f.key: f for f in fields},
            {t.name: t for t in tags},
            region if usable else None,
        )
        seeds.check_phones = usable
        seeds.set_defaults(data.get("defaults"), where)
        return seeds.build(self._raw_contacts(data, where))

    def _raw_contacts(
        self, data: dict[str, Any], where: Where
    ) -> Iterator[tuple[dict[str, Any], Where, bool]]:
        for index, item in enumerate(data.get("contacts", [])):
            if item is None:
                continue

            def at(path: JsonPath, _i: int = index) -> Location:
                return where(("contacts", _i, *path))

            yield item, at, False
        sources = data.get("contacts_from", [])
        for index, text in enumerate(
            [sources] if isinstance(sources, str) else sources
        ):
            spot = where(("contacts_from", index))
            path = self.contained(spot, text, "contacts file")
            if path is None:  # never read, so nothing of it can be quoted
                continue
            for raw in self._read(path, spot):

                def row(_path: JsonPath, _loc: Location = raw.source) -> Location:
                    return _loc

                yield raw.data, row, raw.textual

    def _read(self, path: Path, spot: Location) -> list[RawContact]:
        if path not in self._files:
            display = self.display(path)
            rows, problems = read_contacts(path, display)
            if not path.is_file():
                # point at the YAML that names the file, not at the file
                reason = "is a directory" if path.is_dir() else "does not exist"
                problems = [
                    Problem(
                        f"contacts file {display} {reason}",
                        spot,
                        "paths are relative to the config file that names them",
                    )
                ]
            valid = []
            for raw in rows:
                if plainly_valid_contact(raw.data):
                    valid.append(raw)
                    continue
                found, _ = schema_problems(
                    raw.data,
                    {},
                    {},
                    raw.source.file,
                    checker=contact_validator(),
                    fixed=raw.source,
                )
                problems.extend(found)
                if not found:
                    valid.append(raw)
            self._files[path] = (valid, problems)
            self.problems.extend(problems)
        return self._files[path][0]


class _LocationBuilder:
    """What a kind's ``build`` gets for one location (``hlsync.kinds.base``)."""

    def __init__(
        self,
        builder: Builder,
        name: str,
        data: dict[str, Any],
        where: Where,
        region: str | None,
        usable: bool,
    ) -> None:
        self._builder = builder
        self.name = name
        self.raw = data
        self.where = where
        self._region = (region, usable)
        self.declarations: dict[Kind, tuple[Any, ...]] = {}
        self._integrations: tuple[Integration, ...] | None = None

    @property
    def data(self) -> Mapping[str, Any]:
        return self.raw

    def problem(self, message: str, where: Location, hint: str | None = None) -> None:
        self._builder.problem(message, where, hint)

    def built(self, kind: Kind) -> Sequence[Any]:
        return self.declarations[kind]

    def integrations(self) -> tuple[Integration, ...]:
        if self._integrations is None:
            self._integrations = self._builder.integrations(
                self.raw.get("integrations", {}), "sub-account", self.where, self.name
            )
        return self._integrations

    def contacts(
        self, fields: Sequence[CustomField], tags: Sequence[Tag]
    ) -> tuple[Contact, ...]:
        region, usable = self._region
        return self._builder.seeds(self.raw, self.where, region, usable, fields, tags)


def _auth_fallback(data: Mapping[str, Any]) -> bool:
    """``auth: {fallback: location-token}`` (the schema allows only that value)."""
    auth = data.get("auth")
    return isinstance(auth, dict) and auth.get("fallback") == "location-token"
