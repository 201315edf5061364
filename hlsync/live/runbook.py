"""The runbook: each Private Integration change of a plan as numbered steps in the UI.

HighLevel has no API for Private Integrations (reference §7.2): on the live cloud an
operator makes each change in the web app, then tells hlsync it is done
(``hlsync confirm``), hands over a new token (``hlsync token deliver``) and checks it
(``hlsync verify``). :func:`runbook_items` turns every pending integration change of a
:class:`~hlsync.core.plan.Plan` into those steps; :func:`render_runbook_text` and
:func:`render_runbook_markdown` render the same items. Pure functions: no files, no
network; ``manual.write_runbook`` writes them.

UI wording follows the help-centre articles (reference §7.1): Settings › Private
Integrations › "Create new Integration"; the three-dot menu's Edit, Delete, "Rotate and
expire this token later" / "... now", and "Expire Now" during a rotation. A token is
shown once, so every step that makes one says to copy it, then to confirm and deliver.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from hlsync.core.plan import GATES, Change, Plan

TITLES = {
    "create": "Create",
    "update": "Edit",
    "delete": "Delete",
    "rotate": "Rotate the token of",
    "rotate_now": "Rotate now the token of",
    "expire_old": "Expire the old token of",
}
_LABEL = re.compile(r"«([^»]*)»")
WIDTH = 88  # text runbook lines; fields and commands are never wrapped


@dataclass(frozen=True, slots=True)
class ScopeTick:
    """One checkbox: tick (``True``) or untick a scope."""

    scope: str
    tick: bool
    privilege_increase: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """One numbered step. ``text`` marks UI labels as «label»; ``fields`` are
    (label, value) lines to type; ``command`` a shell command to run."""

    text: str
    fields: tuple[tuple[str, str], ...] = ()
    scopes: tuple[ScopeTick, ...] = ()
    command: str | None = None


@dataclass(frozen=True, slots=True)
class RunbookItem:
    """The steps of one plan change."""

    key: str  # main/seed-bot, agency/ci
    title: str  # Create main/seed-bot
    where: str  # sub-account main (LOC…) / the agency
    change: Change
    steps: tuple[Step, ...]
    warning: str | None = None


def integration_name(change: Change) -> str:
    """``main/seed-bot`` or ``agency/ci``: how the commands name an integration."""
    return f"{change.location or 'agency'}/{change.key}"


def runbook_items(plan: Plan) -> tuple[RunbookItem, ...]:
    """Every pending integration change of ``plan``, in plan order."""
    return tuple(
        _item(c, plan.config_root)
        for c in plan.pending
        if c.kind == "integration" and c.action in TITLES
    )


def _command(verb: str, key: str, config_root: str | None) -> str:
    path = "" if config_root in (None, ".", "") else f" {_shell_word(config_root)}"
    return f"hlsync {verb} {key}{path}"


def _shell_word(text: str | None) -> str:
    word = text or "."
    if re.fullmatch(r"[A-Za-z0-9_./@%+=:,-]+", word):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"


def _open_step(change: Change) -> Step:
    if change.location is None:
        return Step(
            "Sign in to HighLevel in the agency view and open «Settings › "
            "Private Integrations»."
        )
    return Step(
        f"Switch to the sub-account {change.location} ({change.location_id}) and "
        "open «Settings › Private Integrations»."
    )


def _menu(change: Change, entry: str, note: str = "") -> str:
    return f"Open the three-dot menu of «{change.key}» and choose «{entry}»{note}."


def _tick_phrase(ticks: tuple[ScopeTick, ...]) -> str:
    added = sum(t.tick for t in ticks)
    removed = len(ticks) - added
    if not removed:
        return f"Tick {_these(added)}"
    if not added:
        return f"Untick {_these(removed)}"
    return f"Tick {added} and untick {_count(removed, 'scope')}"


def _these(n: int) -> str:
    return "this scope" if n == 1 else f"these {n} scopes"


def _item(change: Change, config_root: str | None) -> RunbookItem:
    key = integration_name(change)
    confirm = Step(
        "Record that it is done:", command=_command("confirm", key, config_root)
    )
    deliver = Step(
        "Store the new token (paste it when asked; it is not shown):",
        command=_command("token deliver", key, config_root),
    )
    verify = Step(
        "Check the token against its declared scopes:",
        command=_command("verify", key, config_root),
    )
    copy = "Copy the new token now: it is shown only once."
    desired = change.desired
    steps: list[Step] = [_open_step(change)]
    if change.action == "create":
        increases = {d.scope for d in change.scopes if d.privilege_increase}
        scopes = [str(s) for s in desired.get("scopes") or ()]
        steps += [
            Step("Click «Create new Integration»."),
            Step(
                "Fill in:",
                fields=(
                    ("Name", str(desired.get("name") or change.key)),
                    ("Description", str(desired.get("description") or "")),
                ),
            ),
            Step(
                f"Tick exactly these {_count(len(scopes), 'scope')}, nothing else:",
                scopes=tuple(ScopeTick(s, True, s in increases) for s in scopes),
            ),
            Step(f"Click «Create». {copy}"),
            confirm,
            deliver,
            verify,
        ]
    elif change.action == "update":
        steps.append(Step(_menu(change, "Edit")))
        for fc in change.fields:
            if fc.path == "description":
                steps.append(
                    Step(
                        "Change the description:",
                        fields=(
                            ("New description", str(fc.after or "")),
                            ("Old description", str(fc.before or "")),
                        ),
                    )
                )
        ticks = tuple(
            ScopeTick(d.scope, d.added, d.privilege_increase) for d in change.scopes
        )
        if ticks:
            steps.append(
                Step(
                    _tick_phrase(ticks) + "; leave every other box as it is:",
                    scopes=tuple(sorted(ticks, key=lambda t: (not t.tick, t.scope))),
                )
            )
        steps += [
            Step("Click «Save». The token does not change: nothing to deliver."),
            confirm,
        ]
        if ticks:
            steps.append(verify)
    elif change.action == "delete":
        steps += [
            Step(
                _menu(change, "Delete")
                + " Confirm it; its token stops working at once."
            ),
            confirm,
        ]
    elif change.action in ("rotate", "rotate_now"):
        if change.action == "rotate":
            entry = "Rotate and expire this token later"
            effect = "The old token keeps working for 7 days."
        else:
            entry = "Rotate and expire this token now"
            effect = "The old token stops working at once."
        steps += [
            Step(f"{_menu(change, entry)} {effect}"),
            Step(copy),
            confirm,
            deliver,
            verify,
        ]
    else:  # expire_old
        steps += [
            Step(
                _menu(change, "Expire Now", " (offered while a rotation is open)")
                + " The old token stops working at once; the new one stays."
            ),
            confirm,
        ]
    warning = None
    if change.gate is not None:
        reason = GATES.get(change.gate, change.gate)
        warning = f"held back by a safety gate: {reason}; apply it with --force first"
        if change.gate == "protected":
            warning = f"refused: {reason}; do not do this step"
    where = (
        "the agency"
        if change.location is None
        else f"sub-account {change.location} ({change.location_id})"
    )
    return RunbookItem(
        key=key,
        title=f"{TITLES[change.action]} {key}",
        where=where,
        change=change,
        steps=tuple(steps),
        warning=warning,
    )


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _intro(plan: Plan, items: tuple[RunbookItem, ...]) -> tuple[str, str]:
    head = f"Runbook: {_count(len(items), 'manual change')} to Private Integrations"
    body = (
        f"Target {plan.target}. HighLevel has no API for Private Integrations: make "
        "each change in its web app, in this order, then run the commands it names."
    )
    return head, body


NOTHING = "No manual steps: the Private Integrations match the ledger."
CLOSING = "When every step is done, 'hlsync plan' shows no integration changes."


def render_runbook_text(plan: Plan) -> str:
    """The runbook as plain text (``runbook.txt``); ends with a newline."""
    items = runbook_items(plan)
    if not items:
        return NOTHING + "\n"
    head, body = _intro(plan, items)
    lines = [head, "", *textwrap.wrap(body, WIDTH, break_on_hyphens=False)]
    for n, item in enumerate(items, 1):
        lines += ["", f"[{n}/{len(items)}] {item.title} in {item.where}"]
        if item.warning:
            lines += _wrap(item.warning, "  ! ", "    ")
        for i, step in enumerate(item.steps, 1):
            lines.extend(_text_step(i, step))
    lines += ["", CLOSING]
    return "\n".join(lines) + "\n"


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _text_step(number: int, step: Step) -> Iterator[str]:
    # a UI label stays on one line: its spaces are held as NUL while wrapping
    text = _LABEL.sub(lambda m: '"' + m.group(1).replace(" ", "\0") + '"', step.text)
    for line in _wrap(text, f"  {number}. ", "     "):
        yield line.replace("\0", " ")
    width = max((len(label) for label, _ in step.fields), default=0) + 1
    for label, value in step.fields:
        yield f"       {(label + ':').ljust(width + 1)}{value or '(empty)'}"
    for t in step.scopes:
        note = "  (privilege increase)" if t.privilege_increase else ""
        yield f"       [{'x' if t.tick else ' '}] {t.scope}{note}"
    if step.command:
        yield f"       $ {step.command}"


def render_runbook_markdown(plan: Plan) -> str:
    """The runbook as markdown (``runbook.md``, a pull-request comment)."""
    items = runbook_items(plan)
    if not items:
        return NOTHING + "\n"
    head, body = _intro(plan, items)
    lines = [f"## {head}", "", body.replace(plan.target, _code(plan.target), 1)]
    for n, item in enumerate(items, 1):
        title = item.title.replace(item.key, _code(item.key), 1)
        lines += ["", f"### {n}. {title} in {_md_where(item)}", ""]
        if item.warning:
            lines += [f"> **Warning:** {item.warning}", ""]
        for i, step in enumerate(item.steps, 1):
            lines.extend(_md_step(i, step))
    lines += ["", CLOSING.replace("'hlsync plan'", "`hlsync plan`")]
    return "\n".join(lines) + "\n"


def _md_where(item: RunbookItem) -> str:
    change = item.change
    if change.location is None:
        return "the agency"
    return f"sub-account {change.location} ({_code(change.location_id or '')})"


def _md_step(number: int, step: Step) -> Iterator[str]:
    yield f"{number}. " + _LABEL.sub(r"**\1**", step.text)
    for label, value in step.fields:
        yield f"   - {label}: {_code(value) if value else '(empty)'}"
    for t in step.scopes:
        note = " (privilege increase)" if t.privilege_increase else ""
        name = _code(t.scope) if t.tick else f"~~{_code(t.scope)}~~"
        yield f"   - [{'x' if t.tick else ' '}] {name}{note}"
    if step.command:
        yield from ("   ```sh", f"   {step.command}", "   ```")


def _code(text: str) -> str:
    """``text`` as an inline code span, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
