"""Record latencies in an HDR histogram that merges across processes and travels as a short string.

Precision guarantee: a ``LatencyHistogram`` tracks 1 µs to 10 minutes with 3 significant
decimal digits. Each latency is rounded to whole microseconds and counted in a bucket
whose width is at most 1/1024 of its values (1 µs below 2.048 ms), so every value it
reports, a percentile or a bound, is within ``0.1%`` of the exact value plus 1 µs::

    |reported_ms - exact_ms| <= 0.001 * exact_ms + 0.001

where "exact" is the same order statistic of the raw latencies. Percentiles are read at
rank ``max(1, round_half_up(percentile / 100 * count))`` of the sorted samples, and
reported as the highest value of that sample's bucket (so never below the exact value
by more than the microsecond rounding); percentile 0 and ``min_ms`` report the lowest.

The ``hdrhistogram`` package does the counting, merging and encoding. Two of its traps
are wrapped here: merging an empty histogram resets the minimum to 0, and values above
the top are silently accepted into the last bucket or dropped. Latencies above
``HIGHEST_MS`` are counted as ``HIGHEST_MS`` so no sample is lost; no tolerance a probe
can state is that long.
"""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from hdrh.codec import HdrCookieException, HdrHistogramSettingsException, HdrLengthException
from hdrh.histogram import HdrHistogram

SIGNIFICANT_DIGITS = 3
LOWEST_US = 1
HIGHEST_MS = 600_000.0  # 10 minutes
_HIGHEST_US = int(HIGHEST_MS * 1000)
_US_PER_MS = 1000.0
# What the library raises on a string that is not an encoded histogram.
_DECODE_ERRORS = (
    TypeError, ValueError, binascii.Error, zlib.error,
    HdrCookieException, HdrHistogramSettingsException, HdrLengthException,
)


class HistogramDecodeError(ValueError):
    """A string is not an encoded latency histogram of this module's precision."""


@dataclass(frozen=True)
class Bucket:
    """The samples that share one histogram bucket: all latencies in [low_ms, high_ms]."""

    low_ms: float
    high_ms: float
    count: int


def _new_hdr() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, _HIGHEST_US, SIGNIFICANT_DIGITS)


