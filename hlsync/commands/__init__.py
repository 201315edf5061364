"""Subcommands of ``hlsync``: the registry ``cli`` builds its parser from, in this order.

A command is its name, its help, the function adding its flags (from the light
:mod:`hlsync.commands.arguments`) and the module ``hlsync/commands/<name>.py`` (a ``-``
in the name is ``_`` in the module's: ``force-unlock`` → ``force_unlock.py``) whose
``run(args) -> int`` does the work. That module, and everything heavy it imports
(uvicorn, starlette, httpx, jsonschema, deepdiff), is imported only when the command
runs: ``hlsync --version`` or a usage error stays fast, and ``validate`` never loads
the web stack. Adding a command: its flags in ``arguments``, a module with ``run``, an
entry here (a test checks that every module here has a ``run`` and every command module
is registered).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from hlsync.commands import arguments
from hlsync.commands.arguments import Configure

Run = Callable[[argparse.Namespace], int]


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # also the module: hlsync/commands/<name>.py, "-" as "_"
    help: str
    configure: Configure

    @property
    def module(self) -> str:
        return self.name.replace("-", "_")

    def runner(self) -> Run:
        """The command's ``run``, importing its module (and its dependencies) now."""
        module = importlib.import_module(f"hlsync.commands.{self.module}")
        run: Run = module.run
        return run


COMMANDS: tuple[Command, ...] = (
    Command(
        "init",
        "Scaffold a config, its .gitignore and the CI files (asks on a terminal; "
        "flags for scripts).",
        arguments.configure_init,
    ),
    Command(
        "validate",
        "Check a config file or directory (YAML syntax, schema, scopes, contacts).",
        arguments.configure_validate,
    ),
    Command(
        "plan",
        "Show what apply would change (reads the account, writes nothing).",
        arguments.configure_plan,
    ),
    Command(
        "show",
        "Show a saved plan file (from 'hlsync plan --out FILE').",
        arguments.configure_show,
    ),
    Command(
        "apply",
        "Make the account match the config, or execute a saved plan.",
        arguments.configure_apply,
    ),
    Command(
        "export",
        "Write the config of an existing account (integrations, custom fields, tags, "
        "custom values, contacts) that plans no change: adoption in one step.",
        arguments.configure_export,
    ),
    Command(
        "force-unlock",
        "Release a location's apply lock left by a run that died (the lease kept "
        "in the account).",
        arguments.configure_force_unlock,
    ),
    Command(
        "confirm",
        "Record that the pending change of a Private Integration was made in the "
        "HighLevel UI (live cloud).",
        arguments.configure_confirm,
    ),
    Command(
        "token",
        "Token verbs for Private Integrations (deliver a token copied from the UI).",
        arguments.configure_token,
    ),
    Command(
        "verify",
        "Probe a Private Integration's delivered token, one request per scope that "
        "cannot change data, and report declared scopes it lacks (--excess: and "
        "undeclared ones it holds).",
        arguments.configure_verify,
    ),
    Command(
        "scopes",
        "List the HighLevel scopes, or show one with the endpoints it grants.",
        arguments.configure_scopes,
    ),
    Command(
        "emulator",
        "Run the HighLevel API v2 emulator (hlsync emulator serve).",
        arguments.configure_emulator,
    ),
    Command(
        "sandbox",
        "Manage the embedded sandbox (the emulator state beside a config).",
        arguments.configure_sandbox,
    ),
    Command(
        "completion",
        "Print the shell completion script for bash, zsh or fish.",
        arguments.configure_completion,
    ),
)
