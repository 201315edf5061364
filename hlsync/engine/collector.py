"""Python's cyclic garbage collector around the two bulk phases of a plan.

Reading a large location and planning it make hundreds of thousands of objects that
live on (the contacts read, the changes), and the collector's passes walk the live
objects again and again: on 100,000 contacts, a third of the reading CPU and of
planning's. So:

* :func:`reading` freezes what exists (the config: its declared contacts) out of the
  collector's passes, and lets a young-generation pass wait for 50,000 new objects
  instead of 700. Answers the HTTP stack leaves in reference cycles are still
  collected as the read goes, so memory stays that of the contacts kept and the pages
  in flight. Undone when the read ends. A large config is collected once first, so
  the garbage its loading left is not frozen with it (25 MiB at the peak for 100,000
  contacts); a small one is not: that full pass walks every object of the process
  (~10 ms in a small run, ~50 ms in a test process) for a few cycles.
* :func:`planning` pauses collection while ``build_plan`` runs: it is pure and makes
  no reference cycles, so nothing waits to be collected. Resumed afterwards (only if
  it was on).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000  # new objects between two young-generation passes, reading
COLLECT_FROM = 10_000  # declared objects from which the config is collected first


@contextmanager
def reading(declared: int) -> Iterator[None]:
    """Fewer collector passes while a read makes many long-lived objects; ``declared``:
    how many objects the config declares (contacts above all)."""
    threshold = gc.get_threshold()
    if declared >= COLLECT_FROM:
        gc.collect()
    gc.freeze()
    gc.set_threshold(max(threshold[0], YOUNG_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


@contextmanager
def planning() -> Iterator[None]:
    """No collector passes while a pure, cycle-free computation runs."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
