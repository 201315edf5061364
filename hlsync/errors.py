"""The one error type users see.

Every mistake a user can make (bad YAML, a bad flag, an HTTP error from the API, an
unreadable file) becomes an :class:`HlsyncError`. ``cli.main`` catches it, prints it to
stderr and exits 1; anything else is a bug and is reported as one.

An error may carry several problems (``validate`` reports all of them in one run); then
``str()`` lists one problem per line, each as ``file:line:column: message``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a user's file; ``line`` and ``column`` count from 1."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        if self.column <= 0:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, where it is, and what to do about it.

    A ``"warning"`` is something upstream accepts but is likely a mistake: it never
    fails a command, and ``str()`` marks it (``file:line:column: warning: message``).
    """

    message: str
    location: Location | None = None
    hint: str | None = None
    severity: Severity = "error"

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        if loc is None:
            return ("", 0, 0, self.message)
        return (loc.file, loc.line, loc.column, self.message)

    def __str__(self) -> str:
        message = self.message
        if self.severity == "warning":
            message = f"warning: {message}"
        text = message if self.location is None else f"{self.location}: {message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class HlsyncError(Exception):
    """A user-facing error: what went wrong, where, and a hint.

    ``HlsyncError("unknown scope", Location("a.yaml", 3, 7), hints=("did you mean …",))``
    or, for many problems at once, ``HlsyncError.collect(problems)``.
    """

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        hints: Sequence[str] = (),
        *,
        problems: Sequence[Problem] = (),
    ) -> None:
        self.message = message
        self.location = location
        self.hints = tuple(hints)
        if problems:
            self.problems = tuple(problems)
        else:
            hint = "; ".join(self.hints) or None
            self.problems = (Problem(message, location, hint),)
        super().__init__(str(self))

    @classmethod
    def collect(cls, problems: Iterable[Problem]) -> HlsyncError:
        """One error holding many problems, sorted by file, line and column."""
        ordered = sorted(problems, key=lambda p: p.sort_key)
        if not ordered:
            raise ValueError("HlsyncError.collect needs at least one problem")
        first = ordered[0]
        count = len(ordered)
        summary = first.message if count == 1 else f"{count} problems found"
        return cls(summary, first.location, problems=ordered)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
