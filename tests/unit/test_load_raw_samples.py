"""Raw samples: per-second buckets of journey outcomes merge across processes into exact phase percentiles."""

from __future__ import annotations

import json
import math

import pytest

from loadtests.outcomes import Outcome
from loadtests.raw_samples import RawRecorder, is_request, merge_lines, request_key, window_bucket


def _exact(values: list[float], percentile: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.floor(percentile / 100 * len(ordered) + 0.5))
    return ordered[rank - 1]


def test_two_processes_merge_into_the_exact_phase_percentile() -> None:
    # two "workers" record interleaved latencies in the seconds 100..109 (a phase is 102..107)
    a, b = RawRecorder(), RawRecorder()
    phase_values: list[float] = []
    for i in range(1000):
        second = 100 + (i % 10)
        latency = 5.0 + (i * 37) % 400 + (3000.0 if i % 50 == 0 else 0.0)
        (a if i % 2 else b).record(second + 0.3, "browse", Outcome.SUCCESS, latency)
        if 102 <= second < 108:
            phase_values.append(latency)
    lines = [json.loads(json.dumps(line)) for line in a.take() + b.take()]  # through JSON, as the master writes them
    assert a.take() == []  # take() hands out deltas
    phase = window_bucket(merge_lines(lines), 102.0, 108.0)
    assert phase.total == len(phase_values) == 600
    for p in (50.0, 95.0, 99.0):
        exact = _exact(phase_values, p)
        got = phase.latency.percentile_ms(p)
        assert got is not None
        assert abs(got - exact) <= 0.001 * exact + 0.001  # the histogram's stated precision


def test_failures_are_counted_but_not_in_the_latency_histogram() -> None:
    rec = RawRecorder()
    rec.record(10.1, "checkout", Outcome.SUCCESS, 20.0)
    rec.record(10.2, "checkout", Outcome.DEGRADED, 30.0)
    rec.record(10.9, "checkout", Outcome.FAILURE, 5.0)
    rec.record(10.5, "browse", Outcome.SUCCESS, 1.0)
    merged = merge_lines(rec.take())
    checkout = window_bucket(merged, 10.0, 11.0, "checkout")
    assert checkout.counts == {"success": 1, "degraded": 1, "failure": 1}
    assert checkout.latency.count == 2
    assert window_bucket(merged, 10.0, 11.0).total == 4
    # a second belongs to the window holding its midpoint
    assert window_bucket(merged, 10.6, 12.0).total == 0


def test_a_malformed_line_is_refused() -> None:
    with pytest.raises(ValueError, match="not a raw-sample line"):
        merge_lines([{"journey": "browse"}])


def test_a_request_is_counted_under_its_own_key_with_its_latency_even_when_it_failed() -> None:
    rec = RawRecorder()
    rec.record_request(1000.7, "GET /api/v1/products", False, 1500.0)
    rec.record(1000.2, "browse", Outcome.SUCCESS, 30.0)
    buckets = merge_lines(rec.take())
    request = buckets[(1000, request_key("GET /api/v1/products"))]
    assert (request.counts["failure"], request.latency.count) == (1, 1)
    assert is_request(request_key("GET /api/v1/products")) and not is_request("browse")
    # every journey of the window, and none of the requests
    assert window_bucket(buckets, 1000.0, 1001.0).total == 1
