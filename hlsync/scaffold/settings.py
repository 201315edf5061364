"""What ``hlsync init`` scaffolds: a folder, a target, locations and CI kits.

:class:`InitSettings` comes from the flags (:func:`settings_from_flags`; what a script
uses) or, on a terminal, from questions for what the flags left out
(:func:`ask_missing`). Every value is checked here, with the config schema's own rules
(a location name is a safe file name, a location id HighLevel's shape), so the config
init writes always validates and a mistake is one :class:`HlsyncError` naming the flag
or the answer, before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from hlsync.errors import HlsyncError

# light on purpose: hlsync.commands.arguments takes its --ci choices from here
CI_KITS = ("github", "gitlab", "pre-commit")
DEFAULT_CI_KITS = ("github", "pre-commit")
NAMED_TARGETS = ("sandbox", "leadconnector")
# the config schema's patterns (schemas/config.schema.json): locations' names and ids,
# and a target URL
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_URL = re.compile(r"https?://[^\s/]+(/\S*)?")

Ask = Callable[[str], str]
Say = Callable[[str], None]
T = TypeVar("T")


class InputEnded(HlsyncError):
    """The terminal's input ended mid-question: stop asking (not a wrong answer)."""


@dataclass(frozen=True, slots=True)
class Site:
    """A location to scaffold: its local name and its HighLevel id."""

    name: str
    id: str

    @property
    def variable_stem(self) -> str:
        """``HL_MAIN`` for ``main``: the prefix of its token variables."""
        return "HL_" + self.name.upper().replace("-", "_")

    @property
    def token_variable(self) -> str:
        return f"{self.variable_stem}_TOKEN"

    @property
    def seed_variable(self) -> str:
        """The secret holding its seeding integration's token in CI."""
        return f"{self.variable_stem}_SEED_BOT_TOKEN"


@dataclass(frozen=True, slots=True)
class InitSettings:
    folder: Path
    target: str  # "sandbox", "leadconnector" or a URL
    sites: tuple[Site, ...]
    kits: tuple[str, ...]  # a subset of CI_KITS, in that order


def parse_site(text: str, flag: str = "--location") -> Site:
    """``NAME=ID`` → :class:`Site`, or an error saying what is wrong with it."""
    name, sep, location_id = text.partition("=")
    name, location_id = name.strip(), location_id.strip()
    if not sep or not name or not location_id:
        raise HlsyncError(
            f"{flag} {text!r}: expected NAME=ID",
            hints=("for example --location main=ve9EPM428h8vShlRW1KT",),
        )
    return Site(check_name(name, flag), check_id(location_id, flag))


def check_name(name: str, flag: str = "--location") -> str:
    if not _NAME.fullmatch(name):
        raise HlsyncError(
            f"{flag}: location name {name!r} is not allowed",
            hints=(
                "use lower-case letters, digits, '-' and '_', starting with a letter "
                "or digit (at most 63 characters)",
            ),
        )
    return name


def check_id(location_id: str, flag: str = "--location") -> str:
    if not _ID.fullmatch(location_id):
        raise HlsyncError(
            f"{flag}: {location_id!r} is not a HighLevel location id",
            hints=("a location id is 1 to 64 letters, digits, '-' and '_'",),
        )
    return location_id


def parse_target(text: str, flag: str = "--target") -> str:
    value = text.strip()
    if value in NAMED_TARGETS or _URL.fullmatch(value):
        return value
    raise HlsyncError(
        f"{flag} {text!r}: not a target",
        hints=(
            "use sandbox (an emulator inside hlsync), leadconnector (the live "
            "HighLevel API) or the URL of a running 'hlsync emulator serve', such as "
            "http://127.0.0.1:8765",
        ),
    )


def check_adoptable(target: str, flag: str = "--target") -> str:
    """A target ``--from-export`` can read an account from: not a new sandbox."""
    if target == "sandbox":
        raise HlsyncError(
            f"{flag} sandbox: --from-export adopts an existing account, and the "
            "sandbox of a new config is empty",
            hints=(
                "give --target leadconnector (the live HighLevel API) or the URL of "
                "a running 'hlsync emulator serve'",
            ),
        )
    return target


