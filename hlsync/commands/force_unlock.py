"""``hlsync force-unlock LOCATION [PATH]``: release an apply lock a dead run left behind.

Reads the location's lease (the custom value ``hlsync lock``, ``hlsync.locks.lease``)
with the location's own token, says who holds it, since when and until when, asks
"Do you want to release it?" on a terminal (``--auto-approve`` otherwise, like
``apply``), then deletes it. A lease that expired needs no force-unlock (the next apply
takes it over with a warning); this is for not waiting out the expiry. The local lock
file needs none either: the kernel drops its ``flock`` when the holder dies; when a
live process on this machine holds it, that is said and left alone. Exit 0 when the
lock was released or there was none, 1 when cancelled.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from hlsync.config.loader import load_config
from hlsync.engine import event_loop
from hlsync.errors import HlsyncError
from hlsync.locks.guard import whoami
from hlsync.locks.lease import Lease
from hlsync.locks.lockfile import LOCK_DIR, LocalLock
from hlsync.targets.target import open_target
from hlsync.tokens.sinks.routing import config_dir


def run(args: argparse.Namespace) -> int:
    desired = load_config(args.path, allow=args.allow_path)
    spec = next((s for s in desired.locations if s.name == args.location), None)
    if spec is None:
        raise HlsyncError(
            f"force-unlock: {args.location!r} is not a location of the config",
            hints=(
                "known locations: "
                + (", ".join(s.name for s in desired.locations) or "(none)"),
            ),
        )
    if not args.auto_approve and not sys.stdin.isatty():
        raise HlsyncError(
            "refusing to release a lock without approval: stdin is not a terminal",
            hints=("check that its run is gone, then run again with --auto-approve",),
        )
    _local_note(config_dir(desired) / LOCK_DIR / f"{args.location}.lock")
    narrowed = dataclasses.replace(
        desired,
        locations=(spec,),
        agency=dataclasses.replace(desired.agency, integrations=()),
    )

    async def go() -> int:
        async with open_target(narrowed, timeout=args.timeout) as access:
            assert access.clock is not None
            lease = Lease(spec.name, access.own_api(spec.name), access.clock, whoami())
            found = await lease.read()
            if found is None:
                sys.stdout.write(f"location {spec.name!r} holds no apply lock.\n")
                return 0
            record = found.record
            if record is None:
                what = "an unreadable lock"
            else:
                state = "expired" if record.expired(lease.now()) else "expires"
                what = (
                    f"a lock of {record.holder.owner} (run {record.holder.run}) since "
                    f"{record.holder.since}; it {state} at {record.expires}"
                )
            sys.stdout.write(f"location {spec.name!r} holds {what}.\n")
            sys.stdout.flush()
            if not args.auto_approve and not _confirm():
                sys.stderr.write("Cancelled.\n")
                return 1
            await lease.force_break(found)
            sys.stdout.write(f"Released the apply lock of location {spec.name!r}.\n")
            return 0

    return event_loop.run(go())


def _local_note(path: Path) -> None:
    """Say so when a live process on this machine holds the local lock."""
    if not path.exists():
        return
    lock = LocalLock(path, f"location {path.stem!r}")
    try:
        lock.acquire(whoami(), 0)
    except HlsyncError as exc:
        sys.stderr.write(
            f"note: {exc.message}; that process is alive, and its local lock ends "
            "with it\n"
        )
    else:
        lock.release()


def _confirm() -> bool:
    sys.stderr.write(
        "\nDo you want to release this lock?\n"
        "  Only do it when its run is gone: two applies may then overlap.\n"
        "  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
    )
    sys.stderr.flush()
    answer = sys.stdin.readline()
    sys.stderr.write("\n")
    return answer.strip() == "yes"
