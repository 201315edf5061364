"""The runbook: each Private Integration change of a plan as numbered steps in the UI.

HighLevel has no API for Private Integrations (reference §7.2): on the live cloud an
operator makes each change in the web app, then tells hlsync it is done
(``hlsync confirm``), hands over a new token (``hlsync token deliver``) and checks it
(``hlsync verify``). :func:`runbook_items` turns every pending integration change of a
:class:`~hlsync.core.plan.Plan` into those steps; :func:`render_runbook_text` and
:func:`render_runbook_markdown` render the same items, after a short "before you start"
block (who may manage Private Integrations, and Labs). Pure functions: no files, no
network; ``manual.write_runbook`` writes them.

The steps follow the help article's flows word for word (reference §7.3), in its order,
and quote only the UI's own labels (:data:`UI_LABELS`; a test checks every quoted label
of the golden runbooks against that list and the list against §7.3):

* find it — agency: the agency view's "Settings" › "Private Integrations"; sub-account:
  the sub-account's "Settings" › "Private Integrations";
* create — "Create new Integration" → name and description → the scopes → the token is
  shown once;
* edit — "…" → "Edit" → name/description → "Next" → scopes → "Update" (the token stays);
* rotate later / now — open the integration → "Rotate and expire this token later" /
  "… now" → a warning → "Continue" → copy the new token;
* cancel rotation, expire now — open the integration during the 7 days → "Cancel
  rotation" / "Expire Now";
* delete — "…" → "Delete".

In a step's text «label» marks a UI label and ‹name› an integration's name; the text
renderer quotes them ("label", 'name'), the markdown one makes them bold and code.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from hlsync.core.plan import GATES, Change, Plan, ScopeDelta, address

TITLES = {
    "create": "Create",
    "update": "Edit",
    "delete": "Delete",
    "rotate": "Rotate the token of",
    "rotate_now": "Rotate now the token of",
    "expire_old": "Expire the old token of",
    "cancel_rotation": "Cancel the rotation of",
}
# The UI's own words, as reference §7.3 quotes them (the help article's labels) ...
UI_LABELS = (
    "Private Integrations",
    "view and manage",
    "Create new Integration",
    "…",
    "Edit",
    "Next",
    "Update",
    "Rotate and expire this token later",
    "Rotate and expire this token now",
    "Continue",
    "Cancel rotation",
    "Expire Now",
    "Delete",
)
# ... and the menus on its paths ("Settings → Team → edit the user → Roles &
# Permissions").
UI_MENUS = ("Settings", "Team", "Roles & Permissions", "Labs")
OVERLAP_DAYS = 7  # "both tokens work for 7 days" (reference §7.1, §7.3)

_LABEL = re.compile(r"«([^»]*)»")
_NAME = re.compile(r"‹([^›]*)›")
WIDTH = 88  # text runbook lines; fields and commands are never wrapped


@dataclass(frozen=True, slots=True)
class ScopeTick:
    """One checkbox: tick (``True``) or untick a scope."""

    scope: str
    tick: bool
    privilege_increase: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """One numbered step. ``text`` marks UI labels as «label» and names as ‹name›;
    ``fields`` are (label, value) lines to type; ``command`` a shell command to run."""

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


def scope_fix_item(
    location: str | None,
    location_id: str | None,
    name: str,
    *,
    tick: Sequence[str] = (),
    untick: Sequence[str] = (),
    config_root: str | None = None,
    excess: bool = False,
) -> RunbookItem:
    """The runbook's edit of integration ``name`` that ticks ``tick`` and unticks
    ``untick``, for a token that does not hold what the ledger says (``hlsync
    verify``): the UI steps, then verify again (``--excess`` when ``excess``). No
    confirm: the ledger already records the declared scopes."""
    change = Change(
        address=address(location, "integration", name),
        action="update",
        kind="integration",
        location=location,
        location_id=location_id,
        key=name,
        scopes=tuple(
            [ScopeDelta(s, True) for s in sorted(tick)]
            + [ScopeDelta(s, False) for s in sorted(untick)]
        ),
    )
    item = _item(change, config_root)
    key = integration_name(change)
    again = _command("verify", key, config_root) + (" --excess" if excess else "")
    steps = [s for s in item.steps if s.command is None]
    steps.append(Step("Check the token again:", command=again))
    return dataclasses.replace(item, steps=tuple(steps))


def _command(verb: str, key: str, config_root: str | None) -> str:
    path = "" if config_root in (None, ".", "") else f" {_shell_word(config_root)}"
    return f"hlsync {verb} {key}{path}"


def _shell_word(text: str | None) -> str:
    word = text or "."
    if re.fullmatch(r"[A-Za-z0-9_./@%+=:,-]+", word):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"


def _open_step(change: Change) -> Step:
    """Find it (§7.3): the agency view's or the sub-account's Settings."""
    if change.location is None:
        return Step("In the agency view, open «Settings» › «Private Integrations».")
    return Step(
        f"Switch to the sub-account {change.location} ({change.location_id}) and "
        "open its «Settings» › «Private Integrations»."
    )


def _menu(change: Change, entry: str) -> Step:
    return Step(f"Open the three-dot menu «…» of ‹{change.key}› and choose «{entry}».")


def _open_integration(change: Change, note: str = "") -> Step:
    return Step(f"Click the integration ‹{change.key}› to open it{note}.")


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


COPY = "Copy it now: it cannot be shown again."
DURING = (
    f"for {OVERLAP_DAYS} days; during them the integration offers «Cancel rotation» "
    "and «Expire Now»."
)


def _flow(change: Change, config_root: str | None) -> list[Step]:
    """The UI steps of ``change`` (reference §7.3), then hlsync's commands."""
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
    desired = change.desired
    steps: list[Step] = [_open_step(change)]
    if change.action == "create":
        increases = {d.scope for d in change.scopes if d.privilege_increase}
        scopes = [str(s) for s in desired.get("scopes") or ()]
        return steps + [
            Step("Click «Create new Integration»."),
            Step(
                "Give it a name and a description:",
                fields=(
                    ("Name", str(desired.get("name") or change.key)),
                    ("Description", str(desired.get("description") or "")),
                ),
            ),
            Step(
                f"Select exactly these {_count(len(scopes), 'scope')}, nothing else:",
                scopes=tuple(ScopeTick(s, True, s in increases) for s in scopes),
            ),
            Step(f"Finish creating it: the token is shown. {COPY}"),
            confirm,
            deliver,
            verify,
        ]
    if change.action == "update":
        steps.append(_menu(change, "Edit"))
        described = [fc for fc in change.fields if fc.path == "description"]
        for fc in described:
            steps.append(
                Step(
                    "Update the description:",
                    fields=(
                        ("New description", str(fc.after or "")),
                        ("Old description", str(fc.before or "")),
                    ),
                )
            )
        if not described:
            steps.append(Step("Leave the name and the description as they are."))
        steps.append(Step("Click «Next»."))
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
        else:
            steps.append(Step("Leave the scopes as they are."))
        steps += [
            Step("Click «Update». The token does not change: nothing to deliver."),
            confirm,
        ]
        return steps + [verify] if ticks else steps
    if change.action == "delete":
        return steps + [
            Step(_menu(change, "Delete").text + " Its token stops working at once."),
            confirm,
        ]
    if change.action in ("rotate", "rotate_now"):
        later = change.action == "rotate"
        entry = f"Rotate and expire this token {'later' if later else 'now'}"
        effect = (
            f"The old token keeps working {DURING}"
            if later
            else "The old token stops working at once."
        )
        return steps + [
            _open_integration(change),
            Step(
                f"Click «{entry}». A warning follows: read it, then click «Continue»."
            ),
            Step(f"The new token is shown. {COPY} {effect}"),
            confirm,
            deliver,
            verify,
        ]
    during = f" (during the {OVERLAP_DAYS} days after a rotation)"
    if change.action == "cancel_rotation":
        restore = _command("confirm", key, config_root) + " --cancel-rotation"
        return steps + [
            _open_integration(change, during),
            Step(
                "Click «Cancel rotation». The token the rotation made stops working; "
                "the old one keeps working, with no end date."
            ),
            Step(
                "Record that it is done (the old token goes back into the sink):",
                command=restore,
            ),
            verify,
        ]
    # expire_old
    return steps + [
        _open_integration(change, during),
        Step(
            "Click «Expire Now». The old token stops working at once; the new one "
            "stays."
        ),
        confirm,
    ]


