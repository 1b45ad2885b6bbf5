"""Bound a percentile with a distribution-free confidence interval from the order statistics.

Method (the binomial bound; no bootstrap, no assumed distribution): of n independent
samples, the number B that fall below the true q-quantile is Binomial(n, q). So the
interval between the l-th and u-th smallest samples, [X(l), X(u)], covers the quantile
with probability P(l <= B <= u - 1). We take the equal-tailed ranks

    l = the largest rank with  P(B <= l - 1) <= alpha / 2
    u = the smallest rank with P(B <= u - 1) >= 1 - alpha / 2

so each side misses with probability at most alpha / 2 and the coverage is at least
1 - alpha (95% by default) for any continuous latency distribution. When a rank does not
exist, the data cannot bound that side: with 20 samples, for instance, nothing bounds a
p95 from above (it takes 72). That side is None, never a guess.

Two forms: ``histogram_percentile_interval`` reads the ranks from a ``LatencyHistogram``
(using counts only, so it works on histograms merged across Locust workers) and widens
each bound to the edge of its bucket, keeping the coverage; ``percentile_interval`` reads
them from a raw list. The reports use the histogram form, since a run keeps per-phase
histograms rather than every latency; the list form is the reference it is tested against
and serves small in-memory samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from loadtests.stats.histograms import LatencyHistogram
from loadtests.stats.intervals import DEFAULT_CONFIDENCE, is_on_threshold, smallest_sample_size

# Binomial terms this far below the largest one are dropped: their total is far below any alpha.
_NEGLIGIBLE = 1e-18


@dataclass(frozen=True)
class PercentileInterval:
    """A percentile's point value and its confidence interval; a None bound is one the data cannot set."""

    percentile: float
    samples: int
    value: float | None
    low: float | None
    high: float | None
    confidence: float = DEFAULT_CONFIDENCE

    @property
    def has_samples(self) -> bool:
        """Return whether any sample was counted."""
        return self.samples > 0


