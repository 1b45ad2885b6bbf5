"""The Wilson interval of a ratio and the sample sizes that narrow or decide it, against hand computations."""

from __future__ import annotations

import pytest

from loadtests.stats.intervals import (
    samples_for_half_width,
    samples_to_decide,
    smallest_sample_size,
    wilson_interval,
    z_score,
)

pytestmark = pytest.mark.unit

# Every hand computation below uses z = 1.959964 (z^2 = 3.841459) and the Wilson formula
#   centre = (p + z^2/2n) / (1 + z^2/n)
#   spread = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)


def test_z_score_for_95_percent_is_1_96() -> None:
    assert z_score(0.95) == pytest.approx(1.959964, abs=1e-6)


def test_wilson_interval_of_17_of_23_straddles_the_flagships_085_tolerance() -> None:
    # p = 0.739130, z^2/n = 0.167020, denominator 1.167020
    # centre = (0.739130 + 0.083510) / 1.167020 = 0.704907
    # spread = 1.959964 / 1.167020 * sqrt(0.0083834 + 0.0018154) = 1.679460 * 0.100989 = 0.169607
    interval = wilson_interval(17, 23)
    assert interval.low == pytest.approx(0.53530, abs=1e-4)
    assert interval.high == pytest.approx(0.87451, abs=1e-4)
    assert interval.low < 0.85 < interval.high
    assert interval.ratio == pytest.approx(0.739130, abs=1e-6)


def test_wilson_interval_of_0_of_10_starts_at_exactly_zero() -> None:
    # p = 0, z^2/n = 0.384146, denominator 1.384146
    # centre = 0.192073 / 1.384146 = 0.138767; spread = 1.416008 * sqrt(3.841459/400) = 0.138767
    interval = wilson_interval(0, 10)
    assert interval.low == 0.0
    assert interval.high == pytest.approx(0.277533, abs=1e-5)


def test_wilson_interval_of_10_of_10_ends_at_exactly_one() -> None:
    # the mirror image of 0 of 10: [1 - 0.277533, 1]
    interval = wilson_interval(10, 10)
    assert interval.low == pytest.approx(0.722467, abs=1e-5)
    assert interval.high == 1.0


def test_wilson_interval_of_950_of_1000_is_about_1_4_points_each_side() -> None:
    # p = 0.95, z^2/n = 0.003841459, denominator 1.003841
    # centre = (0.95 + 0.0019207) / 1.003841 = 0.948278
    # spread = 1.959964 / 1.003841 * sqrt(4.75e-5 + 9.6036e-7) = 1.952464 * 0.0069614 = 0.0135918
    interval = wilson_interval(950, 1000)
    assert interval.low == pytest.approx(0.934686, abs=1e-5)
    assert interval.high == pytest.approx(0.961870, abs=1e-5)
    assert interval.half_width == pytest.approx(0.0135918, abs=1e-5)


def test_wilson_interval_without_trials_is_all_of_zero_to_one_and_says_it_has_no_samples() -> None:
    interval = wilson_interval(0, 0)
    assert (interval.low, interval.high) == (0.0, 1.0)
    assert not interval.has_samples
    assert interval.ratio is None
    assert wilson_interval(1, 1).has_samples


@pytest.mark.parametrize(("successes", "trials"), [(-1, 3), (4, 3), (0, -1)])
def test_wilson_interval_refuses_impossible_counts(successes: int, trials: int) -> None:
    with pytest.raises(ValueError, match="successes <= trials"):
        wilson_interval(successes, trials)


def test_samples_for_a_3_point_half_width_at_ratio_0_5_is_about_z2_p_q_over_h2() -> None:
    # Wald's estimate z^2 * 0.25 / 0.03^2 = 1067.1; Wilson's half-width at p = 0.5 is
    # z * sqrt(n/4 + z^2/4) / (n + z^2), which falls to 0.03 between n = 1063 and n = 1064:
    # n = 1063: 1.959964 * sqrt(265.75 + 0.960365) / 1066.841459 = 0.030003
    # n = 1064: 1.959964 * sqrt(266.00 + 0.960365) / 1067.841459 = 0.029989
    assert samples_for_half_width(0.5, 0.03) == 1064
    assert wilson_interval(532, 1064).half_width <= 0.03 < wilson_interval(531, 1063).half_width


def test_samples_for_half_width_is_the_first_sample_size_narrow_enough() -> None:
    needed = samples_for_half_width(0.9, 0.03)
    # Wald's estimate z^2 * 0.09 / 0.0009 = 384.1; Wilson needs a few more near 0.9
    assert 380 <= needed <= 400
    assert wilson_interval(round(0.9 * needed), needed).half_width <= 0.0301


def test_samples_for_half_width_refuses_a_half_width_of_zero() -> None:
    with pytest.raises(ValueError, match="half_width"):
        samples_for_half_width(0.5, 0.0)


def test_samples_to_decide_17_of_23_against_085_is_40_in_all() -> None:
    # Holding p = 17/23 = 0.739130 fixed, the Wilson upper bound must fall below 0.85:
    # n = 39: d = 1.098499, centre = 0.788380 / d = 0.717688,
    #         spread = 1.784220 * sqrt(0.00494403 + 0.00063140) = 0.133225 -> high 0.850913
    # n = 40: d = 1.096037, centre = 0.787148 / d = 0.718178,
    #         spread = 1.788231 * sqrt(0.00482042 + 0.00060023) = 0.131659 -> high 0.849837
    assert samples_to_decide(17 / 23, 0.85) == 40


def test_samples_to_decide_a_ratio_above_the_threshold_raises_the_lower_bound_past_it() -> None:
    needed = samples_to_decide(0.95, 0.85)
    assert needed is not None
    assert wilson_interval(round(0.95 * needed), needed).low > 0.85
    assert needed < samples_to_decide(0.95, 0.90)  # a threshold nearer the ratio takes more samples


def test_samples_to_decide_is_none_when_the_ratio_sits_on_the_threshold() -> None:
    assert samples_to_decide(0.85, 0.85) is None


def test_samples_to_decide_treats_float_rounding_of_the_threshold_as_on_it() -> None:
    assert samples_to_decide(0.999, 99.9 / 100) is None  # 99.9 / 100 is 0.9990000000000001


def test_smallest_sample_size_searches_from_the_start_it_is_given() -> None:
    assert smallest_sample_size(lambda n: n >= 1000) == 1000
    assert smallest_sample_size(lambda n: n >= 7, start=3) == 7
    assert smallest_sample_size(lambda n: n >= 7, start=9) == 9
    assert smallest_sample_size(lambda n: False) is None