def _item(change: Change, config_root: str | None) -> RunbookItem:
    key = integration_name(change)
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
        steps=tuple(_flow(change, config_root)),
        warning=warning,
    )


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def prerequisites(items: Sequence[RunbookItem]) -> tuple[str, ...]:
    """The "before you start" block (reference §7.3, who may; §7.1, Labs), naming
    only the levels (agency, sub-accounts) the items touch."""
    agency = any(i.change.location is None for i in items)
    sub = any(i.change.location is not None for i in items)
    whose = " and ".join(
        w
        for w, wanted in (("the agency's", agency), ("the sub-accounts'", sub))
        if wanted
    )
    return (
        "Who may: agency admins manage Private Integrations by default. For anyone "
        "else an agency admin opens «Settings» › «Team», edits the user and, under "
        f"«Roles & Permissions», allows «view and manage» for {whose} Private "
        "Integrations.",
        "No «Private Integrations» under «Settings»? The feature may need enabling "
        "in «Labs».",
    )


def _intro(plan: Plan, items: tuple[RunbookItem, ...]) -> tuple[str, str]:
    head = f"Runbook: {_count(len(items), 'manual change')} to Private Integrations"
    body = (
        f"Target {plan.target}. HighLevel has no API for Private Integrations: make "
        "each change in its web app, in this order, then run the commands it names."
    )
    return head, body


