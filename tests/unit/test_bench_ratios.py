"""Paired per-round ratios: each round's two windows ran back to back, so a round's ratio cancels drift."""

from __future__ import annotations

import pytest

from bench import median_interval, paired_ratios

pytestmark = pytest.mark.unit


def test_each_round_is_divided_by_its_own_partner_and_summarised() -> None:
    # The machine got twice as busy halfway through: the medians' ratio would mix the halves.
    result = paired_ratios([90, 80, 45, 40], [100, 100, 50, 50])
    assert result["per_round"] == [0.9, 0.8, 0.9, 0.8]
    assert result["median"] == 0.85 and result["min"] == 0.8 and result["max"] == 0.9


def test_a_round_whose_baseline_served_nothing_is_left_out() -> None:
    assert paired_ratios([10, 20], [0, 40])["per_round"] == [0.5]
    assert paired_ratios([10], [0])["median"] is None


def test_the_median_interval_is_two_order_statistics_with_their_coverage() -> None:
    # n = 10: the 2nd smallest and 2nd largest cover the median with 1 - 2 * 11/1024 = 97.9 %.
    interval = median_interval([float(v) for v in range(10, 0, -1)])
    assert interval == {"low": 2.0, "high": 9.0, "coverage": 0.979, "n": 10}
    # Five values cannot reach 95 % (the extremes cover 93.8 %): no interval rather than a false one.
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0], confidence=0.9) == {
        "low": 1.0, "high": 5.0, "coverage": 0.938, "n": 5}
