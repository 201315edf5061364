"""The text of the config ``hlsync init`` writes: ``hlsync.yaml`` and ``.gitignore``.

The config is a commented teaching file, like ``examples/quickstart``: the schema
modeline, the target, and per location its id, its token variable and a seeding
integration, ``seed-bot``, holding only the scopes seeding contacts needs
(``contacts.readonly`` and ``.write``), which the location's writes use (``auth``).
``hlsync validate`` names the scope seed-bot lacks as soon as a location declares
custom fields, tags or custom values, so least privilege grows one reviewed scope at a
time. Its token goes to a file sink under ``.hlsync/`` (git-ignored), which CI fills
from a secret before each run (:mod:`hlsync.scaffold.ci_kit`).
"""

from __future__ import annotations

import json
import re

from hlsync import __version__
from hlsync.scaffold.settings import InitSettings, Site

CONFIG_FILE = "hlsync.yaml"
SEED_INTEGRATION = "seed-bot"
SEED_DESCRIPTION = "Seeds this sub-account from the config (least privilege)"
SEEDING_SET = "seeding"  # the scope set seed-bot holds
SEEDING_DESCRIPTION = "Read and write contacts"
SEEDING_SCOPES = ("contacts.readonly", "contacts.write")
SEED_ROTATE_EVERY = "90d"
DEFAULT_REGION = "US"
_PLAIN_KEY = re.compile(r"[a-z][a-z0-9_-]*")
_YAML_WORDS = {"true", "false", "null"}

GITIGNORE = """\
# hlsync's local state: the sandbox, token files (secrets!), locks and the runbook.
# Commit hlsync.journal.jsonl and hlsync.ledger.json beside the config instead.
.hlsync/
"""

_HEAD = """\
# yaml-language-server: $schema={schema}
#
# An hlsync config, written by `hlsync init` (hlsync {version}). In this folder:
#   hlsync validate     check it, without the network
#   hlsync plan         show what would change in the account
#   hlsync apply        make the account match (asks first)
# The first line lets editors with yaml-language-server (VS Code's YAML extension,
# Neovim, ...) complete keys and explain each on hover; it points at the schema of the
# hlsync that wrote this file (hlsync/schemas/config.schema.json in the package).

# The config format version.
version: 1

# Where the account lives: sandbox (an emulator inside hlsync, its state in
# .hlsync/sandbox.sqlite3 beside this file: try everything without an account),
# leadconnector (the live HighLevel API) or {{url: http://127.0.0.1:PORT}} (a running
# `hlsync emulator serve`).
target: {target}

# Phone numbers written without "+<country code>" are read as numbers of this region.
default_region: {region}

# Named groups of scopes (`hlsync scopes` lists them all).
scope_sets:
  # What seeding contacts needs, and nothing more. When a location declares custom
  # fields, tags or custom values, add the readonly and write scopes of
  # locations/customFields, locations/tags or locations/customValues: `hlsync
  # validate` names each one seed-bot lacks.
  {seeding}:
    description: {seeding_description}
    scopes:
{seeding_scopes}

locations:
"""

_SITE = """\
  {key}:
    # The HighLevel location (sub-account) id.
    id: {id}
    # The sub-account token: the environment variable that holds it, never the token
    # itself (hlsync refuses anything shaped like one). In CI it comes from the secret
    # of the same name. The sandbox mints its own tokens and does not read it.
    token: {{env: {token}}}
    # Custom fields, tags, custom values and contacts are written with seed-bot's
    # token, which holds only the scopes of `seeding` (hlsync creates seed-bot first).
    auth: {{integration: {seed}}}
    integrations:
      {seed}:
        description: {seed_description}
        scope_sets: [{seeding}]
        token:
          # A new token once this one is 90 days old; the old one works 7 days more.
          rotate_every: {rotate_every}
          # Where a new token goes (mode 0600; .hlsync/ is git-ignored).
          sink: {{file: {sink}}}  # CI writes it from the secret {seed_secret}
    # What hlsync manages in this location goes here, for example:
    # tags: [vip, newsletter]
    # contacts:
    #   - {{firstName: Ann, email: ann.lee@example.com}}
"""


def seed_sink(site: Site) -> str:
    """The seeding integration's token file, relative to the config folder."""
    return f".hlsync/tokens/{site.name}.{SEED_INTEGRATION}.token"


def render_config(settings: InitSettings, schema: str) -> str:
    """``hlsync.yaml``; ``schema`` is the modeline's path to the JSON Schema."""
    parts = [
        _HEAD.format(
            schema=schema,
            version=__version__,
            target=render_target(settings),
            region=DEFAULT_REGION,
            seeding=SEEDING_SET,
            seeding_description=SEEDING_DESCRIPTION,
            seeding_scopes="\n".join(f"      - {scope}" for scope in SEEDING_SCOPES),
        )
    ]
    for index, site in enumerate(settings.sites):
        text = _SITE.format(
            key=_key(site.name),
            id=json.dumps(site.id),
            token=site.token_variable,
            seed=SEED_INTEGRATION,
            seed_description=SEED_DESCRIPTION,
            seeding=SEEDING_SET,
            rotate_every=SEED_ROTATE_EVERY,
            seed_secret=site.seed_variable,
            sink=seed_sink(site),
        )
        # the first location explains each line; the others are the same without
        parts.append(text if index == 0 else _uncommented(text))
    return "".join(parts)


def render_target(settings: InitSettings) -> str:
    """The ``target:`` value, as YAML flow text."""
    if settings.target.startswith(("http://", "https://")):
        return "{url: " + json.dumps(settings.target) + "}"
    return settings.target


def _uncommented(text: str) -> str:
    """``text`` without its comment lines (a comment after a value stays)."""
    kept = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return "\n".join(kept) + "\n"


def _key(name: str) -> str:
    """A location name as a YAML key: plain when YAML reads it as that string."""
    if _PLAIN_KEY.fullmatch(name) and name not in _YAML_WORDS:
        return name
    return json.dumps(name)