NOTHING = "No manual steps: the Private Integrations match the ledger."
CLOSING = "When every step is done, 'hlsync plan' shows no integration changes."
BEFORE = "Before you start:"


def render_runbook_text(plan: Plan) -> str:
    """The runbook as plain text (``runbook.txt``); ends with a newline."""
    items = runbook_items(plan)
    if not items:
        return NOTHING + "\n"
    head, body = _intro(plan, items)
    lines = [head, "", *textwrap.wrap(body, WIDTH, break_on_hyphens=False)]
    lines += ["", BEFORE]
    for note in prerequisites(items):
        lines += _wrap(_plain(note), "  - ", "    ")
    for n, item in enumerate(items, 1):
        lines += ["", f"[{n}/{len(items)}] {item.title} in {item.where}"]
        lines += render_item_text(item)
    lines += ["", CLOSING]
    return "\n".join(lines) + "\n"


def render_item_text(item: RunbookItem) -> list[str]:
    """One item's warning and numbered steps as text lines (no title)."""
    lines = _wrap(item.warning, "  ! ", "    ") if item.warning else []
    for i, step in enumerate(item.steps, 1):
        lines.extend(_text_step(i, step))
    return lines


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return [
        line.replace("\0", " ")
        for line in textwrap.wrap(
            text,
            WIDTH,
            initial_indent=first,
            subsequent_indent=rest,
            break_on_hyphens=False,
            break_long_words=False,
        )
    ]


def _plain(text: str) -> str:
    """«label» as "label", ‹name› as 'name'; their spaces held as NUL, so a label
    stays on one line when wrapped (:func:`_wrap` puts the spaces back)."""
    text = text.replace("» › «", "»\0›\0«")  # a menu path stays on one line too
    text = _LABEL.sub(lambda m: '"' + m.group(1).replace(" ", "\0") + '"', text)
    return _NAME.sub(lambda m: "'" + m.group(1).replace(" ", "\0") + "'", text)


def _text_step(number: int, step: Step) -> Iterator[str]:
    yield from _wrap(_plain(step.text), f"  {number}. ", "     ")
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
    lines += ["", f"**{BEFORE}**", ""]
    lines += [f"- {_rich(note)}" for note in prerequisites(items)]
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


def _rich(text: str) -> str:
    """«label» in bold, ‹name› as code."""
    text = _LABEL.sub(r"**\1**", text)
    return _NAME.sub(lambda m: _code(m.group(1)), text)


def _md_step(number: int, step: Step) -> Iterator[str]:
    yield f"{number}. " + _rich(step.text)
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
