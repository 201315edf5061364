"""Subcommands of ``hlsync``; ``cli`` registers each module listed here, in this order."""

from __future__ import annotations

from types import ModuleType

from hlsync.commands import emulator, sandbox, scopes, validate

COMMANDS: tuple[ModuleType, ...] = (validate, scopes, emulator, sandbox)
