"""Declare the resilience kit's Prometheus instruments once per process (created on first use).

Labels ``caller`` and ``dependency`` name the edge, so retry amplification per edge is
``sum(rate(shoplab_dependency_attempts_total[1m])) / sum(rate(shoplab_dependency_requests_total[1m]))``.
The caller-side duration histogram includes the time spent in Toxiproxy, which the callee's own misses.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

EDGE = ("caller", "dependency")
BREAKER_STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}
# Seconds, 1 ms to 30 s; the console's slow (0.5 s) and very slow (2 s) thresholds are bucket bounds.
DEPENDENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class Instruments:
    """Every metric the resilience kit and the fault middleware write."""

    requests: Counter
    duration: Histogram
    attempts: Counter
    retries: Counter
    breaker_state: Gauge
    breaker_transitions: Counter
    bulkhead_in_flight: Gauge
    bulkhead_rejections: Counter
    budget_exhausted: Counter
    fallbacks: Counter
    deadline_refusals: Counter
    faults_injected: Counter
    hedges: Counter
    adaptive_limit: Gauge
    limit_rejections: Counter
    shed: Counter


@functools.cache
def get_instruments() -> Instruments:
    """Return the process-wide instruments, registering them on first call."""
    return Instruments(
        requests=Counter(
            "shoplab_dependency_requests",
            "Logical calls to a dependency by final outcome (one per client call, retries included).",
            [*EDGE, "outcome"],
        ),
        duration=Histogram(
            "shoplab_dependency_duration_seconds",
            "Logical calls' duration as the caller saw it (every attempt and backoff), by final outcome.",
            [*EDGE, "outcome"],
            buckets=DEPENDENCY_BUCKETS_S,
        ),
        attempts=Counter(
            "shoplab_dependency_attempts",
            "Attempts (one HTTP try, or a breaker rejection) to a dependency by outcome.",
            [*EDGE, "outcome"],
        ),
        retries=Counter("shoplab_dependency_retries", "Retries scheduled after a failed attempt.", EDGE),
        breaker_state=Gauge(
            "shoplab_breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.", EDGE
        ),
        breaker_transitions=Counter(
            "shoplab_breaker_transitions",
            "Circuit breaker state changes.",
            [*EDGE, "from_state", "to_state"],
        ),
        bulkhead_in_flight=Gauge("shoplab_bulkhead_in_flight", "Calls in flight through the bulkhead.", EDGE),
        bulkhead_rejections=Counter(
            "shoplab_bulkhead_rejections", "Calls rejected at once because the bulkhead was full.", EDGE
        ),
        budget_exhausted=Counter(
            "shoplab_retry_budget_exhausted", "Retries not made because the retry budget was empty.", EDGE
        ),
        fallbacks=Counter("shoplab_dependency_fallbacks", "Failed calls answered by the caller's fallback.", EDGE),
        deadline_refusals=Counter(
            "shoplab_deadline_exceeded_requests",
            "Incoming requests refused because the caller's deadline was already spent.",
            ["service"],
        ),
        faults_injected=Counter(
            "shoplab_faults_injected",
            "App-level faults injected by the admin fault middleware, by kind (error, latency).",
            ["service", "route", "kind"],
        ),
        hedges=Counter(
            "shoplab_hedges",
            "Hedged reads: sent (a second copy went out), won (the copy answered first), skipped (no budget).",
            [*EDGE, "result"],
        ),
        adaptive_limit=Gauge(
            "shoplab_adaptive_limit", "The AIMD concurrency limit of a dependency right now (calls).", EDGE
        ),
        limit_rejections=Counter(
            "shoplab_adaptive_limit_rejections", "Calls refused at once because the adaptive limit was reached.", EDGE
        ),
        shed=Counter(
            "shoplab_requests_shed",
            "Incoming requests refused (503, Retry-After) by priority load shedding, by priority.",
            ["service", "priority"],
        ),
    )