def parse_kits(values: Sequence[str], flag: str = "--ci") -> tuple[str, ...]:
    """The CI kits named (``none`` alone: no kit), in :data:`CI_KITS` order."""
    wanted = set(values)
    unknown = sorted(wanted - {*CI_KITS, "none"})
    if unknown:
        raise HlsyncError(
            f"{flag}: unknown CI kit {', '.join(unknown)}",
            hints=("choose from " + ", ".join((*CI_KITS, "none")),),
        )
    if "none" in wanted:
        if len(wanted) > 1:
            raise HlsyncError(f"{flag} none cannot be combined with other kits")
        return ()
    return tuple(kit for kit in CI_KITS if kit in wanted)


def check_sites(sites: Sequence[Site], flag: str = "--location") -> tuple[Site, ...]:
    """No two sites share a name or a token variable (``a-b`` and ``a_b`` would)."""
    seen: dict[str, Site] = {}
    for site in sites:
        for key in (site.name, site.token_variable):
            other = seen.get(key)
            if other is not None:
                raise HlsyncError(
                    f"{flag}: {other.name!r} and {site.name!r} "
                    + (
                        "are the same name"
                        if other.name == site.name
                        else f"would share the token variable {site.token_variable}"
                    ),
                    hints=("give each location a different name",),
                )
            seen[key] = site
    return tuple(sites)


def settings_from_flags(
    folder: Path, locations: Sequence[str], target: str | None, kits: Sequence[str]
) -> InitSettings:
    """The settings the flags give; what they leave out takes its default."""
    return InitSettings(
        folder=folder,
        target=parse_target(target) if target is not None else "sandbox",
        sites=check_sites([parse_site(text) for text in locations]),
        kits=parse_kits(kits) if kits else DEFAULT_CI_KITS,
    )


def ask_missing(
    settings: InitSettings,
    *,
    ask_target: bool,
    ask_sites: bool,
    ask_kits: bool,
    ask: Ask,
    say: Say,
    adopting: bool = False,
) -> InitSettings:
    """``settings`` with the parts the flags did not give asked on the terminal; an
    answer that is not allowed is explained and asked again. ``adopting``
    (``--from-export``): the target is an existing account's, never the sandbox."""
    target = settings.target
    if ask_target and adopting:
        target = _until_valid(
            lambda: check_adoptable(
                parse_target(
                    ask(
                        "Target of the account to adopt: leadconnector (your "
                        "HighLevel account) or an emulator URL: "
                    ),
                    "target",
                ),
                "target",
            ),
            say,
        )
    elif ask_target:
        target = _until_valid(
            lambda: parse_target(
                ask(
                    "Target: sandbox (try it, no account), leadconnector (your "
                    "HighLevel account) or an emulator URL [sandbox]: "
                )
                or "sandbox",
                "target",
            ),
            say,
        )
    sites = _ask_sites(target, ask, say) if ask_sites else settings.sites
    kits = settings.kits
    if ask_kits:
        default = ", ".join(DEFAULT_CI_KITS)
        kits = _until_valid(
            lambda: parse_kits(
                _split(
                    ask(
                        "CI files: github, gitlab, pre-commit or none, "
                        f"comma-separated [{default}]: "
                    )
                    or default
                ),
                "CI kit",
            ),
            say,
        )
    return InitSettings(settings.folder, target, tuple(sites), kits)


def _ask_sites(target: str, ask: Ask, say: Say) -> tuple[Site, ...]:
    """Locations, one name and id at a time, until an empty name (the first name
    defaults to ``main``; on the sandbox an id defaults to ``sandbox-<name>``)."""
    sites: list[Site] = []
    while True:
        name = _until_valid(partial(_name_answer, ask, not sites), say)
        if name is None:
            return tuple(sites)
        default = f"sandbox-{name}" if target == "sandbox" else ""
        site = Site(name, _until_valid(partial(_id_answer, ask, name, default), say))
        try:
            check_sites([*sites, site], "location name")
        except HlsyncError as exc:
            say(f"{exc}")
            continue
        sites.append(site)


def _name_answer(ask: Ask, first: bool) -> str | None:
    answer = ask(
        "Location name, as plans will show it [main]: "
        if first
        else "Another location name (empty when done): "
    ).strip()
    if not answer:
        return "main" if first else None
    return check_name(answer, "location name")


def _id_answer(ask: Ask, name: str, default: str) -> str:
    shown = f" [{default}]" if default else ""
    answer = ask(f"HighLevel location id of {name}{shown}: ").strip()
    return check_id(answer or default, "location id")


def _split(answer: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", answer.strip()) if part]


def _until_valid(get: Callable[[], T], say: Say) -> T:
    while True:
        try:
            return get()
        except InputEnded:
            raise
        except HlsyncError as exc:
            say(f"{exc}")