class LatencyHistogram:
    """Count latencies in milliseconds at 3 significant digits (see the module docstring)."""

    def __init__(self) -> None:
        self._hdr = _new_hdr()

    @classmethod
    def of(cls, latencies_ms: Iterable[float]) -> LatencyHistogram:
        """Return a histogram holding every latency given."""
        histogram = cls()
        for latency_ms in latencies_ms:
            histogram.record_ms(latency_ms)
        return histogram

    @classmethod
    def merged(cls, histograms: Iterable[LatencyHistogram]) -> LatencyHistogram:
        """Return a new histogram holding the samples of all the given ones (e.g. one per worker)."""
        total = cls()
        for histogram in histograms:
            total.merge(histogram)
        return total

    @classmethod
    def decode(cls, text: str) -> LatencyHistogram:
        """Return the histogram that ``encode`` turned into ``text``.

        Raises HistogramDecodeError when ``text`` is not an encoded histogram, or was
        recorded at another range or precision (its guarantee would not be this module's).
        """
        try:
            hdr = HdrHistogram.decode(text.encode("ascii"))
        except (UnicodeEncodeError, *_DECODE_ERRORS) as exc:
            raise HistogramDecodeError(f"not an encoded latency histogram: {exc}") from exc
        if (hdr.lowest_trackable_value, hdr.highest_trackable_value, hdr.significant_figures) != (
            LOWEST_US, _HIGHEST_US, SIGNIFICANT_DIGITS
        ):
            raise HistogramDecodeError(
                f"histogram tracks {hdr.lowest_trackable_value}..{hdr.highest_trackable_value} µs at "
                f"{hdr.significant_figures} digits; expected {LOWEST_US}..{_HIGHEST_US} µs at {SIGNIFICANT_DIGITS}"
            )
        histogram = cls()
        # Copy into a fresh histogram: a decoded one carries a truncated counts array.
        histogram._add_hdr(hdr)
        return histogram

    @property
    def count(self) -> int:
        """Return how many latencies were recorded."""
        return int(self._hdr.get_total_count())

    def record_ms(self, latency_ms: float, count: int = 1) -> None:
        """Count one latency (``count`` times); above ``HIGHEST_MS`` it counts as ``HIGHEST_MS``.

        Raises ValueError for a negative or non-finite latency or a count below 1.
        """
        if not latency_ms >= 0.0 or latency_ms == float("inf"):
            raise ValueError(f"a latency must be a finite number of ms >= 0, got {latency_ms!r}")
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count!r}")
        value_us = min(_HIGHEST_US, round(latency_ms * _US_PER_MS))
        recorded = self._hdr.record_value(value_us, count)
        assert recorded, value_us  # in range by construction

    def merge(self, other: LatencyHistogram) -> None:
        """Add every sample of ``other`` to this histogram."""
        self._add_hdr(other._hdr)

    def _add_hdr(self, other: HdrHistogram) -> None:
        # The library sets the minimum to 0 when the added histogram is empty.
        if other.get_total_count() > 0:
            self._hdr.add(other)

    def encode(self) -> str:
        """Return the histogram as a compact ASCII string (HdrHistogram's compressed V2 format)."""
        return bytes(self._hdr.encode()).decode("ascii")

    def percentile_ms(self, percentile: float) -> float | None:
        """Return the ``percentile``-th (0..100) latency in ms, or None when nothing was recorded."""
        _check_percentile(percentile)
        if self.count == 0:
            return None
        return self._hdr.get_value_at_percentile(percentile) / _US_PER_MS

    def min_ms(self) -> float | None:
        """Return the smallest latency (its bucket's lowest value), or None when empty."""
        return self._hdr.get_min_value() / _US_PER_MS if self.count else None

    def max_ms(self) -> float | None:
        """Return the largest latency (its bucket's highest value), or None when empty."""
        return self._hdr.get_max_value() / _US_PER_MS if self.count else None

    def mean_ms(self) -> float | None:
        """Return the mean latency (from bucket midpoints), or None when empty."""
        return self._hdr.get_mean_value() / _US_PER_MS if self.count else None

    def buckets(self) -> Iterator[Bucket]:
        """Yield the non-empty buckets from the lowest latencies up."""
        for item in self._hdr.get_recorded_iterator():
            high_us = item.value_iterated_to  # the iterator reports a bucket by its highest value
            low_us = self._hdr.get_lowest_equivalent_value(high_us)
            yield Bucket(low_us / _US_PER_MS, high_us / _US_PER_MS, int(item.count_added_in_this_iter_step))

    def bucket_at_rank(self, rank: int) -> Bucket:
        """Return the bucket holding the ``rank``-th smallest sample (1-based).

        Raises ValueError when rank is not in 1..count.
        """
        if not 1 <= rank <= self.count:
            raise ValueError(f"rank must be in 1..{self.count}, got {rank}")
        seen = 0
        for bucket in self.buckets():
            seen += bucket.count
            if seen >= rank:
                return bucket
        raise AssertionError("the buckets' counts do not add up to the total")  # pragma: no cover

    def share_at_most_ms(self, limit_ms: float) -> float | None:
        """Return the fraction of samples at or below ``limit_ms``, to the histogram's precision (None when empty)."""
        if self.count == 0:
            return None
        # A bucket that starts at or below the limit counts: a latency recorded at exactly the limit is within it.
        within = sum(b.count for b in self.buckets() if b.low_ms <= limit_ms)
        return within / self.count


def _check_percentile(percentile: float) -> None:
    if not 0.0 <= percentile <= 100.0:
        raise ValueError(f"a percentile must be between 0 and 100, got {percentile!r}")
