"""Each location's own token, read from its ``token:`` reference (an environment
variable or a file).

Apart from :mod:`hlsync.targets.target` (which opens targets and pulls in the embedded
sandbox), so that a command needing only the tokens — ``verify`` reads the location's
company id with it — loads nothing heavy.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from hlsync.core.model import DesiredState, LocationSpec
from hlsync.errors import HlsyncError, Problem


def own_tokens(desired: DesiredState, environ: Mapping[str, str]) -> dict[str, str]:
    """Each location's own token where its reference can be read, also when it seeds
    with an integration's token (for the apply lock, which must not follow the
    seeding switch; nothing is reported here for a missing one)."""
    found: dict[str, str] = {}
    for spec in desired.locations:
        value, _ = _read_token(spec, environ)
        if value is not None:
            found[spec.name] = value
    return found


def resolve_tokens(
    desired: DesiredState,
    environ: Mapping[str, str],
    *,
    skip: Collection[str] = (),
) -> dict[str, str]:
    """Each location's sub-account token by local name, read from its reference.

    Every location without a usable token is reported at once, naming the variable or
    file and what to do; the value itself is never part of a message. Locations named
    in ``skip`` (they seed with an integration's token) are not read.
    """
    tokens: dict[str, str] = {}
    problems: list[Problem] = []
    for spec in desired.locations:
        if spec.name in skip:
            continue
        value, problem = _read_token(spec, environ)
        if problem is not None:
            problems.append(problem)
        elif value is not None:
            tokens[spec.name] = value
    if problems:
        raise HlsyncError.collect(problems)
    return tokens


def _read_token(
    spec: LocationSpec, environ: Mapping[str, str]
) -> tuple[str | None, Problem | None]:
    where = f"location {spec.name!r} ({spec.id})"
    ref = spec.token
    if ref is None:
        return None, Problem(
            f"{where} has no token reference",
            spec.source,
            "add `token: {env: VARIABLE}` or `token: {file: PATH}` holding its "
            "sub-account token",
        )
    if ref.env is not None:
        value = environ.get(ref.env, "").strip()
        if not value:
            return None, Problem(
                f"{where}: the environment variable {ref.env} is not set",
                spec.source,
                f"export {ref.env}=<the location's sub-account token> and run again",
            )
        return value, None
    path = Path(ref.file or "")
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None, Problem(
            f"{where}: the token file {path} does not exist",
            spec.source,
            "write the location's sub-account token into it (chmod 600)",
        )
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return None, Problem(
            f"{where}: cannot read the token file {path} ({reason})",
            spec.source,
            "make it a readable text file holding only the token",
        )
    if not value:
        return None, Problem(
            f"{where}: the token file {path} is empty",
            spec.source,
            "write the location's sub-account token into it",
        )
    return value, None
