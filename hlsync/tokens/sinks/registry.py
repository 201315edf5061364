"""Which class implements each sink kind: one static, exhaustive ``match``.

A ``SinkKind`` without a case here fails mypy (``assert_never``) and
``tests/unit/test_sinks.py``; nothing registers itself at import time, so there is no
global state to snapshot in tests.
"""

from __future__ import annotations

from typing import assert_never, get_args

from hlsync.core.model import SinkKind, SinkSpec
from hlsync.tokens.sinks.base import Sink, SinkClass
from hlsync.tokens.sinks.command import CommandSink
from hlsync.tokens.sinks.env_file import EnvFileSink
from hlsync.tokens.sinks.file import FileSink
from hlsync.tokens.sinks.held_by import HeldBySink

SINK_KINDS: tuple[SinkKind, ...] = get_args(SinkKind)


def sink_class(kind: SinkKind) -> SinkClass:
    """The class of the sink kind ``kind``."""
    match kind:
        case "file":
            return FileSink
        case "env_file":
            return EnvFileSink
        case "command":
            return CommandSink
        case "held_by":
            return HeldBySink
        case _:
            assert_never(kind)


def sink_of(spec: SinkSpec) -> Sink:
    """The sink ``spec`` describes, ready to check, store, read and label."""
    return sink_class(spec.kind).from_spec(spec)
