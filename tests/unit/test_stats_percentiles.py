"""Order-statistic intervals for a percentile, on a raw list and on a (merged) histogram."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest

from loadtests.stats.histograms import LatencyHistogram
from loadtests.stats.percentiles import (
    histogram_percentile_interval,
    nearest_rank,
    order_statistic_ranks,
    percentile_interval,
    samples_to_decide_percentile,
)

pytestmark = pytest.mark.unit


def _coverage(n: int, q: Fraction, lower: int, upper: int) -> Fraction:
    """Return P(lower <= B <= upper - 1) for B ~ Binomial(n, q), exactly."""
    return sum((comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(lower, upper)), Fraction(0))


def test_median_of_ten_samples_is_bounded_by_the_2nd_and_9th_smallest() -> None:
    # B ~ Binomial(10, 1/2): P(B <= 1) = 11/1024 = 0.0107 <= 0.025 < P(B <= 2) = 56/1024, so l = 2;
    # P(B <= 7) = 968/1024 = 0.9453 < 0.975 <= P(B <= 8) = 1013/1024 = 0.9893, so u = 9.
    assert order_statistic_ranks(10, 50) == (2, 9)
    assert _coverage(10, Fraction(1, 2), 2, 9) == Fraction(1013 - 11, 1024)  # 0.9785 >= 0.95


def test_percentile_interval_of_a_small_known_list() -> None:
    # sorted: 7 9 11 12 15 18 22 25 30 40; median at rank round(5.0) = 5 -> 15; bounds X(2) = 9, X(9) = 30
    interval = percentile_interval([12, 7, 30, 15, 9, 22, 18, 11, 40, 25], 50)
    assert (interval.value, interval.low, interval.high) == (15, 9, 30)
    assert interval.samples == 10


def test_with_20_samples_nothing_bounds_the_p95_from_above() -> None:
    # B ~ Binomial(20, 0.95), M = 20 - B ~ Binomial(20, 0.05):
    # P(M = 0..3) = 0.35849, 0.37735, 0.18868, 0.05958 (sum 0.98410), so
    # P(B <= 16) = P(M >= 4) = 0.01590 <= 0.025 < P(B <= 17) = P(M >= 3) = 0.07548: l = 17;
    # P(B <= 19) = 1 - 0.95^20 = 0.6415 < 0.975: no u.
    assert order_statistic_ranks(20, 95) == (17, None)
    interval = percentile_interval([float(i) for i in range(1, 21)], 95)
    assert (interval.value, interval.low, interval.high) == (19.0, 17.0, None)


def test_it_takes_72_samples_to_bound_a_p95_from_above() -> None:
    # the largest sample bounds it once P(B <= n - 1) = 1 - 0.95^n >= 0.975, i.e. 0.95^n <= 0.025:
    # 0.95^71 = 0.02620, 0.95^72 = 0.02489
    assert order_statistic_ranks(71, 95)[1] is None
    assert order_statistic_ranks(72, 95)[1] == 72


@pytest.mark.parametrize(("n", "percentile"), [(10, 50), (40, 90), (72, 95), (400, 99), (500, 95), (1000, 50)])
def test_ranks_cover_the_percentile_at_least_95_percent_of_the_time(n: int, percentile: int) -> None:
    lower, upper = order_statistic_ranks(n, percentile)
    assert lower is not None and upper is not None
    q = Fraction(percentile, 100)
    assert _coverage(n, q, lower, upper) >= Fraction(95, 100)
    # and equal-tailed: neither side misses more than 2.5%
    assert _coverage(n, q, 0, lower) <= Fraction(25, 1000)
    assert _coverage(n, q, upper, n + 1) <= Fraction(25, 1000)


def test_one_sample_bounds_no_side_of_a_median() -> None:
    # P(B <= 0) = 1/2 > 0.025 and P(B <= 0) = 1/2 < 0.975
    assert order_statistic_ranks(1, 50) == (None, None)


def test_an_empty_list_has_no_value_and_no_bounds() -> None:
    interval = percentile_interval([], 95)
    assert not interval.has_samples
    assert (interval.value, interval.low, interval.high) == (None, None, None)


@pytest.mark.parametrize("percentile", [0.0, 100.0, -5.0])
def test_an_interval_for_the_minimum_or_maximum_is_refused(percentile: float) -> None:
    with pytest.raises(ValueError, match="0 < percentile < 100"):
        order_statistic_ranks(10, percentile)


def test_nearest_rank_rounds_half_up_and_is_at_least_one() -> None:
    assert nearest_rank(200, 95) == 190
    assert nearest_rank(10, 95) == 10  # 9.5 rounds up
    assert nearest_rank(10, 1) == 1


def test_histogram_interval_holds_the_raw_lists_interval_within_bucket_edges() -> None:
    # 200 latencies 7.3 .. 1460 ms from three workers. With M = 200 - B ~ Binomial(200, 0.05):
    # P(M <= 3) = 0.00905, P(M <= 4) = 0.02645, so u = 197 (the smallest u with P(M <= 200 - u) <= 0.025);
    # P(M <= 15) = 0.95564, P(M <= 16) = 0.97620, so l = 184 (the largest l with P(M <= 200 - l) >= 0.975).
    # Raw bounds X(184) = 1343.2 ms and X(197) = 1438.1 ms; the histogram widens each to its bucket's edge.
    latencies = [round(7.3 * i, 6) for i in range(1, 201)]
    merged = LatencyHistogram.merged(LatencyHistogram.of(latencies[w::3]) for w in range(3))
    raw = percentile_interval(latencies, 95)
    from_histogram = histogram_percentile_interval(merged, 95)
    assert order_statistic_ranks(200, 95) == (184, 197)
    assert (raw.low, raw.high) == (pytest.approx(1343.2), pytest.approx(1438.1))
    assert from_histogram.low is not None and from_histogram.high is not None
    assert raw.low is not None and raw.high is not None
    assert raw.low - 0.001 * raw.low <= from_histogram.low <= raw.low
    assert raw.high <= from_histogram.high <= raw.high + 0.001 * raw.high
    assert from_histogram.value == pytest.approx(1387.519)  # as in test_stats_histograms
    assert from_histogram.samples == 200


def test_an_empty_histogram_has_no_value_and_no_bounds() -> None:
    interval = histogram_percentile_interval(LatencyHistogram(), 99)
    assert (interval.samples, interval.value, interval.low, interval.high) == (0, None, None, None)


def test_ranks_for_a_million_samples_come_straight_from_the_binomial() -> None:
    # normal approximation: 0.99 * 1e6 -/+ 1.96 * sqrt(1e6 * 0.99 * 0.01) = 990000 -/+ 195.0
    lower, upper = order_statistic_ranks(1_000_000, 99)
    assert lower is not None and upper is not None
    assert abs(lower - 989_805) <= 2 and abs(upper - 990_196) <= 2


def test_a_p95_whose_samples_all_meet_the_bound_is_decided_at_72_samples() -> None:
    # with every sample <= T, the upper bound X(u) <= T as soon as u exists: n = 72 (0.95^72 = 0.02489)
    assert samples_to_decide_percentile(1.0, 95) == 72


def test_a_share_below_the_percentile_is_decided_once_the_lower_rank_passes_it() -> None:
    needed = samples_to_decide_percentile(0.90, 95)
    assert needed is not None
    lower, _ = order_statistic_ranks(needed, 95)
    assert lower is not None and 0.90 * needed < lower  # fewer than l samples <= T: X(l) > T
    previous, _ = order_statistic_ranks(needed - 1, 95)
    assert previous is None or 0.90 * (needed - 1) >= previous


def test_no_sample_size_decides_a_share_that_sits_on_the_percentile() -> None:
    assert samples_to_decide_percentile(0.95, 95) is None
    assert samples_to_decide_percentile(0.999, 99.9) is None  # not fooled by 99.9 / 100 = 0.9990000000000001
