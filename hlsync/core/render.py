"""Plans and apply results as text (like Terraform's), markdown (a pull-request comment)
or JSON. Pure functions returning strings; the CLI decides where they go.

Text shows only what changes: ``+`` create, ``~`` update, ``-`` delete, ``-/+`` replace,
one ``field: before -> after`` line per changed declared field, scope changes with the
endpoints they grant or take away, and why a change needs ``--force``. Noop changes are
counted in the summary but never listed. Colour (ANSI) only when ``color=True``; the CLI
asks :func:`use_color`, which honours ``NO_COLOR`` and a non-terminal stdout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from hlsync.core.model import JSONValue
from hlsync.core.plan import GATES, Change, FieldChange, Plan
from hlsync.core.result import ApplyResult, Outcome

NO_CHANGES = "No changes. The account matches the configuration."
UNMANAGED_WHY = (
    "hlsync leaves them alone; `manage: {<kind>: exclusive}` would delete them"
)
UNMANAGED_TITLE = f"Not managed by this config ({UNMANAGED_WHY}):"
NAMES_SHOWN = 20  # names per kind in text and markdown; JSON lists them all

SYMBOLS: Mapping[str, str] = {
    "create": "+",
    "update": "~",
    "delete": "-",
    "replace": "-/+",
    "rotate": "~",
    "rotate_now": "~",
    "expire_old": "~",
    "cancel_rotation": "~",
}
NOTES: Mapping[str, str] = {
    "rotate": "(token: rotate; the old token stays valid during the overlap)",
    "rotate_now": "(token: rotate now; the old token stops working at once)",
    "expire_old": "(token: expire the old token now)",
    "cancel_rotation": "(token: cancel the rotation; the old token stays)",
}
_COLORS = {"+": "32", "~": "33", "-": "31", "-/+": "35", "!": "31", "warn": "33"}
_STATUS_COLORS = {"ok": "32", "failed": "31", "skipped": "33"}


def use_color(isatty: bool, environ: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (no-color.org)."""
    if environ.get("NO_COLOR", ""):
        return False
    return isatty


