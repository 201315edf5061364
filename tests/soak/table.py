"""The soak's one table: each figure over all trials, per trial, and its target."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tests.soak.settings import MAX_CONVERGE_APPLIES, Settings
from tests.soak.trial import TrialResult

CONVERGE_TARGET = 2


@dataclass(frozen=True, slots=True)
class Row:
    figure: str
    total: str
    per_trial: str
    target: str = ""
    met: bool = True


def _count(
    figure: str, trials: Sequence[TrialResult], value: Callable[[TrialResult], int]
) -> Row:
    values = [value(t) for t in trials]
    total = sum(values)
    return Row(figure, str(total), ", ".join(map(str, values)), "0", total == 0)


def _applies(trials: Sequence[TrialResult]) -> Row:
    values = [t.applies_to_converge for t in trials]
    shown = [f">{MAX_CONVERGE_APPLIES}" if v is None else str(v) for v in values]
    stuck = sum(v is None for v in values)
    worst = max((v for v in values if v is not None), default=0)
    total = f"{worst}" if not stuck else f"{stuck} not converged"
    met = not stuck and worst <= CONVERGE_TARGET
    return Row(
        "applies to converge (max)",
        total,
        ", ".join(shown),
        f"≤ {CONVERGE_TARGET}",
        met,
    )


def _kills(trials: Sequence[TrialResult], intended: int) -> Row:
    """Kills that reached a live, applying run; the target is every kill asked for."""
    signals = Counter(
        r.killed_by
        for t in trials
        for r in t.chaos.runs
        if r.killed_by in ("SIGINT", "SIGKILL")
    )
    after = sum(t.chaos.kills_after_mint for t in trials)
    parts = [f"{name} {n}" for name, n in sorted(signals.items())]
    landed = sum(t.chaos.kills for t in trials)
    return Row(
        "kills landed",
        f"{landed} of {intended * len(trials)} "
        f"({', '.join([*parts, f'{after} right at a mint'])})",
        ", ".join(str(t.chaos.kills) for t in trials),
        f"{intended} per trial",
        all(t.chaos.kills >= intended for t in trials),
    )


def _chaos_exits(trials: Sequence[TrialResult]) -> Row:
    codes = Counter(
        r.killed_by or f"exit {r.code}" for t in trials for r in t.chaos.runs
    )
    shown = ", ".join(f"{what}: {n}" for what, n in sorted(codes.items()))
    waited = sum(t.chaos.waited for t in trials)
    return Row(
        "faulty-phase applies",
        f"{sum(codes.values())} ({shown}; {waited} waited for the lock)",
        ", ".join(f"{len(t.chaos.runs)} in {t.chaos.rounds} rounds" for t in trials),
    )


def _written(trials: Sequence[TrialResult], declared: int) -> Row:
    return Row(
        "declared contacts present after the faulty phase",
        f"{sum(t.written for t in trials)} of {declared * len(trials)}",
        ", ".join(str(t.written) for t in trials),
    )


def _leases(trials: Sequence[TrialResult]) -> Row:
    aged = [t.chaos.leases_aged for t in trials]
    taken = [sum(r.took_over for r in t.runs) for t in trials]
    return Row(
        "dead runs' leases: aged by the soak / taken over",
        f"{sum(aged)} / {sum(taken)}",
        ", ".join(f"{a} / {b}" for a, b in zip(aged, taken, strict=True)),
    )


def rows(trials: Sequence[TrialResult], settings: Settings) -> list[Row]:
    return [
        Row("trials", str(len(trials)), ""),
        _count("duplicate contacts", trials, lambda t: t.audit.duplicate_contacts),
        _count(
            "duplicate integrations", trials, lambda t: t.audit.duplicate_integrations
        ),
        _count("lost contacts", trials, lambda t: t.audit.lost_contacts),
        _count("lost tokens", trials, lambda t: t.audit.lost_tokens),
        _applies(trials),
        _count("tracebacks", trials, lambda t: t.tracebacks),
        _count("internal errors", trials, lambda t: t.internal_errors),
        Row(
            "emulator tracebacks (not an injected drop)",
            str(sum(t.emulator_tracebacks for t in trials)),
            ", ".join(str(t.emulator_tracebacks) for t in trials),
        ),
        _kills(trials, settings.kills),
        _chaos_exits(trials),
        _written(trials, settings.locations * settings.contacts),
        _leases(trials),
        Row(
            "drift between rounds",
            f"{sum(t.chaos.drifted.integrations for t in trials)} integrations, "
            f"{sum(t.chaos.drifted.contacts for t in trials)} contacts deleted",
            ", ".join(
                f"{t.chaos.drifted.integrations} + {t.chaos.drifted.contacts}"
                for t in trials
            ),
        ),
        Row(
            "wall time",
            f"{sum(t.seconds for t in trials):.0f} s",
            ", ".join(f"{t.seconds:.0f} s" for t in trials),
        ),
    ]


def describe(settings: Settings) -> str:
    """One line naming the soak's settings."""
    s = settings
    return (
        f"soak: {s.trials} trials x {s.locations} locations x {s.contacts} contacts, "
        f"{s.error_rate:.0%} 5xx, {s.fail_after_commit:.0%} fail-after-commit "
        f"({s.drop_share:.0%} dropped), {s.latency_ms} ms latency, "
        f"{s.search_lag_ms} ms search lag, {s.concurrent} concurrent applies, "
        f"{s.kills} kills per trial, seed {s.seed}"
    )


def verdict(found: Sequence[Row]) -> str:
    """One line: every target met, or which were missed."""
    missed = [row.figure for row in found if not row.met]
    if not missed:
        return "every target met"
    return "TARGETS MISSED: " + "; ".join(missed)


def render(found: Sequence[Row]) -> str:
    """A Markdown table (pastes into README.md as it is)."""
    lines = ["| figure | all trials | per trial | target |", "|---|--:|---|--:|"]
    for row in found:
        target = row.target if row.met else f"**{row.target} missed**"
        lines.append(f"| {row.figure} | {row.total} | {row.per_trial} | {target} |")
    return "\n".join(lines) + "\n"
