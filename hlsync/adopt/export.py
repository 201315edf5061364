"""``export_config``: an existing account as a config that plans no change against it.

The source config (PATH, already loaded) names the target and the locations; the
export reads every object of each kind of each location through the kind's own
``export`` (``hlsync.kinds``: integrations, custom fields, tags, custom values and, with
``contacts``, contacts) and writes a directory config to ``out``:

* ``hlsync.yaml`` — version, target, policy, scope sets (``adopt.source``: as PATH
  says) and the agency's integrations when PATH declares agency integrations;
* ``templates.yaml`` — with ``template``: what a golden location has that every
  location stamped from it shares (integrations with their scopes, custom fields,
  tags);
* ``locations.yaml`` — each location: its id and token reference as PATH wrote them,
  and everything else of it (with ``template``: ``extends`` and its parameters, the
  custom values and where its integrations' tokens are held);
* ``contacts/<location>.jsonl`` — with ``contacts``: its contacts, one per line.

Deterministic: keys and objects sorted, one formatting (``adopt.yaml_text``). Each YAML
file starts with the schema modeline and a header naming the source and the upstream's
date (its ``Date``; the local date only when none was read). A file whose content did
not change keeps its old date, so exporting an unchanged account again rewrites
nothing, byte for byte; the date moves only with the content.

Safe to run again into the same folder, and nothing else there is touched: every
``*.yaml`` in ``out`` must be one an export wrote (else nothing is written), those the
new export does not write are removed (a ``templates.yaml`` of an earlier template
export), other files (``.hlsync/``, the journal) stay. The token journal and, on the
live cloud, the ledger are copied from beside PATH when ``out`` has none. The result is
validated (``load_config``) before returning; a problem (say, the account breaks PATH's
policy) is an ``HlsyncError`` pointing into the written files. No token value is ever
written: tokens stay in the places PATH's references name, and a token-shaped string
read from the account stops the export before anything is written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import shutil
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hlsync.adopt.source import Carry, Source
from hlsync.adopt.yaml_text import dump, escape_variables
from hlsync.config.checks import has_token
from hlsync.config.loader import display_path, load_config
from hlsync.core.model import DesiredState, LocationSpec
from hlsync.engine import event_loop
from hlsync.errors import HlsyncError, Location, Problem
from hlsync.files import atomic_write
from hlsync.kinds.base import (
    ContactSelection,
    ExportContext,
    Exported,
    ReadContext,
)
from hlsync.kinds.integration import agency_integrations, export_integrations
from hlsync.kinds.registry import KINDS
from hlsync.live.manual import ledger_file
from hlsync.resources import schema_path
from hlsync.targets.access import TargetAccess
from hlsync.targets.target import open_target
from hlsync.tokens.journal import JOURNAL_FILE, journal_path

T = TypeVar("T")
MARK = "# Exported by hlsync export from "
_DATE = re.compile(
    r"^# Exported by hlsync export from .* on (\d{4}-\d{2}-\d{2})", re.MULTILINE
)
TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # the schema's template names
HEAD, TEMPLATES, LOCATIONS = "hlsync.yaml", "templates.yaml", "locations.yaml"
SEEDS = "contacts"
_ABOUT = {
    HEAD: "The target, the rules and the scope sets, as the source config says.",
    TEMPLATES: "What every location stamped from the template shares.",
    LOCATIONS: "Each location as the account holds it; review, then commit.",
}


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export did: files by state (paths under ``out``), the rows of each
    location's contacts file, what was left out and why, and the directories outside
    ``out`` the exported config's paths lead to (``--allow-path`` for its users)."""

    out: Path
    written: tuple[Path, ...]
    unchanged: tuple[Path, ...]
    removed: tuple[Path, ...]
    copied: tuple[Path, ...]
    contacts: Mapping[str, int]
    warnings: tuple[str, ...]
    allow: tuple[Path, ...]


@dataclass(slots=True)
class _Export:
    """The export being put together, file by file."""

    carry: Carry
    template: str | None
    head: dict[str, Any] = field(default_factory=dict)
    templates: dict[str, Any] = field(default_factory=dict)
    locations: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def export_config(
    desired: DesiredState,
    out: Path,
    *,
    contacts: ContactSelection | None = None,
    template: str | None = None,
    timeout: float | None = None,
) -> ExportResult:
    """Export the account ``desired`` (a loaded source config, locations selected)
    names into the directory ``out`` (module docstring). Raises ``HlsyncError``."""
    return event_loop.run(
        export_async(
            desired, out, contacts=contacts, template=template, timeout=timeout
        )
    )


