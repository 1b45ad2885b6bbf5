"""Run an experiment N times and say whether its numbers hold: per-run values, spread, verdict agreement.

Runs alternate the profiles' order (``naive, resilient`` then ``resilient, naive`` ...), so
a drift of the machine during the runs hits every profile alike. For each probe of each
profile the summary keeps the per-run value, interval, sample count and verdict, the
spread of the values (``(max - min) / 2`` around their mean, in percent) and whether the
verdicts agreed; for ratios, whether every run's value lies inside every other run's
95% interval.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chaos.experiment import Experiment
from chaos.journal import run_tails
from chaos.runner import RunRecord

RATIO_KINDS = ("success_ratio", "degraded_ratio")


@dataclass
class ProbeSeries:
    """One probe of one profile across the runs."""

    profile: str
    label: str
    kind: str
    values: list[float | bool | None] = field(default_factory=list)
    intervals: list[tuple[float | None, float | None]] = field(default_factory=list)
    samples: list[int | None] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)

    @property
    def verdicts_agree(self) -> bool:
        """Say whether every run gave the same verdict."""
        return len(set(self.verdicts)) <= 1

    def spread_pct(self) -> float | None:
        """Return half the range of the values as a percentage of their mean (None: not numeric or mean 0)."""
        numbers = [float(v) for v in self.values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) < 2 or statistics.fmean(numbers) == 0:
            return None
        return (max(numbers) - min(numbers)) / 2 / statistics.fmean(numbers) * 100

    def inside_each_other(self) -> bool | None:
        """For a ratio: say whether every run's value lies inside every other run's interval."""
        if self.kind not in RATIO_KINDS:
            return None
        for value in self.values:
            for low, high in self.intervals:
                if not isinstance(value, float | int) or low is None or high is None or not low <= value <= high:
                    return False
        return True

    def to_json(self) -> dict[str, Any]:
        """Return the series as plain JSON."""
        return {
            "profile": self.profile, "probe": self.label, "kind": self.kind, "values": self.values,
            "intervals": [list(i) for i in self.intervals], "samples": self.samples, "verdicts": self.verdicts,
            "verdicts_agree": self.verdicts_agree, "spread_pct": _round(self.spread_pct()),
            "values_inside_each_others_interval": self.inside_each_other(),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def run_order(exp: Experiment, index: int) -> Experiment:
    """Return the experiment for run ``index`` (0-based): the profiles reversed on every other run."""
    return exp if index % 2 == 0 else replace(exp, profiles=tuple(reversed(exp.profiles)))


def summarize(records: Sequence[RunRecord]) -> list[ProbeSeries]:
    """Collect every (profile, probe) across the runs, in the experiment's profile order."""
    series: dict[tuple[str, str], ProbeSeries] = {}
    for record in records:
        for pr in record.profiles:
            for res in pr.probes:
                s = series.setdefault((pr.profile, res.label), ProbeSeries(pr.profile, res.label, res.kind))
                s.values.append(res.value)
                s.intervals.append((res.low, res.high))
                s.samples.append(res.samples)
                s.verdicts.append(res.outcome)
    return sorted(series.values(), key=lambda s: (s.profile, s.label))


def repeat_json(exp: Experiment, records: Sequence[RunRecord], reports: Sequence[str | None]) -> dict[str, Any]:
    """Return the repeat summary: per-run verdicts and report folders, and every probe's series."""
    series = summarize(records)
    return {
        "experiment": exp.name, "runs": len(records),
        "per_run": [{"started_at": r.started_at, "ended_at": r.ended_at, "passed": r.passed,
                     "interrupted": r.interrupted, "order": [p.profile for p in r.profiles], "report": rep,
                     "tails": [row.to_json() for row in run_tails(r)]}
                    for r, rep in zip(records, reports, strict=True)],
        "verdicts_agree": all(s.verdicts_agree for s in series),
        "series": [s.to_json() for s in series],
    }


def write_repeat_json(path: Path, summary: dict[str, Any]) -> Path:
    """Write the summary as JSON and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str))
    return path
