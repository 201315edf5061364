"""Reading the CI files ``hlsync init`` writes: their scripts, and the ``hlsync``
command lines in them, in the order a pipeline runs them.

GitHub Actions: the jobs in :data:`GITHUB_ORDER`, each step's ``run`` with the
environment of the workflow, the job and the step (a ``${{ … }}`` expression, a secret,
is empty: the sandbox reads none). GitLab CI: the jobs in :data:`GITLAB_ORDER`, each
``script`` item (anchors resolved by the YAML loader, nested lists flattened) with the
``variables``. pre-commit: the hook's ``entry`` and ``args``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

GITHUB = ".github/workflows/hlsync.yml"
GITLAB = ".gitlab-ci.yml"
PRE_COMMIT = ".pre-commit-config.yaml"
# the order a change goes through: review, merge, then the checks that follow
GITHUB_ORDER = ("validate", "plan", "apply", "drift", "apply-main")
GITLAB_ORDER = (
    "hlsync:validate",
    "hlsync:plan",
    "hlsync:apply",
    "hlsync:drift",
    "hlsync:apply-main",
)
# a call of hlsync anywhere in a line: at its start, after ; & | or in $( )
CALL = re.compile(r"(?:^|[;&|]\s*|\$\(\s*)hlsync\s+[a-z]")


@dataclass(frozen=True, slots=True)
class Script:
    """One shell script of a CI file, where it is, and its environment."""

    where: str  # "github plan/Plan", "gitlab hlsync:drift #2"
    text: str
    env: Mapping[str, str]

    def commands(self) -> list[str]:
        """Its lines that call hlsync; a call inside a line (after ``;``, in ``$( )``)
        fails, since it could not be run alone."""
        found = []
        for line in self.text.splitlines():
            stripped = line.strip()
            if stripped.startswith("hlsync "):
                found.append(stripped)
            elif CALL.search(stripped):
                raise AssertionError(f"{self.where}: hlsync called inside {line!r}")
        return found


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def github_triggers(workflow: Mapping[Any, Any]) -> Mapping[str, Any]:
    """The ``on:`` mapping (YAML 1.1 loaders read the key ``on`` as ``True``)."""
    triggers = workflow.get("on", workflow.get(True))
    assert isinstance(triggers, dict)
    return triggers


def _github_env(values: Mapping[str, Any] | None) -> dict[str, str]:
    return {
        str(k): "" if "${{" in str(v) else str(v) for k, v in (values or {}).items()
    }


def github_scripts(workflow: Mapping[str, Any]) -> Iterator[Script]:
    top = _github_env(workflow.get("env"))
    jobs = workflow["jobs"]
    assert sorted(jobs) == sorted(GITHUB_ORDER), sorted(jobs)
    for name in GITHUB_ORDER:
        job = jobs[name]
        env = {**top, **_github_env(job.get("env"))}
        for index, step in enumerate(job["steps"]):
            if "run" in step:
                yield Script(
                    f"github {name}/{step.get('name', index)}",
                    step["run"],
                    {**env, **_github_env(step.get("env"))},
                )


def _flatten(items: Any) -> Iterator[str]:
    if isinstance(items, list):
        for item in items:
            yield from _flatten(item)
    else:
        yield str(items)


def gitlab_scripts(pipeline: Mapping[str, Any]) -> Iterator[Script]:
    env = {str(k): str(v) for k, v in pipeline.get("variables", {}).items()}
    jobs = [key for key in pipeline if key.startswith("hlsync:")]
    assert sorted(jobs) == sorted(GITLAB_ORDER), jobs
    for name in GITLAB_ORDER:
        job = pipeline[name]
        parts = [*job.get("script", []), *job.get("after_script", [])]
        for index, text in enumerate(_flatten(parts)):
            yield Script(f"gitlab {name} #{index}", text, env)


def pre_commit_command(hook: Mapping[str, Any]) -> str:
    """The command line pre-commit runs for a hook that takes no file names."""
    assert hook["pass_filenames"] is False
    return " ".join([hook["entry"], *(shlex.quote(a) for a in hook.get("args", []))])
