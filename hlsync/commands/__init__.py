"""Subcommands of ``hlsync``; ``cli`` registers each module listed here, in this order."""

from __future__ import annotations

from types import ModuleType

from hlsync.commands import apply, emulator, plan, sandbox, scopes, show, validate

COMMANDS: tuple[ModuleType, ...] = (
    validate,
    plan,
    show,
    apply,
    scopes,
    emulator,
    sandbox,
)
