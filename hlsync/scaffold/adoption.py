"""The config ``hlsync init --from-export`` writes: the account as it holds it, plus
init's least-privilege seeding.

init renders a bare config in memory (:func:`source_text`: the target and each
location's id and token variable, nothing else), exports the account it names
(:func:`hlsync.adopt.export.draft_export`, reading each location with its own token
from ``HL_<NAME>_TOKEN``) and adds to the export what init's scaffold has
(:func:`add_seeding`): the ``seeding`` scope set and, per location, the ``seed-bot``
integration its writes use (``auth:``). seed-bot holds ``seeding`` (contacts) plus the
readonly and write scopes of each other kind the location declares — exactly what
``hlsync validate`` asks of a location's writing token (``Kind.write_scopes``).

The export reads from the bare config, not from init's, for two reasons: scope sets
it does not know cannot absorb the account's integrations (one holding exactly
contacts.readonly and contacts.write keeps its own scopes, so seed-bot's may grow
without changing it), and a seeding integration the account does not have yet would
stop the export. So the plan right after shows each location's seed-bot to create and
nothing else. A location whose account already has an integration named seed-bot
keeps it as exported, without ``auth:``, and a note says so.

Nothing is written here: the texts are checked in a temporary folder
(``load_config``) and handed to init's writer with the other files.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlsync.adopt.export import HEAD, LOCATIONS, SEEDS, ExportDraft, draft_export
from hlsync.config.loader import YAML_SUFFIXES, display_path, load_config
from hlsync.engine import event_loop
from hlsync.errors import HlsyncError, Location, Problem
from hlsync.kinds.base import ContactSelection
from hlsync.kinds.registry import KINDS
from hlsync.resources import schema_path
from hlsync.scaffold.config_text import (
    CONFIG_FILE,
    DEFAULT_REGION,
    SEED_DESCRIPTION,
    SEED_INTEGRATION,
    SEED_ROTATE_EVERY,
    SEEDING_DESCRIPTION,
    SEEDING_SCOPES,
    SEEDING_SET,
    render_target,
    seed_sink,
)
from hlsync.scaffold.settings import InitSettings, Site


@dataclass(frozen=True, slots=True)
class Adopted:
    """The exported config: its files (path under DIR in ``/`` form, text), the rows
    of each contacts file, the locations given seed-bot, and the export's warnings."""

    files: tuple[tuple[str, str], ...]
    contacts: Mapping[str, int]
    seeded: tuple[str, ...]
    kept: tuple[str, ...]  # locations whose account has a seed-bot already
    warnings: tuple[str, ...]


def missing_tokens(settings: InitSettings, env: Mapping[str, str]) -> list[Site]:
    """The locations whose token variable is not set: the export cannot read them."""
    return [site for site in settings.sites if not env.get(site.token_variable)]


def expected_files(settings: InitSettings, *, contacts: bool) -> list[str]:
    """The files an export for ``settings`` writes (paths under the folder)."""
    names = [HEAD, LOCATIONS]
    if contacts:
        names += [f"{SEEDS}/{site.name}.jsonl" for site in settings.sites]
    return names


