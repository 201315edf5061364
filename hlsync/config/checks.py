"""Semantic checks that JSON Schema cannot express: scopes, contacts, secrets.

Each function takes already schema-valid values and returns problems (or normalised
values plus problems); none reads files. ``config`` calls them with positions.

* Tokens: anything shaped like a HighLevel Private Integration Token (``pit-`` + UUID,
  reference §2.1) written in config is refused, and :func:`redact` scrubs such text from
  every message as a last line of defence, so no token value reaches output.
* Scopes: names must be in the catalog (``did you mean …``); scope sets are expanded
  (unknown set and include cycles are errors); agency-only scopes are refused on location
  integrations and sub-account-only scopes on agency integrations.
* Contacts: email syntax; phones normalised to E.164 with ``phonenumbers`` (a number it
  parses but calls invalid is kept, with a warning; letters and extensions are refused);
  custom-field values must fit the declared field's dataType (reference §5.3).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers

from hlsync.core.catalog import Catalog, Level
from hlsync.core.model import CustomField

TOKEN_RE = re.compile(
    r"pit-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
TOKEN_MESSAGE = (
    "this looks like a HighLevel token (pit-…); never write a token in config"
)
TOKEN_HINT = (
    "reference it instead: token: {env: NAME} or token: {file: path}, and revoke "
    "the token if this file was ever shared"
)

_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)

TEXT_TYPES = frozenset({"TEXT", "LARGE_TEXT", "PHONE"})
NUMBER_TYPES = frozenset({"NUMERICAL", "MONETORY"})
LIST_TYPES = frozenset({"CHECKBOX", "MULTIPLE_OPTIONS"})
CHOICE_TYPES = frozenset({"SINGLE_OPTIONS", "RADIO"})
UNSEEDABLE_TYPES = frozenset({"FILE_UPLOAD", "TEXTBOX_LIST"})


def has_token(text: str) -> bool:
    return TOKEN_RE.search(text) is not None


def token_positions(text: str) -> list[tuple[int, int]]:
    """``(line, column)`` of every token-shaped string in a file's text (comments too)."""
    found = []
    for match in TOKEN_RE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        found.append((line, column))
    return found


def redact(text: str) -> str:
    """``text`` with anything token-shaped replaced by ``pit-…``."""
    return TOKEN_RE.sub("pit-…", text)


def quote(value: Any, limit: int = 60) -> str:
    """A short, token-safe rendering of a user value for messages."""
    text = value if isinstance(value, str) else repr(value)
    text = redact(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f'"{text}"'


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(f'"{c}"' for c in close) + "?"


def scope_problem(
    catalog: Catalog, name: str, level: Level
) -> tuple[str, str | None] | None:
    """``(message, hint)`` when ``name`` is unknown or not usable at ``level``."""
    scope = catalog.get(name)
    if scope is None:
        suggestions = catalog.suggest(name)
        hint = (
            "did you mean " + " or ".join(f'"{s}"' for s in suggestions) + "?"
            if suggestions
            else "list the scopes with 'hlsync scopes'"
        )
        return f"unknown scope {quote(name)}", hint
    if scope.allows(level):
        return None
    if level == "sub-account":
        return (
            f'scope "{name}" is agency-only; a location integration cannot hold it',
            "move it to an integration under 'agency:'",
        )
    return (
        f'scope "{name}" is sub-account-only; an agency integration cannot hold it',
        "move it to an integration under a location",
    )


def expand_scope_sets(
    sets: Mapping[str, tuple[Sequence[str], Sequence[str]]],
) -> tuple[dict[str, frozenset[str]], list[tuple[str, int, str, str | None]]]:
    """Resolve ``{name: (include, scopes)}`` into ``{name: all scopes}``.

    Returns the expansion and problems as ``(set name, include index, message, hint)``: an
    include naming no set, or an include that closes a cycle (each cycle reported once,
    at the include that closes it when walking sets in name order).
    """
    resolved: dict[str, frozenset[str]] = {}
    problems: list[tuple[str, int, str, str | None]] = []
    reported: set[frozenset[str]] = set()

    def visit(name: str, stack: list[str]) -> frozenset[str]:
        if name in resolved:
            return resolved[name]
        include, scopes = sets[name]
        found = set(scopes)
        stack.append(name)
        for index, child in enumerate(include):
            if child not in sets:
                if not any(p[0] == name and p[1] == index for p in problems):
                    hint = did_you_mean(child, sets)
                    problems.append((name, index, f'unknown scope set "{child}"', hint))
                continue
            if child in stack:
                cycle = [*stack[stack.index(child) :], child]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    message = "scope set cycle: " + " -> ".join(cycle)
                    problems.append((name, index, message, None))
                continue
            found |= visit(child, stack)
        stack.pop()
        resolved[name] = frozenset(found)
        return resolved[name]

    for name in sorted(sets):
        visit(name, [])
    return resolved, problems


def region_problem(code: str) -> str | None:
    """A message when ``code`` is no region ``phonenumbers`` knows."""
    if code in phonenumbers.SUPPORTED_REGIONS:
        return None
    return f'unknown region "{code}" for phone numbers'


def email_problem(text: str) -> str | None:
    if _EMAIL_RE.match(text.strip()) and len(text) <= 254:
        return None
    return f"invalid email address {quote(text)}"


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    """What :func:`normalise_phone` made of a phone: its E.164 form, or why not.

    ``e164`` is set when the number is usable (``warning`` may still be set: upstream
    stores it, but ``phonenumbers`` knows no such number); otherwise ``error`` says why.
    """

    e164: str | None = None
    error: str | None = None
    warning: str | None = None
    hint: str | None = None


_PARSE_REASONS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
    phonenumbers.NumberParseException.TOO_LONG: "too long",
}