async def export_async(
    desired: DesiredState,
    out: Path,
    *,
    contacts: ContactSelection | None = None,
    template: str | None = None,
    timeout: float | None = None,
) -> ExportResult:
    """:func:`export_config` in a running event loop."""
    draft = await draft_export(
        desired, out, contacts=contacts, template=template, timeout=timeout
    )
    state, folder, date = draft.state, draft.out, draft.date
    texts = _render(state, desired, folder, date)
    _check_tokens(texts)
    written, unchanged, removed = _write(folder, texts, date)
    copied = _copy_state(desired, folder)
    _validate(
        folder, _roots(state.carry.outside | set(map(Path, desired.allowed_roots)))
    )
    return ExportResult(
        out=folder,
        written=written,
        unchanged=unchanged,
        removed=removed,
        copied=copied,
        contacts=draft.contacts,
        warnings=tuple(state.warnings),
        allow=_roots(state.carry.outside),
    )


@dataclass(frozen=True, slots=True)
class ExportDraft:
    """An account read into the export's documents, nothing written yet: what
    ``hlsync init --from-export`` amends (``head``, ``locations``) and then writes
    itself (:meth:`texts`), all or nothing, beside its other files."""

    desired: DesiredState
    out: Path  # resolved: the folder the documents' paths are relative to
    date: str  # the upstream's, for the files' header
    state: _Export

    @property
    def head(self) -> dict[str, Any]:
        """``hlsync.yaml``'s document (version, target, policy, scope sets …)."""
        return self.state.head

    @property
    def locations(self) -> dict[str, Any]:
        """``locations.yaml``'s locations, by name."""
        return self.state.locations

    @property
    def contacts(self) -> dict[str, int]:
        """The rows of each location's contacts file."""
        return {name: len(rows) for name, rows in self.state.seeds.items()}

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.state.warnings)

    def texts(self) -> dict[str, str]:
        """Each file's text by its path under ``out``; an ``HlsyncError`` when a
        token-shaped string would be written."""
        texts = _render(self.state, self.desired, self.out, self.date)
        _check_tokens(texts)
        return {name: text(self.date) for name, text in texts.items()}


async def draft_export(
    desired: DesiredState,
    out: Path,
    *,
    contacts: ContactSelection | None = None,
    template: str | None = None,
    timeout: float | None = None,
) -> ExportDraft:
    """Read the account ``desired`` names into an :class:`ExportDraft` for ``out``;
    nothing is written."""
    _check_request(desired, out, template)
    folder = out.resolve()
    state = _Export(Carry(Source.read(desired), folder), template)
    async with open_target(desired, timeout=timeout) as access:
        await _read(state, desired, access, contacts)
        date = _date(access.upstream_now())
    return ExportDraft(desired, folder, date, state)


def _roots(folders: set[Path]) -> tuple[Path, ...]:
    """``folders`` without those inside another of them, sorted."""
    return tuple(
        sorted(
            f
            for f in folders
            if not any(f != o and f.is_relative_to(o) for o in folders)
        )
    )


def _check_request(desired: DesiredState, out: Path, template: str | None) -> None:
    shown = display_path(out)
    if out.exists() and not out.is_dir():
        raise HlsyncError(f"--out {shown} is not a directory", Location(shown))
    if template is None:
        return
    if not TEMPLATE_NAME.match(template):
        raise HlsyncError(
            f"--as-template {template!r} is not a template name",
            hints=(
                "use lower-case letters, digits, '-' and '_', starting with a letter "
                "or digit (at most 63 characters)",
            ),
        )
    if len(desired.locations) != 1:
        names = ", ".join(s.name for s in desired.locations) or "none"
        raise HlsyncError(
            f"--as-template makes a template of one golden location; the config "
            f"names {len(desired.locations)} ({names})",
            hints=("pick one with --location NAME",),
        )


