"""Check a run against thresholds (failure ratios, p95/p99 per journey) to set the exit code.

A thresholds file is YAML or JSON::

    max_fail_ratio: 0.01            # failed requests / requests
    max_journey_failure_ratio: 0.01 # failed journeys / journeys, over all journeys
    journeys:
      checkout: {p95_ms: 4000, p99_ms: 8000, max_failure_ratio: 0.0}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from loadtests.errors import LoadTestError


class ThresholdError(LoadTestError, ValueError):
    """A thresholds file or flag is malformed."""


@dataclass(frozen=True)
class JourneyLimits:
    """Limits for one journey; ``None`` means unchecked."""

    p95_ms: float | None = None
    p99_ms: float | None = None
    max_failure_ratio: float | None = None


@dataclass(frozen=True)
class Thresholds:
    """Every limit a run must meet; defaults fail a run with more than 1% failures."""

    max_fail_ratio: float | None = 0.01
    max_journey_failure_ratio: float | None = 0.01
    min_journeys: int = 1
    journeys: Mapping[str, JourneyLimits] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Thresholds:
        """Build thresholds from a parsed file; raise ThresholdError on unknown keys."""
        known = {"max_fail_ratio", "max_journey_failure_ratio", "min_journeys", "journeys"}
        unknown = set(data) - known
        if unknown:
            raise ThresholdError(f"unknown threshold keys {sorted(unknown)} (known: {sorted(known)})")
        journeys: dict[str, JourneyLimits] = {}
        for name, limits in (data.get("journeys") or {}).items():
            if not isinstance(limits, Mapping):
                raise ThresholdError(f"journey {name!r}: expected a mapping of limits")
            try:
                journeys[str(name)] = JourneyLimits(**{k: float(v) for k, v in limits.items()})
            except TypeError as exc:
                raise ThresholdError(f"journey {name!r}: {exc}") from exc
        base = cls()
        return cls(
            max_fail_ratio=_opt_float(data.get("max_fail_ratio", base.max_fail_ratio)),
            max_journey_failure_ratio=_opt_float(data.get("max_journey_failure_ratio", base.max_journey_failure_ratio)),
            min_journeys=int(data.get("min_journeys", base.min_journeys)),
            journeys=journeys,
        )

    @classmethod
    def from_file(cls, path: Path) -> Thresholds:
        """Read a YAML or JSON thresholds file."""
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        if not isinstance(data, Mapping):
            raise ThresholdError(f"{path}: expected a mapping at the top level")
        return cls.from_mapping(data)

    def with_journey_limit(self, journey: str, **limits: float) -> Thresholds:
        """Return a copy with one journey's limits set (from ``--p95 checkout=3000``-style flags)."""
        merged = dict(self.journeys)
        merged[journey] = replace(merged.get(journey, JourneyLimits()), **limits)
        return replace(self, journeys=merged)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able copy."""
        return {
            "max_fail_ratio": self.max_fail_ratio,
            "max_journey_failure_ratio": self.max_journey_failure_ratio,
            "min_journeys": self.min_journeys,
            "journeys": {k: vars(v) for k, v in self.journeys.items()},
        }


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def parse_journey_limit(text: str) -> tuple[str, float]:
    """Parse ``journey=ms`` (a ``--p95``/``--p99`` flag value)."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ThresholdError(f"expected JOURNEY=MILLISECONDS, got {text!r}")
    try:
        return name.strip(), float(value)
    except ValueError:
        raise ThresholdError(f"expected a number of milliseconds in {text!r}") from None


@dataclass(frozen=True)
class ThresholdCheck:
    """One evaluated limit."""

    name: str
    limit: float
    actual: float
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able copy."""
        return {"name": self.name, "limit": self.limit, "actual": self.actual, "passed": self.passed}


def evaluate_thresholds(
    thresholds: Thresholds,
    *,
    requests: int,
    failures: int,
    journeys: Mapping[str, Mapping[str, float]],
) -> list[ThresholdCheck]:
    """Check totals and per-journey stats (``JourneyTally.summary()`` shape) against the limits."""
    checks: list[ThresholdCheck] = []
    fail_ratio = failures / requests if requests else 0.0
    if thresholds.max_fail_ratio is not None:
        checks.append(
            ThresholdCheck("request failure ratio", thresholds.max_fail_ratio, fail_ratio, fail_ratio <= thresholds.max_fail_ratio)
        )
    total = sum(int(j.get("total", 0)) for j in journeys.values())
    failed = sum(int(j.get("failure", 0)) for j in journeys.values())
    checks.append(ThresholdCheck("journeys run (min)", thresholds.min_journeys, total, total >= thresholds.min_journeys))
    if thresholds.max_journey_failure_ratio is not None:
        ratio = failed / total if total else 0.0
        checks.append(
            ThresholdCheck(
                "journey failure ratio", thresholds.max_journey_failure_ratio, ratio, ratio <= thresholds.max_journey_failure_ratio
            )
        )
    for name, limits in sorted(thresholds.journeys.items()):
        stats = journeys.get(name, {})
        for key, label in (("p95_ms", "p95 ms"), ("p99_ms", "p99 ms"), ("max_failure_ratio", "failure ratio")):
            limit = getattr(limits, key)
            if limit is None:
                continue
            stat_key = "failure_ratio" if key == "max_failure_ratio" else key
            actual = float(stats.get(stat_key, 0.0))
            # a journey that never ran cannot meet a limit set for it
            passed = bool(stats.get("total", 0)) and actual <= limit
            checks.append(ThresholdCheck(f"{name} {label}", limit, actual, passed))
    return checks