def _check(percentile: float, confidence: float) -> None:
    if not 0.0 < percentile < 100.0:
        raise ValueError(f"a percentile interval needs 0 < percentile < 100, got {percentile!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


def _binomial_cdf(n: int, q: float) -> tuple[int, list[float]]:
    """Return (start, cdf) with cdf[i] = P(B <= start + i) for B ~ Binomial(n, q), over the non-negligible ranks.

    Below ``start`` the cdf is (to within 1e-15) 0, beyond the list's end it is 1. Walking out from the
    mode with the ratio of neighbouring terms keeps this O(sqrt(n)) and free of overflow.
    """
    mode = min(n, math.floor((n + 1) * q))
    log_mode = (math.lgamma(n + 1) - math.lgamma(mode + 1) - math.lgamma(n - mode + 1)
                + mode * math.log(q) + (n - mode) * math.log1p(-q))
    peak = math.exp(log_mode)
    odds = q / (1.0 - q)
    below: list[float] = []
    term, k = peak, mode
    while k > 0:
        term *= k / (n - k + 1) / odds  # P(B = k - 1) from P(B = k)
        k -= 1
        if term < _NEGLIGIBLE * peak:
            break
        below.append(term)
    start = mode - len(below)
    terms = [*reversed(below), peak]
    term, k = peak, mode
    while k < n:
        term *= (n - k) / (k + 1) * odds  # P(B = k + 1) from P(B = k)
        k += 1
        if term < _NEGLIGIBLE * peak:
            break
        terms.append(term)
    # Normalise away the dropped tails and the rounding of the walk.
    total = math.fsum(terms)
    cdf, running = [], 0.0
    for t in terms:
        running += t
        cdf.append(running / total)
    return start, cdf


def order_statistic_ranks(
    samples: int, percentile: float, *, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[int | None, int | None]:
    """Return the 1-based ranks (l, u) of the order statistics that bound the percentile; None where none can.

    Raises ValueError for a percentile outside (0, 100) or a confidence outside (0, 1).
    """
    _check(percentile, confidence)
    if samples <= 0:
        return None, None
    q = percentile / 100.0
    tail = (1.0 - confidence) / 2.0
    start, cdf = _binomial_cdf(samples, q)

    def cdf_at(k: int) -> float:
        if k < start:
            return 0.0
        return cdf[k - start] if k - start < len(cdf) else 1.0

    lower = None
    for rank in range(start + len(cdf) + 1, 0, -1):  # the largest rank whose left tail is small enough
        if rank <= samples and cdf_at(rank - 1) <= tail:
            lower = rank
            break
    upper = None
    for rank in range(max(1, start), samples + 1):  # the smallest rank whose left mass is large enough
        if cdf_at(rank - 1) >= 1.0 - tail:
            upper = rank
            break
    return lower, upper


def nearest_rank(samples: int, percentile: float) -> int:
    """Return the rank a percentile is read at: max(1, round_half_up(percentile / 100 * samples)), as HDR does."""
    return max(1, int(percentile * samples / 100 + 0.5))


def percentile_interval(
    values: Sequence[float], percentile: float, *, confidence: float = DEFAULT_CONFIDENCE
) -> PercentileInterval:
    """Return the percentile of a raw list with its order-statistic interval."""
    _check(percentile, confidence)
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return PercentileInterval(percentile, 0, None, None, None, confidence)
    lower, upper = order_statistic_ranks(n, percentile, confidence=confidence)
    return PercentileInterval(
        percentile, n, ordered[nearest_rank(n, percentile) - 1],
        None if lower is None else ordered[lower - 1],
        None if upper is None else ordered[upper - 1],
        confidence,
    )


def histogram_percentile_interval(
    histogram: LatencyHistogram, percentile: float, *, confidence: float = DEFAULT_CONFIDENCE
) -> PercentileInterval:
    """Return a histogram's percentile in ms with its order-statistic interval, widened to bucket edges."""
    _check(percentile, confidence)
    n = histogram.count
    if n == 0:
        return PercentileInterval(percentile, 0, None, None, None, confidence)
    lower, upper = order_statistic_ranks(n, percentile, confidence=confidence)
    return PercentileInterval(
        percentile, n, histogram.percentile_ms(percentile),
        None if lower is None else histogram.bucket_at_rank(lower).low_ms,
        None if upper is None else histogram.bucket_at_rank(upper).high_ms,
        confidence,
    )


def samples_to_decide_percentile(
    share_within: float, percentile: float, *, confidence: float = DEFAULT_CONFIDENCE, start: int = 1
) -> int | None:
    """Return the fewest samples (from ``start`` up) whose interval would leave T outside, if ``share_within`` stay <= T.

    The percentile is at most T exactly when at least ``percentile``% of samples are <= T, so
    with the share held fixed the question is when the order-statistic ranks stop straddling
    it. None when the share equals the percentile (no sample size decides it). A planning
    figure: the share measured on the next run will move. Pass the samples already counted
    plus one as ``start``: at a handful of samples ``share * n`` is not a count and the
    answer would jitter. Near the crossing the whole ranks still make it jitter by a few
    percent, which is why callers say "about".
    """
    _check(percentile, confidence)
    if not 0.0 <= share_within <= 1.0:
        raise ValueError(f"share_within must be between 0 and 1, got {share_within!r}")
    q = percentile / 100.0
    if is_on_threshold(share_within, q):
        return None

    def is_enough(n: int) -> bool:
        lower, upper = order_statistic_ranks(n, percentile, confidence=confidence)
        within = share_within * n
        if share_within > q:  # X(u) <= T once at least u samples are <= T
            return upper is not None and within >= upper
        return lower is not None and within < lower  # X(l) > T once fewer than l samples are <= T

    return smallest_sample_size(is_enough, start=start)