def other_yaml(folder: Path, expected: list[str]) -> list[Path]:
    """YAML files in ``folder`` a directory config there would load besides the
    export's own (``hlsync.config.loader.find_files``)."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if path.suffix in YAML_SUFFIXES
        and not path.name.startswith(".")
        and path.name not in expected
    )


def source_text(settings: InitSettings) -> str:
    """The bare config the export reads from: target and locations, nothing else."""
    lines = [
        f"# yaml-language-server: $schema={schema_path('config.schema.json')}",
        "version: 1",
        f"target: {render_target(settings)}",
        f"default_region: {DEFAULT_REGION}",
        "locations:",
    ]
    for site in settings.sites:
        lines += [
            f"  {json.dumps(site.name)}:",
            f"    id: {json.dumps(site.id)}",
            f"    token: {{env: {site.token_variable}}}",
        ]
    return "\n".join(lines) + "\n"


def adopt(settings: InitSettings, *, contacts: bool) -> Adopted:
    """Export the account ``settings`` name into config texts for its folder, with
    init's seeding added and the result checked. Raises ``HlsyncError``."""
    folder = Path(os.path.abspath(settings.folder))
    selection = ContactSelection() if contacts else None
    with tempfile.TemporaryDirectory(prefix="hlsync-init-") as temp:
        source = Path(temp) / CONFIG_FILE
        source.write_text(source_text(settings), encoding="utf-8")
        desired = load_config(source)
        draft = event_loop.run(draft_export(desired, folder, contacts=selection))
    seeded = add_seeding(draft, settings)
    texts = draft.texts()
    _check(texts, folder)
    return Adopted(
        files=tuple(texts.items()),
        contacts={
            f"{SEEDS}/{name}.jsonl": rows for name, rows in draft.contacts.items()
        },
        seeded=tuple(seeded),
        kept=tuple(s.name for s in settings.sites if s.name not in seeded),
        warnings=draft.warnings,
    )


def add_seeding(draft: ExportDraft, settings: InitSettings) -> list[str]:
    """The ``seeding`` scope set, and per location seed-bot and ``auth:``; the
    names of the locations seeded (not one whose account has a seed-bot already:
    that one is kept as exported, and the location writes with its own token)."""
    draft.head["scope_sets"] = {
        SEEDING_SET: {"description": SEEDING_DESCRIPTION, "scopes": [*SEEDING_SCOPES]}
    }
    seeded = []
    for site in settings.sites:
        location = draft.locations[site.name]
        integrations = dict(location.get("integrations") or {})
        if SEED_INTEGRATION in integrations:
            continue
        seeded.append(site.name)
        integrations[SEED_INTEGRATION] = seed_integration(site, location)
        # id and token first, then auth and the rest in the export's order
        head = {k: location[k] for k in ("id", "token") if k in location}
        seeded_location = {
            **head,
            "auth": {"integration": SEED_INTEGRATION},
            "integrations": dict(sorted(integrations.items())),
        }
        seeded_location.update(
            (k, v) for k, v in location.items() if k not in seeded_location
        )
        draft.locations[site.name] = seeded_location
    return seeded


def seed_integration(site: Site, location: Mapping[str, Any]) -> dict[str, Any]:
    """seed-bot for ``location`` (its exported data): ``seeding``, plus the scopes
    writing what the location declares needs beyond it."""
    needed = {scope for kind in KINDS for scope, _ in kind.write_scopes(location)}
    more = sorted(needed - set(SEEDING_SCOPES))
    bot: dict[str, Any] = {
        "description": SEED_DESCRIPTION,
        "scope_sets": [SEEDING_SET],
    }
    if more:
        bot["scopes"] = more
    bot["token"] = {
        "rotate_every": SEED_ROTATE_EVERY,
        "sink": {"file": seed_sink(site)},
    }
    return bot


def _check(texts: Mapping[str, str], folder: Path) -> None:
    """Validate the texts as the folder would hold them (in a temporary one);
    problems name the files by their place in ``folder``."""
    with tempfile.TemporaryDirectory(prefix="hlsync-init-") as temp:
        root = Path(temp).resolve()
        for name, text in texts.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        try:
            load_config(root)
        except HlsyncError as exc:
            first = Problem(
                "the config exported from the account does not validate",
                None,
                "fix it in HighLevel, then run hlsync init again",
            )
            moved = [_moved(p, root, folder) for p in exc.problems]
            raise HlsyncError.collect([first, *moved]) from exc


def _moved(problem: Problem, temp: Path, folder: Path) -> Problem:
    """``problem`` naming its file by its place in ``folder`` instead of ``temp``."""
    where = problem.location
    if where is None:
        return problem
    try:
        relative = (Path.cwd() / where.file).relative_to(temp)
    except ValueError:
        return problem
    return Problem(
        problem.message,
        Location(display_path(folder / relative), where.line, where.column),
        problem.hint,
        problem.severity,
    )
