"""Judge a probe's interval against its tolerance: met, not met, or inconclusive.

A probe is *met* only when its whole interval lies within the tolerance, *not met* when
the whole interval lies outside it, and *inconclusive* when the interval straddles a
bound. Too few samples (below the probe's minimum, and always zero) is inconclusive
whatever the interval says, so a thin sample can never pass.

An inconclusive message says about how many more samples would decide it:

- for a ratio, the fewest trials whose Wilson interval at the observed ratio would leave
  the bound outside (``intervals.samples_to_decide``);
- for a percentile, the same question asked of the share of samples at or below the
  bound (``p95 <= 500 ms`` holds exactly when at least 95% of latencies are <= 500 ms), so
  the answer assumes the latency distribution stays as measured and is worded that way.

Both are planning figures for the next run, not promises.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from loadtests.stats.histograms import LatencyHistogram
from loadtests.stats.intervals import DEFAULT_CONFIDENCE, RatioInterval, samples_to_decide
from loadtests.stats.percentiles import (
    PercentileInterval,
    histogram_percentile_interval,
    samples_to_decide_percentile,
)


class Verdict(enum.StrEnum):
    """The three outcomes of a probe."""

    MET = "met"
    NOT_MET = "not met"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Judgement:
    """A probe's verdict with the interval it rests on and a sentence a person can act on."""

    verdict: Verdict
    message: str
    interval: RatioInterval | PercentileInterval
    more_samples: int | None = None  # about how many more would decide an inconclusive one; None: unknown

    @property
    def is_met(self) -> bool:
        """Return whether the probe passed (only *met* passes)."""
        return self.verdict is Verdict.MET


def describe_tolerance(*, at_least: float | None = None, at_most: float | None = None, unit: str = "") -> str:
    """Say a tolerance in a few characters, e.g. ``>= 0.85`` or ``<= 500 ms``."""
    suffix = f" {unit}" if unit else ""
    if at_least is not None and at_most is not None:
        return f"{at_least:g} .. {at_most:g}{suffix}"
    if at_least is not None:
        return f">= {at_least:g}{suffix}"
    if at_most is not None:
        return f"<= {at_most:g}{suffix}"
    raise ValueError("a tolerance needs at_least, at_most or both")


def judge_bounds(
    low: float | None, high: float | None, *, at_least: float | None = None, at_most: float | None = None
) -> Verdict:
    """Return met when [low, high] lies within the tolerance, not met when wholly outside, else inconclusive.

    A None bound is one the data cannot set (unbounded on that side). Raises ValueError
    without any tolerance bound, since a probe that tolerates everything decides nothing.
    """
    describe_tolerance(at_least=at_least, at_most=at_most)  # refuses an empty tolerance
    if (at_least is not None and high is not None and high < at_least) or (
        at_most is not None and low is not None and low > at_most
    ):
        return Verdict.NOT_MET
    low_ok = at_least is None or (low is not None and low >= at_least)
    high_ok = at_most is None or (high is not None and high <= at_most)
    return Verdict.MET if low_ok and high_ok else Verdict.INCONCLUSIVE


def _straddled(low: float | None, high: float | None, bounds: list[float]) -> list[float]:
    """Return the tolerance bounds that lie inside the interval (the ones still undecided)."""
    return [b for b in bounds if (low is None or low < b) and (high is None or b <= high)]


def _more_to_decide(
    straddled: list[float], failing: list[float], total_for: dict[float, int | None], samples: int
) -> int | None:
    """Return about how many more samples decide it, or None when no number would (or it is unknown)."""
    if failing:  # deciding one bound that the estimate already misses is enough: the probe is then not met
        known = [t for t in (total_for[b] for b in failing) if t is not None]
        needed = min(known) if known else None
    else:  # to be met, every straddled bound must clear
        totals = [total_for[b] for b in straddled]
        needed = None if not totals or None in totals else max(t for t in totals if t is not None)
    return None if needed is None else max(1, needed - samples)


def _too_few(samples: int, min_samples: int) -> str | None:
    if samples == 0:
        return f"the probe needs at least {max(1, min_samples)}"
    if samples < min_samples:
        return f"only {samples} samples, the probe needs at least {min_samples}"
    return None


def _conclude(
    verdict: Verdict, interval: RatioInterval | PercentileInterval, *, head: str, tolerance: str,
    min_samples: int, more: int | None, straddle_advice: str, caveat: str,
) -> Judgement:
    """Return the judgement: too few samples first (never met), then the interval's verdict."""
    samples = interval.trials if isinstance(interval, RatioInterval) else interval.samples
    short = _too_few(samples, min_samples)
    if short is not None:
        text = f"inconclusive: {head}; {short}"
        if samples == 0:  # nothing measured: no ratio or share to project from
            return Judgement(Verdict.INCONCLUSIVE, text, interval, None)
        reach = max(0, min_samples - samples)
        if more is not None and more > reach:
            return Judgement(Verdict.INCONCLUSIVE, f"{text}; about {more} more would decide it{caveat}", interval, more)
        return Judgement(Verdict.INCONCLUSIVE, f"{text}; {reach} more would reach the minimum", interval, reach)
    if verdict is Verdict.MET:
        return Judgement(verdict, f"met: {head} within {tolerance}", interval)
    if verdict is Verdict.NOT_MET:
        return Judgement(verdict, f"not met: {head} outside {tolerance}", interval)
    advice = (f"about {more} more samples would decide it{caveat}" if more is not None
              else "more samples alone may not decide it")
    return Judgement(verdict, f"inconclusive: {head} straddles {tolerance}; {straddle_advice}{advice}", interval, more)


