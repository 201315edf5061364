"""Which files ``hlsync init`` writes where, and their text.

The config and its ``.gitignore`` go into the chosen folder; the CI files go to the
top of the git repository that holds it (the nearest folder above with a ``.git``),
since GitHub, GitLab and pre-commit read them only there, or into the folder itself
when it is in no repository yet. The kit names the config folder relative to that
top, as CI's working directory sees it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hlsync.resources import schema_path
from hlsync.scaffold.ci_kit import kit_named, render_kit
from hlsync.scaffold.config_text import CONFIG_FILE, GITIGNORE, render_config
from hlsync.scaffold.settings import InitSettings


@dataclass(frozen=True, slots=True)
class Scaffold:
    files: tuple[tuple[Path, str], ...]  # absolute paths, in the order written
    top: Path  # where the CI files go
    config: str  # the config folder relative to ``top`` ("." for the same), "/" form


def build_scaffold(
    settings: InitSettings, config_files: Sequence[tuple[str, str]] | None = None
) -> Scaffold:
    """The scaffold for ``settings``; ``config_files`` (path under the folder, text)
    replace init's ``hlsync.yaml`` (``hlsync init --from-export``: the export's)."""
    folder = Path(os.path.abspath(settings.folder))
    top = repository_top(folder)
    config = Path(os.path.relpath(folder, top)).as_posix()
    if config_files is None:
        schema = Path(os.path.relpath(schema_path("config.schema.json"), folder))
        config_files = [(CONFIG_FILE, render_config(settings, schema.as_posix()))]
    files = [(folder / name, text) for name, text in config_files]
    files.append((folder / ".gitignore", GITIGNORE))
    for name in settings.kits:
        kit = kit_named(name)
        files.append((top / kit.path, render_kit(kit, settings, config)))
    return Scaffold(tuple(files), top, config)


def repository_top(folder: Path) -> Path:
    """The nearest folder at or above ``folder`` holding ``.git`` (a folder, or the
    file of a worktree or submodule); ``folder`` itself when there is none."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder
