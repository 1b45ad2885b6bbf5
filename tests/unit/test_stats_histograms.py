"""Latency histograms: merged across workers, sent as a string, read within their stated precision."""

from __future__ import annotations

import pytest
from hdrh.histogram import HdrHistogram

from loadtests.stats.histograms import HIGHEST_MS, HistogramDecodeError, LatencyHistogram

pytestmark = pytest.mark.unit

# 200 latencies 7.3, 14.6, ..., 1460.0 ms, dealt to three "Locust workers" like cards.
LATENCIES_MS = [round(7.3 * i, 6) for i in range(1, 201)]


def _worker_histograms() -> list[LatencyHistogram]:
    return [LatencyHistogram.of(LATENCIES_MS[w::3]) for w in range(3)]


def _exact_percentile(values: list[float], percentile: float) -> float:
    """Return the sample at rank max(1, round_half_up(p/100 * n)), the rank the histogram reads."""
    ordered = sorted(values)
    return ordered[max(1, int(percentile * len(ordered) / 100 + 0.5)) - 1]


def _within_precision(reported: float, exact: float) -> bool:
    return abs(reported - exact) <= 0.001 * exact + 0.001


def test_percentiles_of_merged_worker_histograms_are_the_hand_computed_bucket_tops() -> None:
    # Values are counted in whole µs; at 3 digits a bucket at or above 1024 * 2^k µs is 2^k µs wide,
    # and a percentile reads the top of the bucket holding the sample at rank round(p/100 * 200):
    # p50: rank 100 -> 730.000 ms = 730000 µs, k = 9 (524288..1048575), width 512:
    #      512 * floor(730000 / 512) = 729600, top 729600 + 511 = 730111 µs
    # p95: rank 190 -> 1387.000 ms, k = 10, width 1024: 1024 * 1354 = 1386496, top 1387519 µs
    # p99: rank 198 -> 1445.400 ms, k = 10: 1024 * 1411 = 1444864, top 1445887 µs
    merged = LatencyHistogram.merged(_worker_histograms())
    assert merged.count == 200
    assert merged.percentile_ms(50) == pytest.approx(730.111)
    assert merged.percentile_ms(95) == pytest.approx(1387.519)
    assert merged.percentile_ms(99) == pytest.approx(1445.887)


@pytest.mark.parametrize("percentile", [0.0, 1.0, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0])
def test_percentile_of_merged_histograms_is_the_raw_lists_within_the_stated_precision(percentile: float) -> None:
    merged = LatencyHistogram.merged(LatencyHistogram.decode(h.encode()) for h in _worker_histograms())
    reported = merged.percentile_ms(percentile)
    assert reported is not None
    assert _within_precision(reported, _exact_percentile(LATENCIES_MS, percentile))


def test_sub_millisecond_latencies_are_kept_to_the_microsecond() -> None:
    # below 2048 µs every bucket is 1 µs wide
    histogram = LatencyHistogram.of([0.4, 0.25, 1.999])
    assert histogram.percentile_ms(50) == pytest.approx(0.4)
    assert histogram.min_ms() == pytest.approx(0.25)
    assert histogram.max_ms() == pytest.approx(1.999)


def test_encode_decode_round_trip_keeps_every_count_and_percentile() -> None:
    original = LatencyHistogram.merged(_worker_histograms())
    text = original.encode()
    copy = LatencyHistogram.decode(text)
    assert text.startswith("HIST")
    assert len(text) < 1000  # 200 samples over three decades travel in well under a kilobyte
    assert copy.count == original.count
    assert [copy.percentile_ms(p) for p in (50, 95, 99)] == [original.percentile_ms(p) for p in (50, 95, 99)]
    assert (copy.min_ms(), copy.max_ms()) == (original.min_ms(), original.max_ms())
    assert list(copy.buckets()) == list(original.buckets())


def test_an_empty_histogram_round_trips_and_answers_none() -> None:
    empty = LatencyHistogram.decode(LatencyHistogram().encode())
    assert empty.count == 0
    assert empty.percentile_ms(95) is None
    assert (empty.min_ms(), empty.max_ms(), empty.mean_ms()) == (None, None, None)
    assert empty.share_at_most_ms(500.0) is None


def test_merging_an_empty_histogram_keeps_the_minimum() -> None:
    # hdrhistogram's own add() sets the minimum to 0 when the added histogram is empty
    histogram = LatencyHistogram.of([12.0, 40.0])
    histogram.merge(LatencyHistogram())
    assert histogram.min_ms() == pytest.approx(12.0)
    assert histogram.count == 2


def test_a_latency_beyond_ten_minutes_is_counted_at_the_top_not_dropped() -> None:
    histogram = LatencyHistogram.of([5.0, 3_600_000.0])
    assert histogram.count == 2
    top = histogram.max_ms()
    assert top is not None and _within_precision(top, HIGHEST_MS)


@pytest.mark.parametrize("latency_ms", [-1.0, float("nan"), float("inf")])
def test_recording_a_negative_or_non_finite_latency_is_refused(latency_ms: float) -> None:
    with pytest.raises(ValueError, match="latency"):
        LatencyHistogram().record_ms(latency_ms)


@pytest.mark.parametrize("text", ["", "not a histogram", "HISTFAAAA", "é"])
def test_decoding_a_string_that_is_no_histogram_raises_a_decode_error(text: str) -> None:
    with pytest.raises(HistogramDecodeError):
        LatencyHistogram.decode(text)


def test_decoding_a_histogram_of_another_precision_is_refused() -> None:
    other = HdrHistogram(1, 600_000_000, 2)
    other.record_value(1000)
    with pytest.raises(HistogramDecodeError, match="at 2 digits"):
        LatencyHistogram.decode(bytes(other.encode()).decode("ascii"))


def test_bucket_at_rank_holds_that_sample_and_rank_outside_the_count_is_refused() -> None:
    histogram = LatencyHistogram.of([3.0, 1.0, 2.0])
    bucket = histogram.bucket_at_rank(2)
    assert bucket.low_ms <= 2.0 <= bucket.high_ms
    with pytest.raises(ValueError, match="rank"):
        histogram.bucket_at_rank(4)


def test_share_at_most_counts_the_samples_at_or_below_the_limit() -> None:
    # 7.3 * i <= 730 for i = 1..100: exactly half of the 200 samples
    merged = LatencyHistogram.merged(_worker_histograms())
    assert merged.share_at_most_ms(730.2) == pytest.approx(0.5)
    assert merged.share_at_most_ms(10_000.0) == 1.0
