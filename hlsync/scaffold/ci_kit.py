"""The CI kit: hlsync's GitHub Actions workflow, GitLab CI file and pre-commit hook,
rendered for one config.

The kit ships as templates in ``hlsync/scaffold/templates/``; ``hlsync init`` fills in
what belongs to the config (:func:`render_kit`): its folder relative to the top of the
repository, the secrets its locations' tokens come from, and the shell lines that
write each seeding integration's token from its secret into its file sink before
hlsync runs (a fresh runner has no ``.hlsync/``; without the token there, every plan
would repair it). A marker is ``@@NAME@@``: alone on a line it is replaced by lines at
its indentation, inside a line by a YAML scalar (a JSON string, which YAML reads as
is). A marker left over is a bug in a template and fails loudly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from hlsync import __version__
from hlsync.scaffold.config_text import SEED_INTEGRATION, seed_sink
from hlsync.scaffold.settings import InitSettings

TEMPLATES = Path(__file__).resolve().parent / "templates"
SEED_FILES = r"\.(ya?ml|csv|jsonl)$"  # the files a config is made of


@dataclass(frozen=True, slots=True)
class Kit:
    name: str  # as --ci names it
    path: str  # where init writes it, relative to the top of the repository
    template: str  # in TEMPLATES


KITS = (
    Kit("github", ".github/workflows/hlsync.yml", "github-workflow.yml"),
    Kit("gitlab", ".gitlab-ci.yml", "gitlab-ci.yml"),
    Kit("pre-commit", ".pre-commit-config.yaml", "pre-commit-config.yaml"),
)
_MARKER = re.compile(r"@@([A-Z_]+)@@")


def kit_named(name: str) -> Kit:
    for kit in KITS:
        if kit.name == name:
            return kit
    raise ValueError(f"no CI kit named {name!r}")


def install_spec() -> str:
    """What the kit's ``pip install`` installs: this very version."""
    return f"hlsync=={__version__}"


def render_kit(kit: Kit, settings: InitSettings, config: str) -> str:
    """``kit``'s file for ``settings``; ``config`` is the config folder relative to the
    top of the repository (``.`` when it is the top), in ``/`` form."""
    template = (TEMPLATES / kit.template).read_text(encoding="utf-8")
    inline = {
        "VERSION": __version__,
        "CONFIG": json.dumps(config),
        "INSTALL": json.dumps(install_spec()),
        "PATHS": json.dumps(_watched(config, "**", kit.path)),
        "CHANGES": json.dumps(_watched(config, "**/*", kit.path)),
        "FILES": json.dumps(
            SEED_FILES if config == "." else f"^{re.escape(config)}/.*{SEED_FILES}"
        ),
    }
    blocks = {
        "SECRETS_LIST": secrets_list(settings),
        "LOCATION_TOKENS_ENV": [
            f"{s.token_variable}: ${{{{ secrets.{s.token_variable} }}}}"
            for s in settings.sites
        ],
        "SEED_TOKENS_ENV": [
            f"{s.seed_variable}: ${{{{ secrets.{s.seed_variable} }}}}"
            for s in settings.sites
        ],
        "SINKS": sink_lines(settings),
    }
    lines: list[str] = []
    for line in template.splitlines():
        name = line.strip()
        marker = _MARKER.fullmatch(name)
        if marker is not None and marker.group(1) in blocks:
            indent = line[: len(line) - len(line.lstrip())]
            lines += [f"{indent}{text}".rstrip() for text in blocks[marker.group(1)]]
        else:
            lines.append(_MARKER.sub(lambda m: inline[m.group(1)], line))
    text = "\n".join(lines) + "\n"
    left = _MARKER.search(text)
    if left is not None:
        raise ValueError(f"template {kit.template}: marker {left.group(0)} left over")
    return text


def secrets_list(settings: InitSettings) -> list[str]:
    """The header lines naming each secret the config's runs read."""
    rows: list[tuple[str, str]] = []
    for site in settings.sites:
        rows.append((site.token_variable, f"{site.name}'s sub-account token"))
        rows.append(
            (
                site.seed_variable,
                f"{site.name}'s {SEED_INTEGRATION} token (once it exists), "
                "written into its sink",
            )
        )
    width = max(len(name) for name, _ in rows) + 2
    lines = [f"#   {name.ljust(width)}{what}" for name, what in rows]
    if settings.target == "sandbox":
        lines.append(
            "#   (none is read while the target is the sandbox: it mints its own)"
        )
    return lines


def sink_lines(settings: InitSettings) -> list[str]:
    """Shell lines writing each seeding integration's token from its secret into its
    file sink (mode 0600 in a 0700 folder); a secret not set leaves the sink alone,
    and the plan then shows the repair."""
    lines = [
        "# each seeding integration's token, from its secret into its sink; while a",
        "# secret is not set, the plan shows the repair of that token",
        "umask 077",
        'mkdir -p "$HLSYNC_CONFIG/.hlsync/tokens"',
    ]
    for site in settings.sites:
        variable = site.seed_variable
        lines.append(
            f'if [ -n "${{{variable}:-}}" ]; then '
            f'printf \'%s\\n\' "${variable}" > "$HLSYNC_CONFIG/{seed_sink(site)}"; fi'
        )
    return lines


def _watched(config: str, glob: str, kit_file: str) -> list[str]:
    """The files whose change runs the pipeline: the config folder and the kit file."""
    if config == ".":
        return [glob]
    return [f"{config}/{glob}", kit_file]