def _check_min_samples(min_samples: int) -> None:
    if min_samples < 0:
        raise ValueError(f"min_samples must be >= 0, got {min_samples}")


def judge_ratio(
    interval: RatioInterval, *, at_least: float | None = None, at_most: float | None = None, min_samples: int = 1
) -> Judgement:
    """Judge a ratio's Wilson interval against its tolerance and minimum sample count."""
    _check_min_samples(min_samples)
    tolerance = describe_tolerance(at_least=at_least, at_most=at_most)
    verdict = judge_bounds(interval.low, interval.high, at_least=at_least, at_most=at_most)
    n = interval.trials
    pct = round(interval.confidence * 100)
    head = (f"{interval.successes} of {n} = {interval.successes / n:.3f} "
            f"({pct}% interval {interval.low:.3f}-{interval.high:.3f})" if n else "no samples")
    more: int | None = None
    on_the_line = ""
    if verdict is Verdict.INCONCLUSIVE and n:
        ratio = interval.successes / n
        bounds = [b for b in (at_least, at_most) if b is not None]
        straddled = _straddled(interval.low, interval.high, bounds)
        failing = [b for b in straddled if (b == at_least and ratio < b) or (b == at_most and ratio > b)]
        totals = {b: samples_to_decide(ratio, b, confidence=interval.confidence, start=n + 1) for b in straddled}
        more = _more_to_decide(straddled, failing, totals, n)
        on_the_line = "" if more is not None else "the ratio sits on the tolerance, so "
    return _conclude(verdict, interval, head=head, tolerance=tolerance, min_samples=min_samples, more=more,
                     straddle_advice=on_the_line, caveat=" at this ratio")


def _ms(value: float | None) -> str:
    return "?" if value is None else f"{value:.4g}"


def _ms_interval(low: float | None, high: float | None) -> str:
    """Say a latency interval, naming a side the data cannot bound."""
    if low is not None and high is not None:
        return f"{low:.4g}-{high:.4g} ms"
    if low is not None:
        return f"{low:.4g} ms or more, no upper bound"
    if high is not None:
        return f"up to {high:.4g} ms, no lower bound"
    return "no bound either side"


def judge_percentile(
    histogram: LatencyHistogram,
    percentile: float,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    min_samples: int = 1,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Judgement:
    """Judge a latency percentile (ms) of a histogram by its order-statistic interval and minimum sample count."""
    _check_min_samples(min_samples)
    tolerance = describe_tolerance(at_least=at_least, at_most=at_most, unit="ms")
    interval = histogram_percentile_interval(histogram, percentile, confidence=confidence)
    verdict = judge_bounds(interval.low, interval.high, at_least=at_least, at_most=at_most)
    n, name = interval.samples, f"p{percentile:g}"
    pct = round(confidence * 100)
    if n:
        head = (f"{name} = {_ms(interval.value)} ms of {n} samples "
                f"({pct}% interval {_ms_interval(interval.low, interval.high)})")
    else:
        head = f"{name}: no samples"
    q = percentile / 100.0
    more: int | None = None
    shares: list[str] = []
    if verdict is Verdict.INCONCLUSIVE and n:
        bounds = [b for b in (at_least, at_most) if b is not None]
        straddled = _straddled(interval.low, interval.high, bounds)
        # p_q <= T exactly when the share of samples <= T is at least q: a ratio against threshold q.
        share_of = {b: histogram.share_at_most_ms(b) or 0.0 for b in straddled}
        failing = [b for b in straddled
                   if (b == at_most and share_of[b] < q) or (b == at_least and share_of[b] > q)]
        totals = {b: samples_to_decide_percentile(share_of[b], percentile, confidence=confidence, start=n + 1)
                  for b in straddled}
        more = _more_to_decide(straddled, failing, totals, n)
        shares = [f"{share_of[b]:.1%} of samples are <= {b:g} ms where {name} "
                  f"{'<=' if b == at_most else '>='} {b:g} ms needs {'at least' if b == at_most else 'at most'} {percentile:g}%"
                  for b in straddled]
    detail = "; ".join(shares) + "; " if shares else ""
    if verdict is Verdict.INCONCLUSIVE and n and more is None:
        detail += "the measured share sits on the percentile, so "
    return _conclude(verdict, interval, head=head, tolerance=tolerance, min_samples=min_samples, more=more,
                     straddle_advice=detail, caveat=" if the latencies stay as measured")
