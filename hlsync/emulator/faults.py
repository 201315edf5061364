"""Fault injection for upstream routes (never for ``/_emulator/``).

A rule applies to one route (``"POST /contacts/"``: method and path template, a trailing
slash does not matter) or to every route (``route`` omitted). Per matching request it may:

* add latency (``latencyMs``),
* answer a 5xx instead of running the handler (``errorRate``, ``errorStatus``),
* run the handler, commit its write, then answer 502 or drop the connection
  (``failAfterCommit`` rate, ``failMode`` ``"502"`` | ``"drop"``),
* make searches trail writes (``searchLagMs``; read by ``Store`` through
  :meth:`Faults.search_lag_seconds`).

``times`` limits how often a rule fires (a request on which any of its latency, error or
fail-after-commit happens); the rule is dropped once used up. Search lag is a standing
condition and does not count. Dice come from one ``random.Random(seed)``, so a run with a
given seed and request sequence is reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from hlsync.emulator.errors import EmulatorError

FailMode = Literal["502", "drop"]
_KEYS = {
    "route",
    "latencyMs",
    "errorRate",
    "errorStatus",
    "failAfterCommit",
    "failMode",
    "searchLagMs",
    "times",
}


@dataclass(frozen=True, slots=True)
class FaultRule:
    route: str | None = None
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    fail_after_commit: float = 0.0
    fail_mode: FailMode = "502"
    search_lag_ms: int = 0
    times: int | None = None

    def matches(self, route: str | None) -> bool:
        if self.route is None:
            return True
        return route is not None and _norm(self.route) == _norm(route)

    def to_json(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "latencyMs": self.latency_ms,
            "errorRate": self.error_rate,
            "errorStatus": self.error_status,
            "failAfterCommit": self.fail_after_commit,
            "failMode": self.fail_mode,
            "searchLagMs": self.search_lag_ms,
            "times": self.times,
        }

    @classmethod
    def from_json(cls, data: object, where: str = "rule") -> FaultRule:
        """Parse one admin-API rule; 422 listing every problem."""
        if not isinstance(data, dict):
            raise EmulatorError.unprocessable([f"{where} must be an object"])
        problems = [f"property {k} should not exist" for k in data if k not in _KEYS]
        route = data.get("route")
        if route is not None and (
            not isinstance(route, str) or len(route.split(" ")) != 2
        ):
            problems.append(f'{where}.route must look like "POST /contacts/"')
        rates = {k: data.get(k, 0) for k in ("errorRate", "failAfterCommit")}
        for key, value in rates.items():
            if not _number(value) or not 0 <= value <= 1:
                problems.append(f"{where}.{key} must be a number from 0 to 1")
        for key in ("latencyMs", "searchLagMs"):
            if not _number(data.get(key, 0)) or data.get(key, 0) < 0:
                problems.append(f"{where}.{key} must be a number >= 0")
        status = data.get("errorStatus", 503)
        if not isinstance(status, int) or not 500 <= status <= 599:
            problems.append(f"{where}.errorStatus must be an integer 500-599")
        mode = data.get("failMode", "502")
        if mode not in ("502", "drop"):
            problems.append(f'{where}.failMode must be "502" or "drop"')
        times = data.get("times")
        if times is not None and (
            not isinstance(times, int) or isinstance(times, bool) or times < 1
        ):
            problems.append(f"{where}.times must be a positive integer")
        if problems:
            raise EmulatorError.unprocessable(problems)
        return cls(
            route=route.upper().split(" ")[0] + " " + route.split(" ")[1]
            if isinstance(route, str)
            else None,
            latency_ms=int(data.get("latencyMs", 0)),
            error_rate=float(rates["errorRate"]),
            error_status=status,
            fail_after_commit=float(rates["failAfterCommit"]),
            fail_mode="drop" if mode == "drop" else "502",
            search_lag_ms=int(data.get("searchLagMs", 0)),
            times=times,
        )


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What to do to one request; decided before the handler runs."""

    latency_s: float = 0.0
    error_status: int | None = None
    fail_after_commit: FailMode | None = None


class Faults:
    """The active rules; not thread-safe (callers hold the state lock)."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._left: list[int | None] = []
        self.seed = seed
        self._rng = random.Random(seed)

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        return tuple(self._rules)

    def set(self, rules: list[FaultRule], seed: int | None = None) -> None:
        """Replace every rule (and reseed when ``seed`` is given)."""
        self._rules = list(rules)
        self._left = [r.times for r in rules]
        if seed is not None:
            self.seed = seed
            self._rng = random.Random(seed)

    def clear(self) -> None:
        self.set([])

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "rules": [
                {**rule.to_json(), "timesLeft": left}
                for rule, left in zip(self._rules, self._left, strict=True)
            ],
        }

    def search_lag_seconds(self, route: str) -> float:
        """The largest search lag of the rules matching ``route``; 0.0 when none."""
        lags = [r.search_lag_ms for r in self._rules if r.matches(route)]
        return max(lags, default=0) / 1000.0

    def plan(self, route: str | None) -> FaultPlan:
        """Roll the dice of every rule matching ``route`` and use up occurrences."""
        latency = 0.0
        error: int | None = None
        after: FailMode | None = None
        matching = [i for i, rule in enumerate(self._rules) if rule.matches(route)]
        fired: set[int] = set()
        for index in matching:
            rule = self._rules[index]
            if rule.latency_ms > 0:
                latency += rule.latency_ms / 1000.0
                fired.add(index)
            if error is None and rule.error_rate > 0:
                if self._rng.random() < rule.error_rate:
                    error = rule.error_status
                    fired.add(index)
        # an injected error means the handler never runs: no write to fail after
        for index in matching if error is None else ():
            rule = self._rules[index]
            if after is None and rule.fail_after_commit > 0:
                if self._rng.random() < rule.fail_after_commit:
                    after = rule.fail_mode
                    fired.add(index)
        spent = sorted(fired)
        for index in spent:
            left = self._left[index]
            if left is not None:
                self._left[index] = left - 1
        keep = [i for i, left in enumerate(self._left) if left is None or left > 0]
        if len(keep) != len(self._rules):
            self._rules = [self._rules[i] for i in keep]
            self._left = [self._left[i] for i in keep]
        return FaultPlan(latency, error, after)


def _norm(route: str) -> str:
    method, _, path = route.partition(" ")
    return f"{method.upper()} {path.rstrip('/') or '/'}"


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