def _paint(text: str, code: str | None, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def _value(value: JSONValue) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def summary_line(plan: Plan) -> str:
    s = plan.summary
    line = f"Plan: {s.add} to add, {s.change} to change, {s.destroy} to destroy"
    if s.rotate:
        line += f", {s.rotate} token{'s' if s.rotate != 1 else ''} to rotate"
    if s.expire:
        line += f", {s.expire} old token{'s' if s.expire != 1 else ''} to expire"
    return line + "."


def estimate_line(plan: Plan) -> str:
    """The calls and time, saying which rate limit they are estimated at: the one the
    server reported or upstream's documented default (``core.estimate``)."""
    cost = plan.estimate
    limit = cost.limit
    source = (
        "the rate limit the server reported"
        if limit.reported
        else "upstream's documented default"
    )
    if cost.uniform or cost.pace is None:
        where = f"({limit.describe()} per location; locations run in parallel)"
    else:
        where = (
            f"for {cost.pace}, the location that sets the pace ({limit.describe()}; "
            "each location has its own limit and they run in parallel)"
        )
    return (
        f"Estimated: {cost.calls} API call{'s' if cost.calls != 1 else ''}, "
        f"about {cost.seconds}s at {source} {where}."
    )


def _groups(plan: Plan) -> list[tuple[str, str | None, list[Change]]]:
    """(label, location id, pending changes) per location, agency first, plan order."""
    groups: list[tuple[str, str | None, list[Change]]] = [("agency", None, [])]
    groups += [(loc.name, loc.id, []) for loc in plan.locations]
    index = {label: changes for label, _, changes in groups}
    for change in plan.pending:
        index.setdefault(change.location or "agency", []).append(change)
    known = {label for label, _, _ in groups}
    groups += [(name, None, index[name]) for name in sorted(index) if name not in known]
    return groups


def _change_lines(change: Change) -> Iterator[tuple[str, str | None]]:
    """(text, colour code) lines for one change; the head line is not indented."""
    symbol = SYMBOLS.get(change.action, "?")
    head = f"{symbol} {change.address}"
    if change.action == "replace":
        kinds = [fc for fc in change.fields if fc.path == "data_type"]
        if kinds:
            fc = kinds[0]
            head += (
                f"  (data_type {_value(fc.before)} -> {_value(fc.after)} "
                "forces replacement)"
            )
    if change.action in NOTES:
        head += "  " + NOTES[change.action]
    yield head, _COLORS.get(symbol)
    reason = change.desired.get("reason")
    if isinstance(reason, str):
        yield f"    why: {reason}", None
    sink = change.desired.get("sink")
    if change.kind == "integration" and isinstance(sink, str):
        yield f"    new token -> {sink}", None
    for fc in change.fields:
        if fc.path == "scopes" and change.scopes:
            continue
        if change.action == "replace" and fc.path == "data_type":
            continue
        yield "    " + _field_line(fc), None
    if change.scopes:
        yield "    scopes:", None
        for delta in change.scopes:
            mark = "+" if delta.added else "-"
            line = f"      {mark} {delta.scope}"
            code = _COLORS[mark]
            if delta.privilege_increase:
                line += "  (privilege increase)"
                code = _COLORS["warn"]
            yield line, code
            if delta.endpoints:
                verb = "grants" if delta.added else "takes away"
                yield f"          {verb}:", None
                for endpoint in delta.endpoints:
                    yield f"            {endpoint}", None
    if change.gate is not None:
        reason = GATES.get(change.gate, change.gate)
        if change.gate == "protected":
            yield f"    ! refused: {reason}", _COLORS["!"]
        else:
            yield f"    ! needs --force: {reason}", _COLORS["!"]


def _field_line(fc: FieldChange) -> str:
    before, after = fc.before, fc.after
    if isinstance(before, list) and isinstance(after, list):
        added = [v for v in after if v not in before]
        removed = [v for v in before if v not in after]
        parts = [f"+ {_value(v)}" for v in added] + [f"- {_value(v)}" for v in removed]
        if parts:
            return f"{fc.path}: " + ", ".join(parts)
        return f"{fc.path}: {_value(before)} -> {_value(after)}"  # order only
    if before is None:
        return f"{fc.path}: {_value(after)}"
    return f"{fc.path}: {_value(before)} -> {_value(after)}"


def _warning_lines(plan: Plan, color: bool) -> list[str]:
    return [_paint(f"Warning: {w}", _COLORS["warn"], color) for w in plan.warnings]


def allowed_line(plan: Plan) -> str | None:
    """The directories outside the config folder its paths were allowed to use
    (``--allow-path``), for the plan's header; None when there are none."""
    if not plan.allowed_roots:
        return None
    return "Paths allowed outside the config folder (--allow-path): " + ", ".join(
        plan.allowed_roots
    )


def shard_line(plan: Plan) -> str | None:
    """Which shards of a ``--shard I/N`` partition the plan covers (and lacks), for
    its header; None for a plan of every selected location."""
    shard = plan.shard
    if shard is None:
        return None
    shown = ", ".join(str(i) for i in shard.indexes)
    if len(shard.indexes) == 1:
        line = f"Shard {shown} of {shard.count} (--shard {shown}/{shard.count})."
    else:
        line = f"Shards {shown} of {shard.count}, combined."
    if len(shard.indexes) > 1 and shard.missing:
        lacks = ", ".join(str(i) for i in shard.missing)
        one = len(shard.missing) == 1
        noun, its = ("shard", "its") if one else ("shards", "their")
        line += f" Missing {noun} {lacks}: {its} locations are not in this plan."
    return line


def unmanaged_texts(plan: Plan) -> list[str]:
    """``main: 3 tags: a, b, c`` per location and kind (the agency as ``agency``;
    names cut after :data:`NAMES_SHOWN`), then one line per location naming the kinds
    its token could not list (the reasons are in the JSON)."""
    out: list[str] = []
    unlisted: dict[str, list[str]] = {}
    for entry in plan.unmanaged:
        where = entry.location or "agency"
        noun = entry.kind.replace("_", " ")
        if entry.note is not None:
            unlisted.setdefault(where, []).append(f"{noun}s")
            continue
        text = f"{where}: {entry.count} {noun}{'s' if entry.count != 1 else ''}"
        if entry.names:
            shown = ", ".join(entry.names[:NAMES_SHOWN])
            more = len(entry.names) - NAMES_SHOWN
            text += f": {shown}" + (f", … and {more} more" if more > 0 else "")
        out.append(text)
    out += [
        f"{where}: not listed (its token may not read them): {', '.join(kinds)}"
        for where, kinds in unlisted.items()
    ]
    return out


def _unmanaged_lines(plan: Plan) -> list[str]:
    if not plan.unmanaged:
        return []
    return ["", UNMANAGED_TITLE] + [f"  {line}" for line in unmanaged_texts(plan)]


def render_plan_text(plan: Plan, *, color: bool = False) -> str:
    """The plan as a reviewer reads it in a terminal or a CI log; the shard, the
    allowed paths and warnings first, what the config does not manage last."""
    warnings = _warning_lines(plan, color)
    if (allowed := allowed_line(plan)) is not None:
        warnings.insert(0, _paint(allowed, _COLORS["warn"], color))
    if (shards := shard_line(plan)) is not None:
        warnings.insert(0, _paint(shards, "1", color))
    if warnings:
        warnings.append("")
    if not plan.has_changes:
        return "\n".join([*warnings, NO_CHANGES, *_unmanaged_lines(plan)]) + "\n"
    out = [*warnings, f"hlsync will make these changes to {plan.target}:", ""]
    for label, loc_id, changes in _groups(plan):
        if not changes:
            continue
        title = label if loc_id is None else f"{label} ({loc_id})"
        out.append(_paint(title, "1", color))
        for change in changes:
            for text, code in _change_lines(change):
                body = text.lstrip(" ")
                indent = text[: len(text) - len(body)]
                out.append("  " + indent + _paint(body, code, color))
        out.append("")
    out.append(_paint(summary_line(plan), "1", color))
    out.append(estimate_line(plan))
    out += _unmanaged_lines(plan)
    return "\n".join(out) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fence(body: str) -> str:
    """A backtick fence longer than any backtick run inside, so values cannot break out."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def render_plan_markdown(plan: Plan) -> str:
    """A pull-request comment: summary, warnings, a table and one section per location."""
    out = ["## hlsync plan", ""]
    if (shards := shard_line(plan)) is not None:
        out += [shards, ""]
    if plan.allowed_roots:
        roots = ", ".join(f"`{_md_cell(r)}`" for r in plan.allowed_roots)
        out += [
            "> [!IMPORTANT]",
            f"> Paths allowed outside the config folder (`--allow-path`): {roots}",
            "",
        ]
    if plan.warnings:
        out += ["> [!WARNING]", "> Warnings:"]
        out += [f"> - {_md_cell(w)}" for w in plan.warnings]
        out.append("")
    if not plan.has_changes:
        return "\n".join([*out, NO_CHANGES, "", *_unmanaged_markdown(plan)])
    out += [f"**{summary_line(plan)}**", "", estimate_line(plan), ""]
    out += [f"Target: `{plan.target}` · config `{plan.config_digest[:12]}`", ""]
    raises = [
        (c, d)
        for c in plan.pending
        for d in c.scopes
        if d.added and d.privilege_increase
    ]
    if raises:
        out += ["> [!WARNING]", "> Privilege increase:"]
        out += [f"> - `{c.address}` gains `{d.scope}`" for c, d in raises]
        out.append("")
    gated = [c for c in plan.pending if c.gate is not None]
    if gated:
        out += ["> [!CAUTION]", "> Held back by a safety gate:"]
        for c in gated:
            how = "refused" if c.gate == "protected" else "needs `--force`"
            out.append(f"> - `{c.address}` {how}: {GATES.get(c.gate or '', c.gate)}")
        out.append("")
    out += ["| location | add | change | destroy |", "| --- | ---: | ---: | ---: |"]
    groups = _groups(plan)
    for label, loc_id, changes in groups:
        if label == "agency" and not changes:
            continue
        add = sum(c.action in ("create", "replace") for c in changes)
        change = sum(c.action not in ("create", "replace", "delete") for c in changes)
        destroy = sum(c.action in ("delete", "replace") for c in changes)
        name = _md_cell(label) if loc_id is None else f"{_md_cell(label)} (`{loc_id}`)"
        out.append(f"| {name} | {add} | {change} | {destroy} |")
    out.append("")
    for label, loc_id, changes in groups:
        if not changes:
            continue
        body = "\n".join(text for c in changes for text, _ in _change_lines(c))
        fence = _fence(body)
        where = f"<b>{_html(label)}</b>" + (
            "" if loc_id is None else f" ({_html(loc_id)})"
        )
        count = f"{len(changes)} change{'s' if len(changes) != 1 else ''}"
        out += [f"<details><summary>{where}: {count}</summary>", ""]
        out += [f"{fence}diff", body, fence, "", "</details>", ""]
    return "\n".join([*out, *_unmanaged_markdown(plan)])


def _unmanaged_markdown(plan: Plan) -> list[str]:
    """One collapsed section: a line per location and kind."""
    if not plan.unmanaged:
        return []
    counted = sum(u.count for u in plan.unmanaged)
    out = [
        f"<details><summary>Not managed by this config: {counted} "
        f"object{'s' if counted != 1 else ''}</summary>",
        "",
        _md_cell(UNMANAGED_WHY) + ":",
        "",
    ]
    out += [f"- {_md_cell(line)}" for line in unmanaged_texts(plan)]
    return [*out, "", "</details>", ""]


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_plan_json(plan: Plan) -> str:
    """Exactly ``Plan.to_dict()``; validates against schemas/plan.schema.json."""
    return json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _result_summary(result: ApplyResult) -> str:
    calls = result.api_calls
    line = (
        f"Apply: {result.count('ok')} ok, {result.count('failed')} failed, "
        f"{result.count('skipped')} skipped; {calls} API call{'s' if calls != 1 else ''}"
    )
    if result.elapsed_seconds is not None:
        line += f" in {result.elapsed_seconds:.1f}s"
    line += "."
    if result.interrupted:
        line += " Stopped early; the remaining changes were not attempted."
    return line


def _outcome_detail(o: Outcome) -> str:
    if o.message:
        return o.message
    return f"{o.api_calls} API call{'s' if o.api_calls != 1 else ''}"


def render_result_text(result: ApplyResult, *, color: bool = False) -> str:
    """One line per outcome, then a table per location and the summary line."""
    out: list[str] = []
    width = max((len(o.change_address) for o in result.outcomes), default=0)
    for o in result.outcomes:
        status = _paint(f"{o.status:<8}", _STATUS_COLORS[o.status], color)
        out.append(f"  {status} {o.change_address:<{width}}  {_outcome_detail(o)}")
    if out:
        out.append("")
    rows: list[tuple[str, ...]] = [("location", "ok", "failed", "skipped", "API calls")]
    rows += [
        (t.location, str(t.ok), str(t.failed), str(t.skipped), str(t.api_calls))
        for t in result.by_location()
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(widths[i]) for i, cell in enumerate(row) if i]
        out.append("  " + "  ".join(cells))
    out += ["", _paint(_result_summary(result), "1", color)]
    return "\n".join(out) + "\n"


def render_result_markdown(result: ApplyResult) -> str:
    out = ["## hlsync apply", "", f"**{_result_summary(result)}**", ""]
    out += [
        "| location | ok | failed | skipped | API calls |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for t in result.by_location():
        cells = (_md_cell(t.location), t.ok, t.failed, t.skipped, t.api_calls)
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    out.append("")
    problems = [o for o in result.outcomes if o.status != "ok"]
    if problems:
        out += ["| change | status | message |", "| --- | --- | --- |"]
        for o in problems:
            out.append(
                f"| `{_md_cell(o.change_address)}` | {o.status} | {_md_cell(o.message)} |"
            )
        out.append("")
    return "\n".join(out)


def render_result_json(result: ApplyResult) -> str:
    data: dict[str, Any] = result.to_dict()
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
