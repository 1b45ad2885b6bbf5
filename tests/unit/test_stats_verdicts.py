"""Three-valued verdicts: met, not met, or inconclusive when the interval straddles the tolerance or samples are few."""

from __future__ import annotations

import pytest

from loadtests.stats.histograms import LatencyHistogram
from loadtests.stats.intervals import wilson_interval
from loadtests.stats.percentiles import samples_to_decide_percentile
from loadtests.stats.verdicts import Verdict, describe_tolerance, judge_bounds, judge_percentile, judge_ratio

pytestmark = pytest.mark.unit

TWENTY_MS = [float(i) for i in range(1, 21)]  # 1, 2, ..., 20 ms
THOUSAND_MS = [float(i) for i in range(1, 1001)]  # 1, 2, ..., 1000 ms


def test_an_interval_wholly_within_the_tolerance_is_met() -> None:
    assert judge_bounds(0.90, 0.97, at_least=0.85) is Verdict.MET
    assert judge_bounds(0.85, 0.97, at_least=0.85) is Verdict.MET  # the bound itself is within ">="
    assert judge_bounds(120.0, 480.0, at_most=500.0) is Verdict.MET


def test_an_interval_wholly_outside_the_tolerance_is_not_met() -> None:
    assert judge_bounds(0.60, 0.80, at_least=0.85) is Verdict.NOT_MET
    assert judge_bounds(510.0, None, at_most=500.0) is Verdict.NOT_MET  # no upper bound, still wholly above


def test_an_interval_that_straddles_the_tolerance_is_inconclusive() -> None:
    assert judge_bounds(0.535, 0.875, at_least=0.85) is Verdict.INCONCLUSIVE
    assert judge_bounds(430.0, 620.0, at_most=500.0) is Verdict.INCONCLUSIVE
    assert judge_bounds(0.04, 0.12, at_least=0.05, at_most=0.15) is Verdict.INCONCLUSIVE


def test_an_unbounded_side_can_never_be_met() -> None:
    assert judge_bounds(17.0, None, at_most=500.0) is Verdict.INCONCLUSIVE
    assert judge_bounds(None, 9.0, at_least=5.0) is Verdict.INCONCLUSIVE


def test_a_tolerance_without_bounds_is_refused() -> None:
    with pytest.raises(ValueError, match="at_least, at_most or both"):
        judge_bounds(0.1, 0.2)


def test_describe_tolerance_reads_like_the_experiment_file() -> None:
    assert describe_tolerance(at_least=0.85) == ">= 0.85"
    assert describe_tolerance(at_most=500, unit="ms") == "<= 500 ms"
    assert describe_tolerance(at_least=0.05, at_most=0.15) == "0.05 .. 0.15"


def test_17_of_23_against_085_is_inconclusive_and_says_17_more_samples_would_decide_it() -> None:
    # Wilson [0.5353, 0.8745] straddles 0.85; at the same ratio 40 trials bring the upper bound to
    # 0.849837 (hand computation in test_stats_intervals), so 40 - 23 = 17 more.
    judgement = judge_ratio(wilson_interval(17, 23), at_least=0.85)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert not judgement.is_met
    assert judgement.more_samples == 17
    assert "about 17 more samples would decide it at this ratio" in judgement.message
    assert "17 of 23 = 0.739 (95% interval 0.535-0.875) straddles >= 0.85" in judgement.message


def test_950_of_1000_against_085_is_met_and_700_of_1000_is_not() -> None:
    met = judge_ratio(wilson_interval(950, 1000), at_least=0.85)  # [0.9347, 0.9619]
    missed = judge_ratio(wilson_interval(700, 1000), at_least=0.85)  # [0.6709, 0.7276]
    assert (met.verdict, missed.verdict) == (Verdict.MET, Verdict.NOT_MET)
    assert met.is_met and met.more_samples is None
    assert missed.message.startswith("not met: 700 of 1000")


def test_too_few_samples_never_passes_even_when_every_one_succeeded() -> None:
    # 10 of 10: Wilson [0.7225, 1] would meet >= 0.70, but the probe asks for 30 samples
    assert judge_ratio(wilson_interval(10, 10), at_least=0.70).verdict is Verdict.MET
    judgement = judge_ratio(wilson_interval(10, 10), at_least=0.70, min_samples=30)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert "only 10 samples, the probe needs at least 30; 20 more would reach the minimum" in judgement.message
    assert judgement.more_samples == 20


