"""The ``held_by`` sink: the token is held outside hlsync.

``{held_by: TEXT}`` in the config (``TEXT`` says who holds it, for reviewers). An
integration hlsync adopted (``hlsync export``) was created by someone else, and its
token lives with whatever uses it (a Zapier connection, a partner's server). hlsync
manages its description and scopes, but must never mint a token for it: a "repair" of
a token its sink lacks would be a rotate-now, cutting off whoever holds the real one.

So the sink cannot be read back (nothing is checked, no repair is planned) and cannot
take a token: :meth:`HeldBySink.prove` fails, which makes ``plan`` refuse (in its sink
preflight) any change that would mint one — a rotation by age or on request, a
generation bump, ``revoke_issued_before``, or creating the integration again — naming
the way out: give it a ``file``, ``env_file`` or ``command`` sink first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlsync.core.model import SinkSpec
from hlsync.errors import HlsyncError, Location
from hlsync.tokens.sinks.base import Claim, Resolve


@dataclass(frozen=True, slots=True)
class HeldBySink:
    """A token held by ``holder``, outside hlsync (module docstring)."""

    holder: str
    source: Location | None = None

    @classmethod
    def from_spec(cls, spec: SinkSpec) -> HeldBySink:
        return cls(spec.holder or "", spec.source)

    @classmethod
    def parse(
        cls, raw: Mapping[str, Any], resolve: Resolve, source: Location | None
    ) -> SinkSpec:
        return SinkSpec("held_by", holder=str(raw["held_by"]), source=source)

    @property
    def noun(self) -> str:
        return "someone outside hlsync"

    @property
    def readable(self) -> bool:
        return False

    def label(self, base: Path) -> str:
        return f"held_by {self.holder}"

    def prove(self, base: Path) -> str | None:
        return (
            f"the token is held by {self.holder}, outside hlsync, so hlsync cannot "
            "deliver a new one; to let hlsync create or rotate it, give the "
            "integration a file, env_file or command sink"
        )

    async def store(self, value: str, integration: str, *, base: Path) -> Path | None:
        raise HlsyncError(
            f"{integration}: {self.prove(base)}",
            self.source,
        )

    def read(self) -> str | None:
        raise HlsyncError(
            f"the token is held by {self.holder}, outside hlsync: it cannot be read "
            "back, so it cannot be used for seeding",
            self.source,
            hints=("give the seeding integration a file or env_file sink",),
        )

    def why_empty(self, shown: Callable[[Path], str]) -> str:
        return f"the token is held by {self.holder}, outside hlsync"

    def previous_path(self) -> Path | None:
        return None

    def claim(self) -> Claim | None:
        return None
