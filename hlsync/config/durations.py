"""Durations as config writes them: ``90d``, ``36h``, ``30m``, ``2w``.

Token policy (``rotate_every``, ``overlap``) and organisation policy
(``max_rotate_every``) use them. The grammar is deliberately tiny so it reads the same in
every config and in every plan: a positive whole number of at most six digits followed
by one unit, ``m`` (minutes), ``h`` (hours), ``d`` (days) or ``w`` (weeks). No spaces, no
combinations (``1d12h``), no fractions: write ``36h``. The schema checks the same
pattern (``$defs/duration`` in ``schemas/config.schema.json``), so anything that passed
the schema parses here.
"""

from __future__ import annotations

import re
from datetime import timedelta

DURATION_PATTERN = "^[1-9][0-9]{0,5}[mhdw]$"
_DURATION = re.compile(DURATION_PATTERN)
_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def parse_duration(text: str) -> timedelta | None:
    """``text`` as a timedelta, or None when it is not a duration of the grammar."""
    if not _DURATION.fullmatch(text):
        return None
    return int(text[:-1]) * _UNITS[text[-1]]


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling in days, hours or minutes (``90d``, ``36h``, ``1m``);
    seconds (``45s``) for what config cannot write, such as an upstream's own window."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
