"""Subcommands of ``hlsync``; ``cli`` registers each module listed here, in this order."""

from __future__ import annotations

from types import ModuleType

from hlsync.commands import (
    apply,
    confirm,
    emulator,
    plan,
    sandbox,
    scopes,
    show,
    token,
    validate,
    verify,
)

COMMANDS: tuple[ModuleType, ...] = (
    validate,
    plan,
    show,
    apply,
    confirm,
    token,
    verify,
    scopes,
    emulator,
    sandbox,
)
