"""``hlsync token SUBCOMMAND``: token verbs for Private Integrations.

``hlsync token deliver NAME [PATH]`` takes a token an operator copied from the HighLevel
UI (live cloud, manual driver: a token is shown once, after a create or a rotation) and
stores it in the integration's configured sink (``token: {sink: …}``: file, env_file
entry or command; without one the 0600 file ``<config dir>/.hlsync/tokens/<location or
agency>.<integration>.token``) through the applier's own custody
(``custody.TokenCustody.store_given``): the token journal records the intent and the
delivery, with the generation the token has (``delivered_generation``). Then it records
the delivery date (the rotation date, on the upstream's clock as ``confirm`` reads it,
else this machine's: the output says which) in the ledger, reloaded under the ledger's
lock (``live.ledger_lock``: the token is read first, and another run may have changed
the ledger meanwhile). The integration must be declared in the config and confirmed in
the ledger (``hlsync confirm NAME`` first), so a token never lands for an integration
hlsync does not know. Only for ``target: leadconnector``: on the sandbox or an emulator
URL hlsync mints and stores tokens itself (refused, with a hint).

After a confirmed rotation (later) the token the sink held, which keeps working through
the overlap, is kept beside it first (``custody.keep_previous``), so a rotation
cancelled in the UI can put it back (``hlsync confirm NAME --cancel-rotation``).

The token is read without echo: with ``getpass`` when stdin is a terminal, else one line
from stdin (``pbpaste | hlsync token deliver main/seed-bot``). Anything not shaped like
``pit-<uuid>`` is refused, and the message never repeats the input. The value appears in
no output, log, error or ledger. Exit 0 when stored, 1 on an error.

``hlsync token rotate NAME [--now --force]``, ``token cancel-rotation NAME`` and ``token
expire-old NAME --force`` (api driver targets: sandbox, emulator URL) live in
:mod:`hlsync.commands.token_verbs`. Each verb's flags and help are an entry of
``arguments.TOKEN_VERBS``; its run is the entry of :data:`RUNS` under the same name.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping
from typing import TextIO

from hlsync.commands import Run, token_verbs
from hlsync.commands._common import with_ledger_generations
from hlsync.commands.confirm import operator
from hlsync.config.checks import TOKEN_RE
from hlsync.config.loader import display_path, load_config
from hlsync.engine import event_loop
from hlsync.errors import HlsyncError
from hlsync.live.ledger import (
    Ledger,
    LedgerEntry,
    integration_key,
    load_ledger,
    record_delivery,
    save_ledger,
    stamp,
)
from hlsync.live.ledger_lock import hold_ledger
from hlsync.live.manual import (
    find_integration,
    leadconnector_base_url,
    ledger_file,
    require_live_cloud,
)
from hlsync.targets.drivers import Token
from hlsync.tokens.custody import TokenCustody
from hlsync.tokens.journal import Journal
from hlsync.tokens.sinks.routing import config_dir
from hlsync.upstream.server_time import upstream_time


def read_token(stream: TextIO, prompt: str) -> str:
    """The token from ``stream``: hidden input on a terminal, else its first line."""
    if stream.isatty():
        try:
            value = getpass.getpass(prompt)
        except EOFError:
            value = ""
    else:
        value = stream.readline()
    value = value.strip()
    if not value:
        raise HlsyncError(
            "no token given; nothing was stored",
            hints=("paste the token when asked, or pipe it on stdin",),
        )
    if TOKEN_RE.fullmatch(value) is None:
        raise HlsyncError(
            "that is not a Private Integration token (expected 'pit-' followed by a "
            "UUID, 40 characters); nothing was stored",
            hints=("copy the whole token from the HighLevel UI and try again",),
        )
    return value


def run_deliver(args: argparse.Namespace) -> int:
    who = operator(args.by)
    desired = load_config(args.path, allow=args.allow_path)
    require_live_cloud(desired, "token deliver")
    spec, decl = find_integration(desired, args.name)
    location = None if spec is None else spec.name
    key = integration_key(location, decl.name)
    if decl.ensure == "absent":
        raise HlsyncError(
            f"{key} is declared `ensure: absent`; it takes no token", decl.source
        )
    base_url = leadconnector_base_url(desired.target, os.environ)
    path = ledger_file(desired)
    shown = display_path(path)
    ledger = load_ledger(path, shown)
    entry = ledger.get(key)
    if entry is None or entry.status != "present":
        raise HlsyncError(
            f"{key} is not confirmed in {shown}, so its token is not taken",
            hints=(
                f"do its runbook steps, run 'hlsync confirm {key}', then deliver again",
            ),
        )
    value = read_token(sys.stdin, f"Token for {key} (input hidden): ")
    journal = Journal.for_config(desired)
    generation = delivered_generation(journal, ledger, key, decl.token.generation)
    custody = TokenCustody(desired, journal, "")
    if rotation_awaits_token(entry):
        # the old token still works for the overlap: keep it, so that a cancelled
        # rotation ('hlsync confirm NAME --cancel-rotation') can put it back
        custody.keep_previous(location, decl.name, "nothing was stored")
    said = event_loop.run(
        custody.store_given(location, decl.name, Token(value), generation=generation)
    )
    when = event_loop.run(upstream_time(base_url))
    try:
        with hold_ledger(config_dir(desired)):
            latest = load_ledger(path, shown)  # another run may have changed it
            delivered = record_delivery(
                latest,
                key,
                by=who,
                at=when.at,
                generation=generation,
                clock=when.source,
            )
            save_ledger(path, delivered)
    except HlsyncError as exc:
        raise HlsyncError(
            f"the token of {key}: {said}, but the delivery could not be recorded in "
            f"{shown}: {exc.message}",
            hints=(f"fix it, then run 'hlsync token deliver {key}' again",),
        ) from exc
    print(f"{key}: {said}.")
    print(
        f"Recorded the delivery in {shown} at {stamp(when.at)} on {when.how}. "
        f"Next: hlsync verify {key}"
    )
    return 0


def rotation_awaits_token(entry: LedgerEntry) -> bool:
    """A rotation (later) is confirmed and its new token not delivered yet."""
    return (
        entry.old_token_expires_at is not None
        and bool(entry.history)
        and entry.history[-1].event == "rotate"
    )


def delivered_generation(
    journal: Journal, ledger: Ledger, key: str, configured: int
) -> int:
    """The generation a delivered token has: the one last applied (journal, or a
    ``rotate_now`` confirmed in the ledger), else the config's (a first token). Never
    a bumped number whose rotation is not confirmed yet: that one is still planned."""
    history = with_ledger_generations(journal.history(), ledger)
    return history.generations.get(key, configured)


# the run of each verb arguments.TOKEN_VERBS declares (a test checks they agree)
RUNS: Mapping[str, Run] = {
    "deliver": run_deliver,
    # token verbs on request, through plan and apply (hlsync.commands.token_verbs)
    "rotate": token_verbs.run_rotate,
    "cancel-rotation": token_verbs.run_cancel_rotation,
    "expire-old": token_verbs.run_expire_old,
}


def run(args: argparse.Namespace) -> int:
    return RUNS[args.token_command](args)