def normalise_phone(text: str, region: str | None) -> PhoneCheck:
    """``text`` as HighLevel takes it, normalised to E.164 for the contact's identity.

    Upstream stores any number it can parse, real or not (its own documentation seeds
    ``+1234567890``), so a number ``phonenumbers`` parses but calls invalid is kept, with
    a warning. Letters are refused rather than turned into digits (``CALL`` -> ``2255``),
    and so is an extension, which E.164 would silently drop: the config must say
    exactly what upstream stores.
    """
    raw = text.strip()
    if not raw.startswith("+") and region is None:
        return PhoneCheck(
            error=f"phone {quote(raw)} has no country code (+…) "
            "and no default_region is set",
            hint="write +<country code> or set default_region",
        )
    number = _international(raw)
    if number is not None and phonenumbers.is_valid_number(number):
        return PhoneCheck(e164=f"+{number.country_code}{number.national_number}")
    # the full parser also strips national prefixes written after +CC
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "not a phone number")
        return PhoneCheck(
            error=f"invalid phone number {quote(raw)}: {reason}",
            hint="write + and the country code, then the digits: +44 20 7946 0958",
        )
    if number.extension:
        return PhoneCheck(
            error=f"phone {quote(raw)} has an extension, "
            "and HighLevel's phone holds the number only",
            hint="drop the extension (keep it in another field if you need it)",
        )
    if any(ch.isalpha() for ch in raw):
        digits = phonenumbers.convert_alpha_characters_in_number(raw)
        return PhoneCheck(
            error=f"phone {quote(raw)} has letters; hlsync does not turn them into "
            "digits",
            hint=f"write the digits: {quote(digits)}",
        )
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if phonenumbers.is_valid_number(number):
        return PhoneCheck(e164=e164)
    where = f" for region {region}" if region and not raw.startswith("+") else ""
    return PhoneCheck(
        e164=e164,
        warning=f"phone {quote(raw)} is not a valid number{where}; kept as {e164}",
        hint="HighLevel stores it, but calls and texts may reach nobody: check the "
        "digits",
    )


_SEPARATORS = re.compile(r"[\s().-]")
_PLAIN_INTERNATIONAL = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _international(raw: str) -> phonenumbers.PhoneNumber | None:
    """A fast path for ``+CC NNN…`` written with only spaces, dots, dashes, brackets.

    ``phonenumbers.parse`` costs ~70 µs a number, too slow for 20,000-row seed files;
    country calling codes are prefix-free, so the split is unique. National numbers
    with a leading zero (Italy) and anything else unusual take the full parser, and so
    does a number this path finds invalid.
    """
    compact = _SEPARATORS.sub("", raw)
    if not _PLAIN_INTERNATIONAL.match(compact):
        return None
    digits = compact[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if not national or national.startswith("0"):
                return None
            return phonenumbers.PhoneNumber(
                country_code=code, national_number=int(national)
            )
    return None


def date_problem(text: str) -> str | None:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return f"invalid date {quote(text)}; write YYYY-MM-DD"
    if len(text) != 10:
        return f"invalid date {quote(text)}; write YYYY-MM-DD"
    return None


def custom_value(
    field: CustomField, value: Any, *, textual: bool
) -> tuple[Any, str | None]:
    """Check (and, for CSV text, convert) a value for ``field``.

    ``textual`` means the value came from a CSV cell: numbers are parsed and list types
    split on ``;``. Returns ``(value, None)`` or ``(None, message)``.
    """
    kind = field.data_type
    label = f'custom field "{field.key}" ({kind})'
    if kind in UNSEEDABLE_TYPES:
        return None, f"{label} cannot be set on seed contacts"
    if kind in TEXT_TYPES:
        if isinstance(value, str):
            return value, None
        return None, f"{label} takes a string, got {kind_of(value)}"
    if kind in NUMBER_TYPES:
        if textual and isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return None, f"{label} takes a number, got {quote(value)}"
            return (int(number) if number.is_integer() else number), None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value, None
        return None, f"{label} takes a number, got {kind_of(value)}"
    if kind == "DATE":
        if not isinstance(value, str):
            return None, f"{label} takes a date string YYYY-MM-DD, got {kind_of(value)}"
        problem = date_problem(value)
        return (None, f"{label}: {problem}") if problem else (value, None)
    # Without declared options (HighLevel's API writes none) values are not checked
    # against a list: upstream's UI holds it.
    options = field.options
    if kind in LIST_TYPES:
        if textual and isinstance(value, str):
            value = [part.strip() for part in value.split(";") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, f"{label} takes a list of options, got {kind_of(value)}"
        bad = [v for v in value if options and v not in options]
        if bad:
            return None, _option_message(label, bad[0], options)
        return sorted(set(value), key=value.index), None
    if kind in CHOICE_TYPES:
        if not isinstance(value, str):
            return None, f"{label} takes one option, got {kind_of(value)}"
        if options and value not in options:
            return None, _option_message(label, value, options)
        return value, None
    return None, f"{label} has an unknown type"


def _option_message(label: str, value: str, options: Sequence[str]) -> str:
    return f"{label} has no option {quote(value)}; options: {', '.join(options)}"


def kind_of(value: Any) -> str:
    """How an error message names a value's JSON type: "a string", "a list" …"""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return "a mapping"
