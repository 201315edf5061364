"""Load a config file or directory into a :class:`~hlsync.core.model.DesiredState`.

``load_config(path)`` is the only entry point. The pipeline, each step adding problems
rather than stopping, so one run reports everything it can:

1. find the files: ``path`` itself, or every ``*.yaml``/``*.yml`` in the directory
   (sorted, not recursive, hidden files skipped); one that leads out of the config
   folder through a symbolic link is refused before it is read, as is every other
   path the config names (``containment``) unless ``--allow-path`` allows it;
2. load each safely with positions (``yamlload``);
3. expand ``${VAR}`` / ``${VAR:-default}`` in string values (``envsubst``);
4. refuse anything token-shaped written in config (``checks.TOKEN_RE``);
5. merge the files (``config_merge``): a key defined in two files is an error;
6. check the JSON Schema (``config_schema``), then prune what it rejected;
7. build the model (``config_build``): templates, scope sets, scopes against the
   catalog, contacts from YAML and CSV/JSONL, custom-field values, token policies and
   sinks, a location's seeding ``auth`` and the organisation ``policy``
   (``config_tokens``). Policy violations are config problems like any other, so
   ``validate``, ``plan`` and ``apply`` all refuse a config that breaks the policy.

If any problem was found, ``HlsyncError.collect(problems)`` is raised with all of them,
each at ``file:line:column``; messages pass through ``checks.redact`` so no token value
can leak. Paths in messages are relative to the current directory when under it.
Warnings (things upstream accepts that look wrong) fail nothing: a valid config carries
them in ``DesiredState.warnings`` for ``validate`` and ``plan`` to print.

``DesiredState.config_digest`` (``hlsync.config.digest``) is the sha256 of the canonical
JSON of the resolved model, positions left out, with file paths relative to the config
root, so the same config gives the same digest wherever it is checked out.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hlsync.config import checks
from hlsync.config.build import Broken, Builder
from hlsync.config.containment import Containment
from hlsync.config.digest import config_digest
from hlsync.config.envsubst import expand_tree
from hlsync.config.merge import merge_documents
from hlsync.config.schema import Prune, schema_problems
from hlsync.config.yamlload import JsonPath, YamlDoc, load_yaml
from hlsync.core.catalog import load_catalog
from hlsync.core.model import DesiredState
from hlsync.errors import HlsyncError, Location, Problem

YAML_SUFFIXES = (".yaml", ".yml")


def load_config(
    path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    allow: Sequence[str | Path] = (),
) -> DesiredState:
    """Load, check and resolve the config at ``path``; raise HlsyncError on any problem.

    ``allow``: directories besides the config folder its paths may lead to
    (``--allow-path``; :mod:`hlsync.config.containment`)."""
    env = os.environ if env is None else env
    root = Path(path)
    files, root_dir = find_files(root)
    containment = Containment.of(root_dir, allow, display=display_path)
    if root.is_dir():
        _contain_files(root, files, containment)
    docs = [load_yaml(f, display_path(f)) for f in files]
    problems: list[Problem] = [p for doc in docs for p in doc.problems]
    unexpanded: set[JsonPath] = set()
    for doc in docs:
        problems.extend(_token_problems(doc))
        if doc.data is None:
            continue
        doc.data, expanded = expand_tree(doc.data, doc.marks, doc.styles, env, doc.file)
        problems.extend(problem for _, problem in expanded)
        unexpanded.update(path for path, _ in expanded)
        problems.extend(_scrub_tokens(doc))
    data, marks, key_marks, found = merge_documents(docs)
    problems.extend(found)
    if any(doc.failed for doc in docs):
        # Part of the config could not be read: checking the rest would only add
        # misleading problems (a "missing" key that sits in the unreadable part).
        raise HlsyncError.collect(_clean(problems))
    if not data and not problems:
        raise HlsyncError("the config is empty", Location(display_path(files[0]), 1, 1))
    found, prunes = schema_problems(data, marks, key_marks, display_path(files[0]))
    # a value still holding an unset ${VAR} was reported already; its schema error
    # (say, "${ID}" is not a valid id) would only repeat it
    problems.extend(
        p for p, r in zip(found, prunes, strict=True) if r.path not in unexpanded
    )
    broken = _prune(data, prunes)
    builder = Builder(
        data,
        marks,
        load_catalog(),
        broken,
        root_dir=root_dir,
        file_dirs={
            doc.file: f.resolve().parent for doc, f in zip(docs, files, strict=True)
        },
        display=display_path,
        containment=containment,
    )
    target = builder.target()
    builder.scope_sets()
    policy = builder.policy()
    agency = builder.agency()
    locations = builder.locations(needs_tokens=target.kind == "leadconnector")
    problems.extend(builder.problems)
    if problems:
        raise HlsyncError.collect(_clean(problems))
    state = DesiredState(
        target=target,
        agency=agency,
        locations=locations,
        config_digest="",
        root=str(root.resolve()),
        policy=policy,
        warnings=tuple(sorted(_clean(builder.warnings), key=lambda p: p.sort_key)),
        allowed_roots=tuple(str(r) for r in containment.allowed),
    )
    return dataclasses.replace(state, config_digest=config_digest(state, root_dir))


def find_files(root: Path) -> tuple[list[Path], Path]:
    """The YAML files of a config and the directory relative paths start from."""
    shown = display_path(root)
    if root.is_dir():
        try:
            entries = sorted(
                p
                for p in root.iterdir()
                if p.suffix in YAML_SUFFIXES and not p.name.startswith(".")
            )
        except OSError as exc:
            raise HlsyncError(
                f"cannot list the directory: {exc.strerror}", Location(shown)
            ) from exc
        # A YAML entry that is not a file (a dangling symlink, a directory) would
        # otherwise drop its part of the config without a word.
        strays = [
            _stray(p, f"{shown.rstrip('/')}/{p.name}")
            for p in entries
            if not p.is_file()
        ]
        if strays:
            raise HlsyncError.collect(strays)
        files = entries
        if not files:
            raise HlsyncError(
                f"no *.yaml or *.yml files in {shown}",
                Location(shown),
                ("point hlsync at a config file or a directory holding one",),
            )
        return files, root.resolve()
    if root.is_file():
        return [root], root.resolve().parent
    raise HlsyncError("no such file or directory", Location(shown))


def _contain_files(root: Path, files: list[Path], containment: Containment) -> None:
    """Refuse, before reading any, a YAML file of a directory config that leads out
    of the config folder (a symbolic link): its content must not reach a message."""
    shown = display_path(root).rstrip("/")
    problems = [
        Problem(refusal[0], Location(f"{shown}/{f.name}"), refusal[1])
        for f in files
        if (refusal := containment.refusal(root.resolve(), f.name, "config file"))
    ]
    if problems:
        raise HlsyncError.collect(problems)


def _stray(entry: Path, shown: str) -> Problem:
    """Why a *.yaml / *.yml entry of a directory config is not a file to read."""
    hint = "remove it, or rename it so it does not end in .yaml or .yml"
    if entry.is_symlink() and not entry.exists():
        try:
            target = os.readlink(entry)
        except OSError:
            target = "?"
        return Problem(
            f"broken symbolic link (its target {target} does not exist)",
            Location(shown),
            f"point the link at a config file, or {hint}",
        )
    if entry.is_dir():
        return Problem("is a directory, not a config file", Location(shown), hint)
    return Problem(
        "is not a regular file (a fifo, socket or device)", Location(shown), hint
    )


def display_path(path: Path) -> str:
    """``path`` relative to the current directory when under it, else absolute."""
    absolute = path.resolve()
    try:
        return absolute.relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return str(absolute)


def _token_problems(doc: YamlDoc) -> list[Problem]:
    """Token-shaped text anywhere in the file, comments included, at its exact place."""
    return [
        Problem(
            checks.TOKEN_MESSAGE, Location(doc.file, line, column), checks.TOKEN_HINT
        )
        for line, column in checks.token_positions(doc.text)
    ]


def _scrub_tokens(doc: YamlDoc) -> list[Problem]:
    """Blank token-shaped keys and values out of the data; report those that came in
    through ``${VAR}`` (the ones written in the file were reported by position)."""
    problems: list[Problem] = []
    written = {line for line, _ in checks.token_positions(doc.text)}

    def report(where: Location) -> None:
        if where.line not in written:
            problems.append(Problem(checks.TOKEN_MESSAGE, where, checks.TOKEN_HINT))

    def walk(node: Any, path: JsonPath) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                here = (*path, key)
                if checks.has_token(key):
                    report(doc.key_marks.get(here) or doc.where(here))
                    key = checks.redact(key)
                out[key] = walk(value, here)
            return out
        if isinstance(node, list):
            return [walk(v, (*path, i)) for i, v in enumerate(node)]
        if isinstance(node, str) and checks.has_token(node):
            report(doc.where(path))
            return checks.redact(node)
        return node

    doc.data = walk(doc.data, ())
    return problems


_CHILDREN = frozenset({"integrations", "custom_fields", "tags", "contacts"})


def _prune(data: dict[str, Any], prunes: list[Prune]) -> Broken:
    """Remove what the schema rejected so building sees only valid shapes."""
    broken = Broken()
    for prune in sorted(prunes, key=lambda p: len(p.path), reverse=True):
        path = prune.path
        if prune.unknown:
            _delete(data, path)
            continue
        unit = _unit(path)
        if not unit:
            continue
        head = unit[0]
        if head == "scope_sets" and len(unit) == 2:
            broken.scope_sets.add(str(unit[1]))
        elif head == "templates" and len(unit) == 2:
            broken.templates.add(str(unit[1]))
        elif head in ("locations", "templates") and len(unit) == 4:
            if unit[2] == "custom_fields":
                broken.custom_fields.add(str(unit[3]))
            if unit[2] == "integrations":
                broken.integrations.add(str(unit[3]))
            container = _get(data, unit[:3])
            if isinstance(container, list) and isinstance(unit[3], int):
                if unit[3] < len(container):
                    container[unit[3]] = None
                continue
        _delete(data, unit)
    return broken


def _unit(path: JsonPath) -> JsonPath:
    """The smallest object an error at ``path`` makes unusable."""
    if len(path) <= 1:
        return path
    head = path[0]
    if head == "scope_sets":
        return path[:2]
    if head == "agency":
        return path[:3] if path[1] == "integrations" and len(path) >= 3 else path[:2]
    if head in ("locations", "templates"):
        if len(path) >= 4 and path[2] in _CHILDREN:
            return path[:4]
        if len(path) >= 3 and path[2] == "defaults":
            return path[:3]
        return path[:2]
    return path[:1]


def _get(data: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _delete(data: dict[str, Any], path: JsonPath) -> None:
    parent = _get(data, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def _clean(problems: list[Problem]) -> list[Problem]:
    """Redacted, each problem once."""
    unique: dict[tuple[str, str, str], Problem] = {}
    for p in problems:
        clean = Problem(
            checks.redact(p.message),
            p.location,
            checks.redact(p.hint) if p.hint else None,
            p.severity,
        )
        unique.setdefault((clean.message, str(clean.location), clean.hint or ""), clean)
    return list(unique.values())
