"""Request-body checks for the upstream routes, in upstream's own words.

Upstream validates bodies with NestJS class-validator and ``forbidNonWhitelisted``: an
unknown property answers 422 ``"property X should not exist"`` and a wrong type 422
``"X must be a string"`` — all problems of one body in one ``message`` array. Each
resource module (``emulator/resources/``) declares its DTOs as :class:`Prop` tables,
written from the official OpenAPI files (reference §5.2, §6); the contract tests compare
their property sets with the files, so a drift fails a test. Phone numbers are
normalised here because contact bodies and contact search both read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers

from hlsync.emulator.errors import EmulatorError


@dataclass(frozen=True, slots=True)
class Prop:
    """One DTO property: its kind, whether required, whether ``null`` is allowed."""

    kind: str  # string | boolean | number | strings | object | any
    required: bool = False
    nullable: bool = False
    enum: tuple[str, ...] = ()


def check_body(body: Any, dto: Mapping[str, Prop]) -> dict[str, Any]:
    """``body`` as a dict when it fits ``dto``; else 422 listing every problem."""
    if not isinstance(body, dict):
        raise EmulatorError.unprocessable(["body must be a JSON object"])
    problems = [f"property {key} should not exist" for key in body if key not in dto]
    for name, prop in dto.items():
        if name not in body:
            if prop.required:
                problems.append(f"{name} should not be empty")
            continue
        problems.extend(check_value(name, body[name], prop))
    if problems:
        raise EmulatorError.unprocessable(problems)
    return body


def check_value(name: str, value: Any, prop: Prop) -> list[str]:
    """The problems of one property's value (empty when it fits ``prop``)."""
    if value is None:
        if prop.nullable or prop.kind == "any":
            return []
        return (
            [f"{name} should not be empty"]
            if prop.required
            else [f"{name} must be {_article(prop.kind)}"]
        )
    kind = prop.kind
    if kind == "string":
        if not isinstance(value, str):
            return [f"{name} must be a string"]
        if prop.required and not value.strip():
            return [f"{name} should not be empty"]
        if prop.enum and value not in prop.enum:
            return [
                f"{name} must be one of the following values: {', '.join(prop.enum)}"
            ]
    elif kind == "boolean" and not isinstance(value, bool):
        return [f"{name} must be a boolean value"]
    elif kind == "number" and (
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        return [f"{name} must be a number conforming to the specified constraints"]
    elif kind == "object" and not isinstance(value, dict):
        return [f"{name} must be an object"]
    elif kind in ("array", "strings") and not isinstance(value, list):
        return [f"{name} must be an array"]
    elif kind == "strings" and not all(isinstance(item, str) for item in value):
        return [f"each value in {name} must be a string"]
    return []


def _article(kind: str) -> str:
    return {
        "string": "a string",
        "boolean": "a boolean value",
        "number": "a number conforming to the specified constraints",
        "object": "an object",
    }.get(kind, "an array")


def normalize_phone(text: str) -> str | None:
    """E.164 for a parseable phone number (no ``+``: read as US), else ``None``.

    A number with ``+`` is stored when it parses, real or not: HighLevel's own
    documentation seeds ``+1234567890``. One without must at least have a US length.
    """
    international = text.strip().startswith("+")
    try:
        number = phonenumbers.parse(text, None if international else "US")
    except phonenumbers.NumberParseException:
        return None
    if not international and not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
