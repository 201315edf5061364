"""What every kind of token sink does: the :class:`Sink` protocol (DESIGN.md §4).

A create or a rotation returns the new token exactly once; its custody
(:class:`hlsync.tokens.custody.TokenCustody`) hands it to the integration's sink. A
``model.SinkSpec`` says which sink and where; :func:`.registry.sink_of` turns it into
the :class:`Sink` of its kind, one class per module beside this one. The class itself
is a :class:`SinkClass`: it builds the sink from a spec and parses the kind's config
shape (``token: {sink: {<kind>: …}}``: the config key that names a sink is its kind).

Nothing here, nor in any sink, puts a token value in a message: errors name the
integration and the file or command, never the value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hlsync.core.model import SinkSpec
from hlsync.errors import Location

Resolve = Callable[[tuple[str | int, ...], str], Path]
"""A path written in the config, resolved against the config file that names it:
``resolve(steps, text)``, ``steps`` leading from the ``sink:`` mapping to the text. A
path leading out of the config folder is reported there (``config.containment``)."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The file a sink writes, and the entry of it it owns (None: the whole file).

    Two sinks whose claims overlap would overwrite each other's token: the config
    refuses the second one."""

    path: Path
    entry: str | None = None


class Sink(Protocol):
    """Everything hlsync does with one integration's sink."""

    @property
    def noun(self) -> str:
        """The kind in words, for messages: ``a file``, ``a command``."""
        ...

    @property
    def readable(self) -> bool:
        """Whether the token can be read back (to seed with, to verify, to keep the
        previous one across a rotation)."""
        ...

    def label(self, base: Path) -> str:
        """``file .hlsync/tokens/main.bot.token``, ``command vault put``: paths relative
        to ``base`` (the config folder) when under it. Journal, plan and messages."""
        ...

    def prove(self, base: Path) -> str | None:
        """Make the sink ready to take a token and prove that it can, writing no
        token: why it cannot, or None. Run by ``plan`` and before anything is minted
        (:func:`.routing.preflight`, ``custody.TokenCustody``); a file sink creates
        its folder (0700) and proves it writable (:mod:`.disk`). ``base``: the
        config folder."""
        ...

    async def store(self, value: str, integration: str, *, base: Path) -> Path | None:
        """Store ``value`` atomically (a crash leaves the old token or the new one);
        returns the file written, None when none was. ``integration``:
        ``location/name``; ``base``: the config folder. Raises
        :class:`~hlsync.errors.HlsyncError` (without the value) when not stored."""
        ...

    def read(self) -> str | None:
        """The token the sink holds now, or None when it holds none. Raises
        :class:`~hlsync.errors.HlsyncError` when it cannot be read back."""
        ...

    def why_empty(self, shown: Callable[[Path], str]) -> str:
        """Why :meth:`read` found no token, in words (``shown`` displays a path)."""
        ...

    def previous_path(self) -> Path | None:
        """Where the previous token is kept across a rotation (0600, beside the sink);
        None when the sink cannot be read back, so there is nothing to keep."""
        ...

    def claim(self) -> Claim | None:
        """The file (and entry) this sink writes; None when it writes none."""
        ...


class SinkClass(Protocol):
    """A sink kind's class: builds its :class:`Sink` and parses its config shape."""

    def from_spec(self, spec: SinkSpec) -> Sink:
        """The sink ``spec`` (of this kind) describes."""
        ...

    def parse(
        self, raw: Mapping[str, Any], resolve: Resolve, source: Location | None
    ) -> SinkSpec:
        """The schema-valid ``sink:`` mapping ``raw`` (naming this kind) as a spec."""
        ...
