"""Turn cumulative Locust stats into per-second samples (pure: the locustfile feeds it).

Request rate, failure ratio and percentiles are over the interval since the previous
sample (so a fault window shows as a dip, not as a slowly bending average); request,
failure and journey counts are cumulative.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loadtests.outcomes import percentile_ms, subtract_histograms


@dataclass(frozen=True)
class Snapshot:
    """Cumulative stats at ``t`` seconds since the run started."""

    t: float
    requests: int
    failures: int
    histogram: Mapping[int, int]
    journeys: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    users: int = 0
    arrivals: Mapping[str, Any] | None = None


def make_sample(previous: Snapshot | None, current: Snapshot) -> dict[str, Any]:
    """Return one JSON-able sample for the interval ``previous.t .. current.t``."""
    prev_t = previous.t if previous else 0.0
    prev_requests = previous.requests if previous else 0
    prev_failures = previous.failures if previous else 0
    prev_hist: Mapping[int, int] = previous.histogram if previous else {}
    dt = max(current.t - prev_t, 1e-6)
    requests = max(0, current.requests - prev_requests)
    failures = max(0, current.failures - prev_failures)
    window = subtract_histograms(current.histogram, prev_hist)
    sample: dict[str, Any] = {
        "t": round(current.t, 3),
        "rps": round(requests / dt, 3),
        "fail_ratio": round(failures / requests, 4) if requests else 0.0,
        "p50_ms": percentile_ms(window, 0.50),
        "p95_ms": percentile_ms(window, 0.95),
        "p99_ms": percentile_ms(window, 0.99),
        "requests": current.requests,
        "failures": current.failures,
        "users": current.users,
        "journeys": {j: dict(per) for j, per in current.journeys.items()},
    }
    if current.arrivals is not None:
        sample["arrivals"] = dict(current.arrivals)
    return sample
