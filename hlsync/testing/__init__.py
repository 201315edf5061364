"""Test your own HighLevel integration against hlsync's emulator.

``pip install hlsync`` registers a pytest plugin (``hlsync.testing.plugin``): a test that
asks for the ``hlsync_emulator`` fixture gets a running emulator with a fresh account.
The fixture's value is an :class:`~hlsync.testing.emulator.Emulator`; without pytest,
:class:`~hlsync.testing.emulator.EmulatorServer` starts one. The names below are
imported on first use, so importing this package (as pytest does for every project that
has hlsync installed) loads nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hlsync.testing.emulator import (
        Emulator,
        EmulatorAdminError,
        EmulatorServer,
        Integration,
        Location,
        LoggedRequest,
    )

__all__ = [
    "Emulator",
    "EmulatorAdminError",
    "EmulatorServer",
    "Integration",
    "Location",
    "LoggedRequest",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from hlsync.testing import emulator

        return getattr(emulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