async def _read(
    state: _Export,
    desired: DesiredState,
    access: TargetAccess,
    contacts: ContactSelection | None,
) -> None:
    pending = sorted(access.pending)
    if pending:
        raise HlsyncError(
            f"{', '.join(pending)}: the seeding integration's token is not in its "
            "sink, and export reads with the location's own token only once it is",
            hints=(
                "run 'hlsync apply' first to repair it, or export with PATH "
                "naming the location without auth:",
            ),
        )
    carry = state.carry
    sets = carry.scope_sets()
    state.head = carry.head()
    if desired.agency.integrations and access.integrations is not None:
        found = await agency_integrations(access)
        holder = access.agency_token_holder
        found = {k: v for k, v in found.items() if v.id != holder}
        agency = export_integrations(
            found, sets, carry.tokens(None), state.warnings, "agency"
        )
        state.head["agency"] = _agency(carry, desired, agency)
    specs = desired.locations
    parts = await _all(
        [_location(spec, access, sets, carry, contacts) for spec in specs]
    )
    for spec, (exported, warnings) in zip(specs, parts, strict=True):
        state.warnings += warnings
        _place(state, spec, exported)


async def _all(awaitables: Sequence[Awaitable[T]]) -> list[T]:
    """Every result, as ``asyncio.gather``; but when one fails, the others are
    cancelled and waited for before the error goes on, so no request is still
    running when the target's client closes."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _agency(carry: Carry, desired: DesiredState, found: Exported) -> dict[str, Any]:
    out: dict[str, Any] = {}
    token = carry.token_ref(desired.agency.token)
    if token is not None:
        out["token"] = token
    merged = _merge(escape_variables(found.shared), found.own)
    if merged:
        out["integrations"] = merged
    return out


async def _location(
    spec: LocationSpec,
    access: TargetAccess,
    sets: Mapping[str, frozenset[str]],
    carry: Carry,
    contacts: ContactSelection | None,
) -> tuple[list[Exported], list[str]]:
    """Every kind's export of one location, read with the location's own token (an
    export reads everything; a seeding integration may hold fewer scopes)."""
    read = ReadContext(spec, access.own_api(spec.name), access)
    ctx = ExportContext(read, sets, carry.tokens(spec.name), contacts)
    exported = await _all([kind.export(ctx) for kind in KINDS])
    return list(exported), ctx.warnings


def _place(state: _Export, spec: LocationSpec, parts: Sequence[Exported]) -> None:
    """One location's parts into the location (and the template)."""
    location = state.carry.location(spec)
    template: dict[str, Any] = {}
    if state.template is not None:
        location["extends"] = state.template
    for kind, part in zip(KINDS, parts, strict=True):
        shared = escape_variables(part.shared)
        own = escape_variables(part.own)
        if state.template is not None:
            if shared:
                template[kind.section] = shared
            if own:
                location[kind.section] = own
        else:
            merged = _merge(shared, own)
            if merged:
                location[kind.section] = merged
        if part.seeds is not None:
            state.seeds[spec.name] = part.seeds
            location["contacts_from"] = f"{SEEDS}/{spec.name}.jsonl"
    state.locations[spec.name] = location
    if state.template is not None:
        state.templates[state.template] = template


def _merge(shared: Any, own: Any) -> Any:
    """``own`` laid over ``shared`` (mappings merge key by key)."""
    if isinstance(shared, Mapping) and isinstance(own, Mapping):
        out = dict(shared)
        for key, value in own.items():
            out[key] = _merge(out.get(key), value)
        return out
    return shared if own is None else own


def _date(upstream_now: str | None) -> str:
    if upstream_now is not None:
        return upstream_now[:10]
    return dt.datetime.now(dt.UTC).date().isoformat()


def _render(
    state: _Export, desired: DesiredState, folder: Path, date: str
) -> dict[str, Callable[[str], str]]:
    """Each file's text for a given date, by path under ``out``."""
    schema = state.carry.source.schema or str(schema_path("config.schema.json"))
    if "://" not in schema:
        schema = Path(os.path.relpath(schema, folder)).as_posix()
    target = desired.target
    source = "the sandbox" if target.kind == "sandbox" else target.base_url
    documents: dict[str, dict[str, Any]] = {HEAD: state.head}
    if state.template is not None:
        documents[TEMPLATES] = {"templates": state.templates}
    documents[LOCATIONS] = {"locations": state.locations}
    texts: dict[str, Callable[[str], str]] = {}
    for name, data in documents.items():
        body = dump(data)

        def text(day: str, _body: str = body, _name: str = name) -> str:
            header = (
                f"# yaml-language-server: $schema={schema}\n"
                f"{MARK}{source} on {day} (the upstream's date).\n"
                f"# {_ABOUT[_name]}\n\n"
            )
            return header + _body

        texts[name] = text
    for name, rows in sorted(state.seeds.items()):
        lines = "".join(_jsonl(row) for row in rows)
        texts[f"{SEEDS}/{name}.jsonl"] = _dateless(lines)
    return texts