def test_too_few_samples_that_also_straddle_say_the_larger_number() -> None:
    judgement = judge_ratio(wilson_interval(17, 23), at_least=0.85, min_samples=30)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.more_samples == 17  # 40 in all decides it, beyond the minimum of 30


def test_no_samples_is_inconclusive_without_a_guess() -> None:
    judgement = judge_ratio(wilson_interval(0, 0), at_least=0.85)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.more_samples is None
    assert judgement.message == "inconclusive: no samples; the probe needs at least 1"


def test_a_ratio_exactly_on_the_tolerance_says_more_samples_may_not_decide_it() -> None:
    judgement = judge_ratio(wilson_interval(85, 100), at_least=0.85)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.more_samples is None
    assert "more samples alone may not decide it" in judgement.message


def test_a_range_tolerance_on_a_ratio_inside_it_needs_both_bounds_cleared() -> None:
    # 10 of 100 = 0.10 within 0.05 .. 0.15, interval [0.0552, 0.1744] straddles only 0.15
    judgement = judge_ratio(wilson_interval(10, 100), at_least=0.05, at_most=0.15)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.more_samples is not None and judgement.more_samples > 0
    assert wilson_interval(10 * (100 + judgement.more_samples) // 100, 100 + judgement.more_samples).high < 0.151


def test_p95_of_1000_latencies_against_1000_ms_is_met_and_against_900_ms_is_not() -> None:
    # Binomial(1000, 0.95) ranks about 950 -/+ 1.96 * sqrt(47.5) = 950 -/+ 13.5, so the interval is
    # roughly 936-964 ms: wholly below 1000 ms, wholly above 900 ms
    histogram = LatencyHistogram.of(THOUSAND_MS)
    met = judge_percentile(histogram, 95, at_most=1000.0)
    missed = judge_percentile(histogram, 95, at_most=900.0)
    assert (met.verdict, missed.verdict) == (Verdict.MET, Verdict.NOT_MET)
    assert met.interval.samples == 1000
    assert met.message.startswith("met: p95 = 950.3 ms of 1000 samples")


def test_p95_that_straddles_the_tolerance_is_inconclusive_with_a_projected_sample_count() -> None:
    histogram = LatencyHistogram.of(THOUSAND_MS)
    judgement = judge_percentile(histogram, 95, at_most=960.0)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    # 960 of 1000 samples are <= 960 ms; held at 96%, the interval's upper rank u falls to 0.96 n or below
    # when 0.01 n >= 1.96 * sqrt(0.0475 n) + a rank or so, i.e. n of about 1,700 to 2,100 in all
    needed = samples_to_decide_percentile(0.96, 95, start=1001)
    assert needed is not None and judgement.more_samples == needed - 1000
    assert 700 <= judgement.more_samples <= 1100
    assert "96.0% of samples are <= 960 ms where p95 <= 960 ms needs at least 95%" in judgement.message
    assert "if the latencies stay as measured" in judgement.message


def test_20_samples_cannot_meet_a_p95_tolerance_however_fast_they_are() -> None:
    # every sample is <= 20 ms, but with 20 samples nothing bounds the p95 from above (it takes 72)
    judgement = judge_percentile(LatencyHistogram.of(TWENTY_MS), 95, at_most=500.0)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.interval.high is None
    assert "no upper bound" in judgement.message
    assert judgement.more_samples == 72 - 20


def test_a_percentile_below_its_minimum_sample_count_is_inconclusive_even_when_met() -> None:
    histogram = LatencyHistogram.of(THOUSAND_MS)
    judgement = judge_percentile(histogram, 95, at_most=1000.0, min_samples=5000)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.more_samples == 4000


def test_a_percentile_without_samples_is_inconclusive() -> None:
    judgement = judge_percentile(LatencyHistogram(), 95, at_most=500.0, min_samples=100)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.message == "inconclusive: p95: no samples; the probe needs at least 100"


def test_a_negative_minimum_sample_count_is_refused() -> None:
    with pytest.raises(ValueError, match="min_samples"):
        judge_ratio(wilson_interval(1, 2), at_least=0.5, min_samples=-1)
