"""The soak's verdict on hand-made memory curves: a cap, and flatness over the last window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.bench_soak import default_rate, judge_soak

pytestmark = pytest.mark.unit


def _curve(start_mib: float, per_minute_mib: float, minutes: float = 10, every_s: float = 5) -> list[tuple[float, float]]:
    return [(t * every_s, start_mib + per_minute_mib * t * every_s / 60) for t in range(int(minutes * 60 / every_s) + 1)]


def test_a_flat_curve_under_the_cap_passes() -> None:
    curve = [(t, 700 + (3 if int(t) % 10 == 0 else -3)) for t, _ in _curve(700, 0)]
    verdict = judge_soak(curve)
    assert verdict.passed
    assert verdict.window_s == 300
    assert abs(verdict.window_growth_mib) < 1


def test_a_curve_that_keeps_growing_over_the_last_five_minutes_fails() -> None:
    verdict = judge_soak(_curve(600, 10))  # +50 MiB over the last 5 min on a mean near 675 MiB: 7.4 %
    assert not verdict.passed
    assert verdict.window_growth_mib == pytest.approx(50, abs=0.5)
    assert "grew" in verdict.failures[0]


def test_growth_in_the_first_half_then_a_plateau_passes() -> None:
    curve = [(t, min(500 + t, 800)) for t, _ in _curve(0, 0)]  # climbs 300 MiB in 5 min, then flat
    assert judge_soak(curve).passed


def test_a_flat_curve_above_one_gib_fails_on_the_cap_alone() -> None:
    verdict = judge_soak(_curve(1100, 0))
    assert not verdict.passed
    assert verdict.failures == ("peak 1100 MiB > 1024 MiB",)


def test_a_short_run_is_judged_on_its_last_half() -> None:
    verdict = judge_soak(_curve(400, 0, minutes=2))
    assert verdict.window_s == 60
    assert verdict.passed


def test_too_few_samples_never_pass() -> None:
    assert not judge_soak([(0, 100), (5, 100)]).passed


def test_the_default_rate_is_half_the_newest_resilient_knee(tmp_path: Path) -> None:
    assert default_rate(tmp_path) == 3.0  # no knee measured yet: the fallback
    (tmp_path / "knee-20260101T000000Z.json").write_text(json.dumps({"profiles": {"resilient": {"knee_journeys_per_s": 9}}}))
    (tmp_path / "knee-20261201T000000Z.json").write_text(json.dumps({"profiles": {"resilient": {"knee_journeys_per_s": 13.5}}}))
    assert default_rate(tmp_path) == 6.75
