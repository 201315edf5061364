"""What the change writers share: the failure of one change, and reading a plan change.

A :class:`ChangeFailed` raised while making a change becomes that change's ``failed``
outcome (``change_writer.ChangeWriter.execute``), its message the outcome's message; so
does any ``HlsyncError`` (:func:`error_text`). The readers below take a plan change's
``desired`` values and fail the change, rather than the run, when one is missing.
"""

from __future__ import annotations

from hlsync.core.plan import Change
from hlsync.errors import HlsyncError


class ChangeFailed(Exception):
    """A change that could not be made; ``message`` goes into its outcome."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def error_text(exc: HlsyncError) -> str:
    return "; ".join(p.message for p in exc.problems)


def object_id(change: Change) -> str:
    if change.object_id is None:
        raise ChangeFailed(f"the plan's {change.action} names no upstream id")
    return change.object_id


def text_of(change: Change, name: str) -> str:
    value = change.desired.get(name)
    if not isinstance(value, str):
        raise ChangeFailed(f"the plan's change has no text desired.{name}")
    return value


def strings_of(change: Change, name: str) -> list[str]:
    value = change.desired.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ChangeFailed(f"the plan's change has no list of text desired.{name}")
    return list(value)
