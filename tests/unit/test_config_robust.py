"""Whatever the input, load_config raises HlsyncError or succeeds: never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hlsync.config.loader import load_config
from hlsync.errors import HlsyncError
from tests.conftest import REPO

QUICKSTART = (REPO / "examples" / "quickstart" / "hlsync.yaml").read_text(
    encoding="utf-8"
)
ALPHABET = "\n :-[]{}&*!|>'\",#%@`?~<;=\t0123456789abcXYZ$é"

edits = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=len(QUICKSTART) - 1),
        st.sampled_from(["replace", "delete", "insert"]),
        st.sampled_from(ALPHABET),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits)
def test_mutated_quickstart_never_crashes(changes: list[tuple[int, str, str]]) -> None:
    chars = list(QUICKSTART)
    for position, action, char in changes:
        position = min(position, len(chars) - 1)
        if action == "replace":
            chars[position] = char
        elif action == "delete":
            del chars[position]
        else:
            chars.insert(position, char)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hlsync.yaml"
        path.write_text("".join(chars), encoding="utf-8")
        try:
            state = load_config(path, env={})
        except HlsyncError as exc:
            assert exc.problems
            assert all(p.location is not None for p in exc.problems)
        else:
            assert len(state.config_digest) == 64
