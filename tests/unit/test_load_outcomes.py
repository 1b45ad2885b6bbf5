"""Journey outcomes: success, degraded (a designed fallback) or failure, and their tally."""

from __future__ import annotations

import pytest

from loadtests.outcomes import (
    JourneyTally,
    OrderState,
    Outcome,
    StepResult,
    classify_journey,
    classify_order_status,
    classify_product_page,
    percentile_ms,
    round_ms,
)

pytestmark = pytest.mark.unit

OK = StepResult("GET /api/v1/products", True)


def test_a_journey_whose_steps_all_met_the_contract_is_a_success() -> None:
    assert classify_journey([OK, StepResult("GET /api/v1/products/[id]", True)]) is Outcome.SUCCESS


def test_a_product_page_without_recommendations_makes_the_journey_degraded() -> None:
    page = classify_product_page("GET /api/v1/products/[id]", 200, {"id": 1, "degraded": ["recommendations"]})
    assert page.ok and page.degraded == ("recommendations",)
    assert classify_journey([OK, page]) is Outcome.DEGRADED


def test_an_empty_degraded_list_is_not_degraded() -> None:
    page = classify_product_page("GET /api/v1/products/[id]", 200, {"id": 1, "degraded": [], "recommendations": []})
    assert classify_journey([page]) is Outcome.SUCCESS


def test_any_failed_step_makes_the_journey_a_failure_even_when_another_degraded() -> None:
    degraded = classify_product_page("GET /api/v1/products/[id]", 200, {"id": 1, "degraded": ["recommendations"]})
    failed = StepResult("POST /api/v1/checkout", False, reason="status 503")
    assert classify_journey([degraded, failed]) is Outcome.FAILURE


def test_a_journey_with_no_steps_is_a_failure() -> None:
    assert classify_journey([]) is Outcome.FAILURE


@pytest.mark.parametrize(("status", "body"), [(503, {"error": {}}), (200, {"name": "no id"}), (200, None)])
def test_a_product_page_outside_the_contract_fails(status: int, body: object) -> None:
    assert not classify_product_page("GET /api/v1/products/[id]", status, body).ok


def test_order_statuses_map_onto_settled_or_pending() -> None:
    assert classify_order_status("paid") is OrderState.SETTLED_PAID
    assert classify_order_status("payment_failed") is OrderState.SETTLED_FAILED
    assert classify_order_status("rejected") is OrderState.SETTLED_FAILED
    assert classify_order_status("pending") is OrderState.PENDING


def test_latencies_round_like_locust() -> None:
    assert [round_ms(v) for v in (7.4, 147, 3432, 58760)] == [7, 150, 3400, 59000]


def test_percentiles_come_from_the_histogram() -> None:
    hist = {10: 90, 100: 9, 1000: 1}
    assert percentile_ms(hist, 0.5) == 10
    assert percentile_ms(hist, 0.95) == 100
    assert percentile_ms(hist, 0.999) == 1000
    assert percentile_ms({}, 0.95) == 0


def test_tallies_from_two_workers_merge_into_one() -> None:
    a, b = JourneyTally(), JourneyTally()
    a.record("checkout", Outcome.SUCCESS, 120)
    a.record("checkout", Outcome.FAILURE, 5)
    b.record("checkout", Outcome.DEGRADED, 300)
    b.record("browse", Outcome.SUCCESS, 20)
    merged = JourneyTally.from_dict(a.to_dict())
    merged.merge(b.to_dict())
    summary = merged.summary()
    assert summary["checkout"]["success"] == 1
    assert summary["checkout"]["degraded"] == 1
    assert summary["checkout"]["failure"] == 1
    assert summary["checkout"]["failure_ratio"] == pytest.approx(1 / 3)
    # percentiles cover completed journeys only: the fast failure does not flatter p50
    assert summary["checkout"]["p50_ms"] == 120
    assert summary["checkout"]["p99_ms"] == 300
    assert summary["browse"]["total"] == 1
