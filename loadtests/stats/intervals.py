"""Give a ratio its Wilson score interval, and say how many samples would narrow or decide it.

The Wilson interval (Wilson 1927) is used rather than the normal ("Wald") one because it
stays inside [0, 1] and keeps close to its nominal coverage for small samples and for
ratios near 0 or 1, where a chaos probe's success ratio usually lives.

The sample-size answers hold the observed ratio fixed and ask for the smallest number of
trials whose Wilson interval would be narrow enough; they are planning figures ("about N"),
not guarantees, because the ratio measured on a rerun will move.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

DEFAULT_CONFIDENCE = 0.95
# Beyond this many trials, a sample size answer is useless to a person; say "none" instead.
MAX_SAMPLES = 10**9


def z_score(confidence: float = DEFAULT_CONFIDENCE) -> float:
    """Return the two-sided normal quantile for a confidence level (1.96 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


@dataclass(frozen=True)
class RatioInterval:
    """A ratio of successes to trials with its confidence interval [low, high]."""

    successes: int
    trials: int
    low: float
    high: float
    confidence: float = DEFAULT_CONFIDENCE

    @property
    def has_samples(self) -> bool:
        """Return whether any trial was counted (without one the interval is all of [0, 1])."""
        return self.trials > 0

    @property
    def ratio(self) -> float | None:
        """Return successes / trials, or None without trials."""
        return self.successes / self.trials if self.trials > 0 else None

    @property
    def half_width(self) -> float:
        """Return half the interval's width."""
        return (self.high - self.low) / 2.0


def _wilson_bounds(ratio: float, trials: float, z: float) -> tuple[float, float]:
    """Return the Wilson bounds for a ratio observed over a (possibly fractional) number of trials."""
    z2 = z * z
    denominator = 1.0 + z2 / trials
    centre = (ratio + z2 / (2.0 * trials)) / denominator
    spread = z / denominator * math.sqrt(ratio * (1.0 - ratio) / trials + z2 / (4.0 * trials * trials))
    # At ratio 0 or 1 one bound is exactly 0 or 1; rounding would leave it a hair off.
    low = 0.0 if ratio == 0.0 else max(0.0, centre - spread)
    high = 1.0 if ratio == 1.0 else min(1.0, centre + spread)
    return low, high


def wilson_interval(successes: int, trials: int, *, confidence: float = DEFAULT_CONFIDENCE) -> RatioInterval:
    """Return the Wilson score interval for ``successes`` of ``trials``; no trials gives [0, 1].

    Raises ValueError when the counts are negative or successes exceed trials.
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"expected 0 <= successes <= trials, got {successes} of {trials}")
    z = z_score(confidence)
    if trials == 0:
        return RatioInterval(0, 0, 0.0, 1.0, confidence)
    low, high = _wilson_bounds(successes / trials, trials, z)
    return RatioInterval(successes, trials, low, high, confidence)


def _check_ratio(ratio: float) -> None:
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"a ratio must be between 0 and 1, got {ratio!r}")


def smallest_sample_size(is_enough: Callable[[int], bool], *, start: int = 1) -> int | None:
    """Return the smallest n in [start, MAX_SAMPLES] with ``is_enough(n)``, or None; assumes it stays true once true."""
    if start < 1:
        raise ValueError(f"start must be at least 1, got {start}")
    high = start
    while not is_enough(high):
        if high >= MAX_SAMPLES:
            return None
        high = min(MAX_SAMPLES, high * 2)
    low = start - 1 if high == start else high // 2  # is_enough(low) is false, or low is below start
    while high - low > 1:
        middle = (low + high) // 2
        if is_enough(middle):
            high = middle
        else:
            low = middle
    return high


def is_on_threshold(value: float, threshold: float) -> bool:
    """Return whether a ratio equals a threshold up to float rounding (e.g. 99.9 / 100 against 0.999)."""
    return math.isclose(value, threshold, rel_tol=0.0, abs_tol=1e-12)


def samples_for_half_width(
    ratio: float, half_width: float, *, confidence: float = DEFAULT_CONFIDENCE
) -> int:
    """Return the fewest trials whose Wilson interval at ``ratio`` is at most ``half_width`` wide each side.

    The Wilson half-width falls as trials grow for any fixed ratio, so the answer is the
    first n that is narrow enough. Raises ValueError for a ratio outside [0, 1] or a
    half-width outside (0, 0.5].
    """
    _check_ratio(ratio)
    if not 0.0 < half_width <= 0.5:
        raise ValueError(f"half_width must be in (0, 0.5], got {half_width!r}")
    z = z_score(confidence)

    def is_enough(n: int) -> bool:
        low, high = _wilson_bounds(ratio, n, z)
        return (high - low) / 2.0 <= half_width

    found = smallest_sample_size(is_enough)
    assert found is not None  # half_width > 0 is always reached well before MAX_SAMPLES
    return found


def samples_to_decide(
    ratio: float, threshold: float, *, confidence: float = DEFAULT_CONFIDENCE, start: int = 1
) -> int | None:
    """Return the fewest trials (from ``start`` up) whose Wilson interval at ``ratio`` leaves ``threshold`` outside.

    None when no number of trials up to ``MAX_SAMPLES`` would: the ratio sits on (or within
    a hair of) the threshold. The answer is total trials, not additional ones.
    """
    _check_ratio(ratio)
    if is_on_threshold(ratio, threshold):
        return None
    z = z_score(confidence)

    def is_enough(n: int) -> bool:
        low, high = _wilson_bounds(ratio, n, z)
        return low > threshold if ratio > threshold else high < threshold

    return smallest_sample_size(is_enough, start=start)
