"""Describe one guided lab as frozen data: its starting state, its check and targets, hints and solution.

``labs.schema`` builds these from a lab folder's validated YAML; ``labs.model`` loads the folder.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.experiment import Experiment, FaultSpec

# The check measures the live settings: the experiment's profile is only a label.
LIVE_PROFILE = "live"


class Measure(enum.StrEnum):
    """What a lab target measures, beyond the experiment's own probes."""

    ROUTE_P50_MS = "route_p50_ms"  # a route's median over the check's load (Locust summary)
    ROUTE_P95_MS = "route_p95_ms"  # a route's p95 over the check's load (Locust summary)
    ROUTE_FAIL_RATIO = "route_fail_ratio"
    JOURNEY_P95_MS = "journey_p95_ms"  # a journey's p95 of completed runs
    JOURNEY_SUCCESS_RATIO = "journey_success_ratio"  # (success + degraded) / all of one journey
    ANSWER = "answer"  # the learner's answer equals ``expected``


@dataclass(frozen=True)
class Target:
    """One lab target: a measure of the check's load against [min, max] (or an expected answer)."""

    measure: Measure
    route: str | None = None
    journey: str | None = None
    min: float | None = None
    max: float | None = None
    expected: str | None = None

    @property
    def label(self) -> str:
        """Return a short label, e.g. ``route_p95_ms[GET /api/v1/cart]``."""
        subject = self.route or self.journey
        return self.measure.value + (f"[{subject}]" if subject else "")

    def describe(self) -> str:
        """Say the target in a few characters, e.g. ``<= 800``."""
        if self.measure is Measure.ANSWER:
            return "the slow edge"
        if self.min is not None and self.max is not None:
            return f"{self.min:g} .. {self.max:g}"
        return f">= {self.min:g}" if self.min is not None else f"<= {self.max:g}"

    def is_met(self, value: float | str | None) -> bool:
        """Return whether ``value`` meets the target (no value never does)."""
        if value is None:
            return False
        if self.measure is Measure.ANSWER:
            return str(value) == self.expected
        v = float(value)
        if self.min is not None and v < self.min:
            return False
        return not (self.max is not None and v > self.max)


@dataclass(frozen=True)
class Settings:
    """A live resilience configuration: a profile and per-dependency overrides (every caller)."""

    profile: str = "resilient"
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def override_args(self) -> list[str]:
        """Return the overrides as ``shoplab profile`` arguments (``--override dep.key=value``)."""
        args = []
        for dep, values in sorted(self.overrides.items()):
            for key, value in sorted(values.items()):
                text = "null" if value is None else (str(value).lower() if isinstance(value, bool) else f"{value:g}")
                args.append(f"--override {dep}.{key}={text}")
        return args

    def command(self) -> str:
        """Return the ``shoplab profile`` command that sets this configuration."""
        return " ".join(["shoplab profile", self.profile, *self.override_args()])


@dataclass(frozen=True)
class CheckSpec:
    """How ``shoplab lab check`` measures: the experiment, extra load knobs and the lab targets."""

    experiment: Experiment
    experiment_path: Path
    load: Mapping[str, Any] = field(default_factory=dict)
    targets: tuple[Target, ...] = ()

    @property
    def needs_answer(self) -> bool:
        """Say whether the check compares an answer (lab 01)."""
        return any(t.measure is Measure.ANSWER for t in self.targets)

    @property
    def expected_answer(self) -> str | None:
        """Return the expected answer, if the check has one."""
        return next((t.expected for t in self.targets if t.measure is Measure.ANSWER), None)


@dataclass(frozen=True)
class Solution:
    """What a trainer applies: the live configuration (and lab 01's answer)."""

    settings: Settings
    explanation: str = ""
    answer: str | None = None


@dataclass(frozen=True)
class Lab:
    """One guided lab: story and task, starting state, check, hints and solution."""

    number: str
    slug: str
    path: Path
    title: str
    summary: str
    task: str
    start: Settings
    faults: tuple[FaultSpec, ...]
    fault_specs: tuple[Mapping[str, Any], ...]
    check: CheckSpec
    hints: tuple[str, ...]
    solution: Solution

    @property
    def name(self) -> str:
        """Return the folder name, e.g. ``02-timeouts``."""
        return self.path.name

    @property
    def readme(self) -> Path:
        """Return the README path."""
        return self.path / "README.md"

    def quick_experiment(self) -> Experiment:
        """Return the check experiment with ``--quick`` durations."""
        return self.check.experiment.quickened()
