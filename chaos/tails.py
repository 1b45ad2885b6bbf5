"""Compare a tail percentile of the control profile with each must-hold profile, phase by phase, from raw samples.

The control is the run's first profile that need not hold (``resilient`` in ``hedged-reads``,
``naive`` where ``resilient`` must hold); each must-hold profile is a candidate. For every
fault phase and every journey and request name both profiles recorded, a row gives each
profile's percentile (p99 by default) over all of the phase's samples with its 95%
order-statistic interval and sample count (``chaos.phase_stats.phase_bucket``, merged HDR
histograms), and the cut ``1 - candidate / control`` with an interval built from the two:

    [1 - candidate.high / control.low,  1 - candidate.low / control.high]

Each percentile's interval covers at least 95%, so the cut's covers at least 90% (both must
hold); a side is None when a percentile's bound is one the data cannot set (a p99 needs 367
samples before anything bounds it from above). A cut is decided at a bar only when its whole
interval is on one side of it (``cut_verdict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chaos.phase_stats import phase_bucket
from chaos.samples import ProfileRecord
from loadtests.raw_samples import REQUEST_PREFIX, UNSERVED, is_request
from loadtests.stats.percentiles import PercentileInterval, histogram_percentile_interval


@dataclass(frozen=True)
class TailRow:
    """One journey or request in one phase: the control's and a candidate's percentile, and the cut."""

    phase: str
    key: str  # a journey name, or ``request:<METHOD> <route>``
    control: str
    candidate: str
    control_p: PercentileInterval
    candidate_p: PercentileInterval

    @property
    def name(self) -> str:
        """Return the journey or request name as shown (``GET /api/v1/products/[id]``)."""
        return self.key.removeprefix(REQUEST_PREFIX)

    @property
    def is_request(self) -> bool:
        """Say whether the row is a request rather than a journey."""
        return is_request(self.key)

    @property
    def cut(self) -> float | None:
        """Return ``1 - candidate / control`` of the point values (None without both)."""
        return _cut(self.candidate_p.value, self.control_p.value)

    @property
    def cut_low(self) -> float | None:
        """Return the cut's lower bound: the candidate at its highest against the control at its lowest."""
        return _cut(self.candidate_p.high, self.control_p.low)

    @property
    def cut_high(self) -> float | None:
        """Return the cut's upper bound: the candidate at its lowest against the control at its highest."""
        return _cut(self.candidate_p.low, self.control_p.high)

    def to_json(self) -> dict[str, Any]:
        """Return the row as plain JSON (milliseconds, ratios rounded)."""
        return {
            "phase": self.phase, "name": self.name, "kind": "request" if self.is_request else "journey",
            "percentile": self.control_p.percentile,
            self.control: _interval_json(self.control_p), self.candidate: _interval_json(self.candidate_p),
            "cut": _round(self.cut), "cut_interval": [_round(self.cut_low), _round(self.cut_high)],
        }


def _cut(candidate: float | None, control: float | None) -> float | None:
    if candidate is None or control is None or control <= 0:
        return None
    return 1.0 - candidate / control


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _interval_json(p: PercentileInterval) -> dict[str, Any]:
    return {"ms": _round(p.value, 1), "interval_ms": [_round(p.low, 1), _round(p.high, 1)], "n": p.samples}


def cut_verdict(row: TailRow, at_least: float) -> str:
    """Say whether the cut is at least ``at_least``: met, not met, or inconclusive (the interval straddles it)."""
    if row.cut_low is not None and row.cut_low >= at_least:
        return "met"
    if row.cut_high is not None and row.cut_high < at_least:
        return "not met"
    return "inconclusive"


def tail_rows(profiles: Sequence[ProfileRecord], phases: Sequence[str], percentile: float = 99.0) -> list[TailRow]:
    """Return the control against each must-hold profile, per phase and per name both recorded (journeys first)."""
    control = next((pr for pr in profiles if not pr.must_hold), None)
    if control is None:
        return []
    rows = []
    for candidate in (pr for pr in profiles if pr.must_hold):
        names = {key for _s, key in control.raw if key != UNSERVED} & {key for _s, key in candidate.raw}
        for phase in phases:
            for key in sorted(names, key=lambda k: (is_request(k), k)):
                a, b = phase_bucket(control, phase, key), phase_bucket(candidate, phase, key)
                if not a.latency.count or not b.latency.count:
                    continue
                rows.append(TailRow(phase, key, control.profile, candidate.profile,
                                    histogram_percentile_interval(a.latency, percentile),
                                    histogram_percentile_interval(b.latency, percentile)))
    return rows
