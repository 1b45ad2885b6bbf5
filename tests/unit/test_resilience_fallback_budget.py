"""A call with a fallback gets its own short budget under ``resilient``: short timeouts, one retry at most."""

from __future__ import annotations

import httpx
import pytest

from shop.kit.resilience import PROFILES, deadline_scope
from tests.unit.test_resilience_client import Recorder, make_client

pytestmark = pytest.mark.unit

SLO_S = 0.5  # the public API's latency SLO


def _timing_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("slow", request=request)


def _read_timeout(request: httpx.Request) -> float:
    return float(request.extensions["timeout"]["read"])


def test_a_call_with_a_fallback_makes_at_most_two_short_attempts_then_falls_back() -> None:
    rec = Recorder(_timing_out)
    client = make_client(rec)
    with deadline_scope(3.0):  # the gateway's request budget
        answer = client.get("/recommendations/1", fallback=lambda _exc: "fallback")
    assert answer == "fallback"
    assert 1 <= len(rec.requests) <= 2
    assert all(_read_timeout(r) <= PROFILES["resilient"].default.fallback_budget_s for r in rec.requests)  # type: ignore[operator]


def test_the_same_call_without_a_fallback_keeps_the_full_policy() -> None:
    rec = Recorder(_timing_out)
    client = make_client(rec)
    with deadline_scope(3.0), pytest.raises(Exception, match="timed out|catalog"):
        client.get("/products/1")
    policy = PROFILES["resilient"].default
    assert len(rec.requests) == policy.retry_max_attempts
    assert _read_timeout(rec.requests[0]) == policy.read_timeout_s


def test_the_resilient_budget_for_a_fallback_fits_well_inside_the_slo() -> None:
    policy = PROFILES["resilient"].default
    assert policy.fallback_budget_s is not None and policy.fallback_budget_s <= SLO_S / 2
    assert policy.fallback_max_attempts <= 2
    # The other profiles keep their behaviour (the labs compare them).
    assert all(PROFILES[name].default.fallback_budget_s is None for name in ("naive", "timeouts", "retries"))
