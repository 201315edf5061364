"""Check config data against ``schemas/config.schema.json`` and place each error.

``schema_problems`` runs ``Draft202012Validator.iter_errors`` (every violation, not just
the first), turns each error into a short :class:`Problem` at the YAML position of the
offending node (the error's ``absolute_path`` looked up in the marks side table; an
unknown or invalid key points at the key itself), and returns the paths the loader must
prune so the rest of the config can still be checked in the same run.

Messages never echo long or token-shaped values (``checks.quote``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from hlsync.config.checks import did_you_mean, kind_of, quote
from hlsync.config.contacts_io import FIELD_NAMES
from hlsync.config.yamlload import JsonPath, nearest_mark
from hlsync.errors import Location, Problem
from hlsync.resources import load_schema

SCHEMA_NAME = "config.schema.json"


@dataclass(frozen=True, slots=True)
class Prune:
    """A path the loader must remove before building; ``unknown`` means it is a key the
    schema does not know (drop it and go on) rather than a broken object."""

    path: JsonPath
    unknown: bool = False


@cache
def validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema(SCHEMA_NAME))


_TEXT_FIELDS = frozenset(FIELD_NAMES) - {"dnd"}
_FLAGS = frozenset({"dnd", "tags_exclusive", "protect"})
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FIELD_KEY = re.compile(r"^[a-z0-9_]{1,64}$")


def plainly_valid_contact(data: dict[str, Any]) -> bool:
    """A fast check that implies the contact schema holds (it may say False for a
    valid contact; then run :func:`contact_validator` for the real verdict).

    jsonschema costs ~0.3 ms a contact; CSV and JSONL files of 20,000+ rows need less.
    """
    if "email" not in data and "phone" not in data:
        return False
    for key, value in data.items():
        if key in _TEXT_FIELDS:
            if not isinstance(value, str):
                return False
            if key in ("email", "phone") and not value:
                return False
            if key == "country" and not _COUNTRY.match(value):
                return False
            if key == "dateOfBirth" and not _DATE.match(value):
                return False
        elif key in _FLAGS:
            if not isinstance(value, bool):
                return False
        elif key == "ensure":
            if value not in ("present", "absent"):
                return False
        elif key == "tags":
            if not isinstance(value, list) or len(set(map(str, value))) != len(value):
                return False
            if not all(isinstance(tag, str) and tag for tag in value):
                return False
        elif key == "custom_fields":
            if not isinstance(value, dict) or not all(
                _FIELD_KEY.match(k) and _plain_value(v) for k, v in value.items()
            ):
                return False
        else:
            return False
    return True


def _plain_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return isinstance(value, str | int | float | bool)


@cache
def contact_validator() -> Draft202012Validator:
    schema = load_schema(SCHEMA_NAME)
    contact = {"$defs": schema["$defs"], **schema["$defs"]["contact"]}
    return Draft202012Validator(contact)


def schema_problems(
    data: Any,
    marks: Mapping[JsonPath, Location],
    key_marks: Mapping[JsonPath, Location],
    file: str,
    *,
    checker: Draft202012Validator | None = None,
    fixed: Location | None = None,
) -> tuple[list[Problem], list[Prune]]:
    """Every schema violation in ``data``; ``fixed`` places all of them at one spot
    (a CSV or JSONL row)."""
    places = _Places(marks, key_marks, file, fixed)
    problems: list[Problem] = []
    prunes: list[Prune] = []
    for error in (checker or validator()).iter_errors(data):
        for problem, prune in _explain(error, places):
            problems.append(problem)
            prunes.append(prune)
    return problems, prunes


class _Places:
    def __init__(
        self,
        marks: Mapping[JsonPath, Location],
        key_marks: Mapping[JsonPath, Location],
        file: str,
        fixed: Location | None,
    ) -> None:
        self.marks = dict(marks)
        self.key_marks = key_marks
        self.file = file
        self.fixed = fixed

    def value(self, path: JsonPath) -> Location:
        if self.fixed is not None:
            return self.fixed
        return nearest_mark(self.marks, path, self.file)

    def key(self, path: JsonPath) -> Location:
        if self.fixed is not None:
            return self.fixed
        return self.key_marks.get(path) or self.value(path)


def _explain(error: ValidationError, at: _Places) -> Iterator[tuple[Problem, Prune]]:
    path: JsonPath = tuple(error.absolute_path)
    kind = error.validator
    value: Any = error.instance
    want: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    name = _name(path)
    if kind == "additionalProperties" and isinstance(value, dict):
        known = list(schema.get("properties", {}))
        for key in value:
            if key in known:
                continue
            # "unknownKeyHint": the schema's own advice for a key that does not belong
            hint = did_you_mean(key, known) or schema.get("unknownKeyHint")
            hint = hint or ("allowed here: " + ", ".join(known) if known else None)
            yield (
                Problem(f"unknown key {quote(key)}", at.key((*path, key)), hint),
                Prune((*path, key), unknown=True),
            )
        return
    schema_path = list(error.schema_path)
    if len(schema_path) >= 2 and schema_path[-2] == "propertyNames":
        # jsonschema checks each key as an instance of its own, at the parent's path
        key = str(value)
        reason = schema.get("errorMessage") or _simple(error)
        yield (
            Problem(
                f"invalid name {quote(key)}: {reason}",
                at.key((*path, key)),
                schema.get("errorHint"),
            ),
            Prune((*path, key)),
        )
        return
    if kind == "required":
        missing = [k for k in want if k not in (value or {})]
        key = missing[0] if missing else "?"
        hint = None
        if key == "options":
            hint = f"{value.get('type')} fields need a list of options"
        yield (
            Problem(f"{name}missing required key {quote(key)}", at.key(path), hint),
            Prune(path),
        )
        return
    if kind in ("oneOf", "anyOf"):
        yield from _alternatives(error, at)
        return
    if kind == "dependentRequired" and isinstance(value, dict):
        # jsonschema reports "'key' is a dependency of 'env_file'" for the whole mapping
        for given, needs in want.items():
            missing = [k for k in needs if k not in value]
            if given in value and missing:
                keys = " and ".join(f'"{k}"' for k in missing)
                yield (
                    Problem(
                        f'{name}"{given}" needs {keys} too', at.key((*path, given))
                    ),
                    Prune(path),
                )
        return
    if kind == "not" and isinstance(value, dict) and "options" in value:
        yield (
            Problem(
                f'"options" does not apply to {value.get("type")} fields',
                at.key((*path, "options")),
                "options are for CHECKBOX, SINGLE_OPTIONS, MULTIPLE_OPTIONS and RADIO",
            ),
            Prune(path),
        )
        return
    yield Problem(name + _simple(error), at.value(path), _hint(error)), Prune(path)


def _alternatives(
    error: ValidationError, at: _Places
) -> Iterator[tuple[Problem, Prune]]:
    path: JsonPath = tuple(error.absolute_path)
    value: Any = error.instance
    want: Any = error.validator_value
    branches = want if isinstance(want, list) else []
    if branches and all(set(b) == {"required"} for b in branches):
        if not isinstance(value, dict):
            return  # "required" holds only for mappings: the type error says it all
        present = [b["required"][0] for b in branches if b["required"][0] in value]
        if len(present) > 1 and error.validator == "oneOf":
            both = ", ".join(f'"{k}"' for k in present)
            yield (
                Problem(f"{_name(path)}use only one of {both}", at.value(path)),
                Prune(path),
            )
            return
        keys = " or ".join(f'"{b["required"][0]}"' for b in branches)
        contact = {"email", "phone"} == {b["required"][0] for b in branches}
        what = "a contact " if contact else _name(path)
        yield Problem(f"{what}needs {keys}", at.key(path)), Prune(path)
        return
    mixed = _mixed_keys(branches, value)
    if mixed:
        yield (
            Problem(f"{_name(path)}use only one of {mixed}", at.value(path)),
            Prune(path),
        )
        return
    context = list(error.context or ())
    # a branch whose type does not match the value is no explanation at all
    wrong_type = {
        sub.relative_schema_path[0]
        for sub in context
        if sub.validator == "type" and not tuple(sub.relative_path)
    }
    fitting = [sub for sub in context if sub.relative_schema_path[0] not in wrong_type]
    allowed = _object_keys(branches)
    unknown = [k for k in value if k not in allowed] if isinstance(value, dict) else []
    if unknown and allowed:
        hint = "allowed here: " + ", ".join(sorted(allowed))
        for key in unknown:
            yield (
                Problem(f"unknown key {quote(key)}", at.key((*path, key)), hint),
                Prune(path),
            )
        return
    if fitting:
        # The branch that matched the value's type fails for a reason of its own.
        best = min(fitting, key=lambda e: (-len(e.relative_path), str(e.schema_path)))
        # the whole value failed the oneOf/anyOf: prune it, not just the sub-error's part
        for problem, _ in _explain(best, at):
            yield problem, Prune(path)
        return
    wanted = ", ".join(_branch(b) for b in branches)
    yield (
        Problem(
            f"{_name(path)}expected {wanted}; got {kind_of(value)}", at.value(path)
        ),
        Prune(path),
    )


def _object_keys(branches: list[Any]) -> set[str]:
    """Every key some mapping branch of a oneOf/anyOf allows."""
    keys: set[str] = set()
    for branch in branches:
        if isinstance(branch, dict) and branch.get("type") == "object":
            keys |= set(branch.get("properties", {}))
    return keys


def _mixed_keys(branches: list[Any], value: Any) -> str | None:
    """``"env", "file"`` when a mapping mixes keys that belong to different branches."""
    if not isinstance(value, dict):
        return None
    keysets = [
        set(b.get("properties", {}))
        for b in branches
        if isinstance(b, dict) and b.get("type") == "object"
    ]
    given = set(value)
    if not keysets or any(given <= keys for keys in keysets):
        return None
    if not given <= set().union(*keysets):
        return None
    return ", ".join(f'"{k}"' for k in sorted(given))


def _branch(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "a value"
    if "enum" in schema:
        return " or ".join(f'"{v}"' for v in schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required") or []
        return f"a mapping with {required[0]}" if required else "a mapping"
    return {"string": "a string", "array": "a list"}.get(str(kind), str(kind))


def _name(path: JsonPath) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return f'"{part}": '
        return f"item {part + 1}: "
    return ""


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


def _simple(error: ValidationError) -> str:
    kind = error.validator
    value: Any = error.instance
    want: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "type":
        types = want if isinstance(want, list) else [want]
        words = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in types)
        return f"expected {words}, got {kind_of(value)}"
    if kind == "const" and error.absolute_path and error.absolute_path[-1] == "version":
        shown = value if isinstance(value, int) else quote(value)
        return f"unsupported config version {shown}; this hlsync reads {want}"
    if kind == "const":
        return f"must be {want!r}"
    if kind == "enum":
        return f"{quote(value)} is not one of: " + ", ".join(str(v) for v in want)
    if kind == "pattern":
        reason = schema.get("errorMessage") or f"must match {want}"
        return f"{quote(value)} is not valid: {reason}"
    if kind == "minLength":
        return "must not be empty" if want == 1 else f"needs at least {want} characters"
    if kind == "maxLength":
        return f"is longer than {want} characters"
    if kind == "minItems":
        return f"needs at least {want} item" + ("s" if want != 1 else "")
    if kind == "uniqueItems":
        dup = _first_duplicate(value)
        return f"lists {quote(dup)} twice" if dup is not None else "has duplicate items"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"{quote(value)} is out of range ({kind} {want})"
    return _plain(error)


def _hint(error: ValidationError) -> str | None:
    value: Any = error.instance
    want: Any = error.validator_value
    if error.validator == "enum" and isinstance(value, str):
        return did_you_mean(value, [str(v) for v in want])
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "type" and schema.get("typeHint"):
        # the schema's own advice for this value, e.g. "write the command as a list"
        return str(schema["typeHint"])
    if error.validator == "type" and isinstance(value, int | float):
        if "string" in (want or ()):
            return 'quote the value to make it a string, e.g. "0123"'
    return None


def _first_duplicate(values: Any) -> Any:
    seen: list[Any] = []
    for item in values if isinstance(values, list) else ():
        if item in seen:
            return item
        seen.append(item)
    return None


def _plain(error: ValidationError) -> str:
    return quote(error.message, limit=120).strip('"')