def _dateless(text: str) -> Callable[[str], str]:
    """A file without a header: the same text on any date."""

    def same(day: str) -> str:
        return text

    return same


# Characters Python's ``splitlines`` (the seed reader's) breaks a line at, which JSON
# leaves as they are: escaped, so one contact stays one line.
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _jsonl(row: Mapping[str, Any]) -> str:
    text = json.dumps(row, ensure_ascii=False)
    for char, escaped in _LINE_BREAKS.items():
        text = text.replace(char, escaped)
    return text + "\n"


def _check_tokens(texts: Mapping[str, Callable[[str], str]]) -> None:
    """A token-shaped string read from the account (a token pasted into a custom
    value, say) must not land in a file: stop before anything is written."""
    found = [name for name, text in texts.items() if has_token(text("0000-00-00"))]
    if found:
        raise HlsyncError(
            "the account holds a token-shaped string (pit-…) that the export would "
            f"write to {', '.join(found)}; nothing was written",
            hints=(
                "find it in HighLevel (a custom value, a contact field, a "
                "description) and remove it: hlsync never writes a token to config",
            ),
        )


def _write(
    folder: Path, texts: Mapping[str, Callable[[str], str]], date: str
) -> tuple[tuple[Path, ...], tuple[Path, ...], tuple[Path, ...]]:
    """Write what changed; keep the rest byte for byte (module docstring)."""
    existing = _owned(folder, texts)
    written: list[Path] = []
    unchanged: list[Path] = []
    for name, text in texts.items():
        path = folder / name
        old = _read_text(path)
        if old is not None:
            day = _DATE.search(old)
            if old == text(day.group(1) if day else date):
                unchanged.append(path)
                continue
        try:
            atomic_write(path, text(date), 0o644, make_parents=True)
        except OSError as exc:
            raise HlsyncError(
                f"{display_path(path)}: cannot write ({exc.strerror})"
            ) from exc
        written.append(path)
    removed = []
    for path in existing:
        if path.relative_to(folder).as_posix() not in texts:
            path.unlink()
            removed.append(path)
    return tuple(written), tuple(unchanged), tuple(removed)


def _owned(folder: Path, texts: Mapping[str, Callable[[str], str]]) -> list[Path]:
    """The export-written YAML files in ``folder``. A YAML file there that an export
    did not write (a directory config would load it), or any other file the export
    would overwrite outside an earlier export's folder, stops it before anything is
    written."""
    if not folder.is_dir():
        return []
    yaml = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    ours = [p for p in yaml if _marked(p)]
    foreign = [p for p in yaml if p not in ours]
    if not ours:  # not an earlier export's folder: its seed files are not ours
        foreign += [folder / name for name in texts if (folder / name).exists()]
    if foreign:
        shown = ", ".join(display_path(p) for p in sorted(set(foreign)))
        raise HlsyncError(
            f"--out {display_path(folder)} holds files hlsync export did not write: "
            f"{shown}; nothing was written",
            Location(display_path(folder)),
            hints=("export into an empty folder, or one an earlier export wrote",),
        )
    return ours


def _marked(path: Path) -> bool:
    text = _read_text(path)
    return text is not None and any(
        line.startswith(MARK) for line in text.splitlines()[:3]
    )


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _copy_state(desired: DesiredState, folder: Path) -> tuple[Path, ...]:
    """The token journal (and on the live cloud the ledger) from beside PATH, when
    the export folder has none: they record integrations PATH's tokens belong to."""
    pairs = [(journal_path(desired), folder / JOURNAL_FILE)]
    if desired.target.kind == "leadconnector":
        ledger = ledger_file(desired)
        pairs.append((ledger, folder / ledger.name))
    copied = []
    for found, target in pairs:
        if found.is_file() and not target.exists():
            shutil.copyfile(found, target)
            copied.append(target)
    return tuple(copied)


def _validate(folder: Path, allow: Sequence[Path]) -> None:
    try:
        load_config(folder, allow=allow)
    except HlsyncError as exc:
        first = Problem(
            f"the export written to {display_path(folder)} does not validate "
            "(the account holds what its config may not say)",
            None,
            "fix it in HighLevel or in the source config (its policy), then export "
            "again; hlsync validate shows the problems",
        )
        raise HlsyncError.collect([first, *exc.problems]) from exc
