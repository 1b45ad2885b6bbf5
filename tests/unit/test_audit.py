"""Unit tests of the consistency audit: clean data passes, each broken invariant is named."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import httpx
import pytest

from shoplab.runtime import audit as audit_module
from shoplab.runtime.audit import (
    INVARIANTS,
    AuditData,
    AuditReport,
    Violation,
    check_all,
    in_flight_events,
    run_audit,
    wait_for_drain,
)

pytestmark = pytest.mark.unit


def clean() -> AuditData:
    """Three finished orders (paid, declined, rejected) whose data agrees everywhere."""
    orders = [
        {"order_id": "o_paid", "user_id": "u1", "status": "paid", "total_cents": 1000,
         "items": [{"product_id": 1, "qty": 2, "price_cents": 500}]},
        {"order_id": "o_declined", "user_id": "u1", "status": "payment_failed", "total_cents": 500,
         "items": [{"product_id": 1, "qty": 1, "price_cents": 500}]},
        {"order_id": "o_rejected", "user_id": "u2", "status": "rejected", "total_cents": 300,
         "items": [{"product_id": 2, "qty": 9, "price_cents": 300}]},
    ]
    outbox = []
    for o, final in (("o_paid", "order.paid"), ("o_declined", "order.payment_failed"),
                     ("o_rejected", "order.rejected")):
        outbox.append({"event_id": f"e_{o}_created", "type": "order.created", "order_id": o, "delivered": True})
        outbox.append({"event_id": f"e_{o}_final", "type": final, "order_id": o, "delivered": True})
    return AuditData(
        catalog={
            "products": [{"id": 1, "seeded_stock": 10, "stock": 8}, {"id": 2, "seeded_stock": 3, "stock": 3}],
            "reservations": [
                {"order_id": "o_paid", "status": "committed", "items": [{"product_id": 1, "qty": 2}]},
                {"order_id": "o_declined", "status": "released", "items": [{"product_id": 1, "qty": 1}]},
            ],
        },
        orders={"orders": orders, "outbox": outbox, "pending_work": 0},
        payments={"charges": [
            {"charge_id": "ch_1", "order_id": "o_paid", "amount_cents": 1000, "status": "succeeded"},
            {"charge_id": "ch_2", "order_id": "o_declined", "amount_cents": 500, "status": "declined"},
        ]},
        notifications={"events": [
            {"event_id": e["event_id"], "type": e["type"], "order_id": e["order_id"], "received": 1, "applied": 1}
            for e in outbox
        ]},
        unhandled={"orders": 0, "payments": 0, "gateway": 0},
    )


def violations(data: AuditData, **kwargs: bool) -> list[tuple[str, str]]:
    return [(v.invariant, v.message) for v in check_all(data, **kwargs)]


def assert_one(data: AuditData, invariant: str, *ids: str) -> None:
    found = check_all(data)
    assert found, "expected a violation"
    assert {v.invariant for v in found} == {invariant}, found
    named = " ".join(v.message for v in found)
    for i in ids:
        assert i in named, (i, named)


def test_clean_data_has_no_violations() -> None:
    assert violations(clean()) == []


def test_a_second_successful_charge_names_the_order_and_both_charges() -> None:
    data = clean()
    data.payments["charges"].append(
        {"charge_id": "ch_raw", "order_id": "o_paid", "amount_cents": 1000, "status": "succeeded"})
    assert_one(data, "one_charge_per_paid_order", "o_paid", "ch_1", "ch_raw")


def test_a_paid_order_without_a_charge_is_reported() -> None:
    data = clean()
    data.payments["charges"] = data.payments["charges"][1:]
    assert_one(data, "one_charge_per_paid_order", "o_paid")


def test_a_charge_of_the_wrong_amount_is_reported() -> None:
    data = clean()
    data.payments["charges"][0]["amount_cents"] = 999
    assert_one(data, "one_charge_per_paid_order", "o_paid", "999")


def test_a_failed_order_that_was_charged_is_reported() -> None:
    data = clean()
    data.payments["charges"][1]["status"] = "succeeded"
    assert_one(data, "one_charge_per_paid_order", "o_declined", "ch_2")


def test_a_charge_without_an_order_is_reported() -> None:
    data = clean()
    data.payments["charges"].append({"charge_id": "ch_x", "order_id": "o_ghost", "amount_cents": 1,
                                     "status": "succeeded"})
    assert_one(data, "charge_has_order", "ch_x", "o_ghost")


def test_a_pending_order_after_the_drain_is_reported_unless_allowed_with_work_queued() -> None:
    data = clean()
    data.orders["orders"].append({"order_id": "o_stuck", "user_id": "u3", "status": "pending",
                                  "total_cents": 1, "items": []})
    data.orders["outbox"].append({"event_id": "e_stuck", "type": "order.created", "order_id": "o_stuck",
                                  "delivered": True})
    data.notifications["events"].append({"event_id": "e_stuck", "type": "order.created", "order_id": "o_stuck",
                                         "received": 1, "applied": 1})
    data.orders["pending_work"] = 1
    assert_one(data, "order_ends", "o_stuck")
    assert violations(data, allow_pending=True) == []


def test_an_unknown_status_is_reported() -> None:
    data = clean()
    data.orders["orders"][0]["status"] = "shipped"
    assert any(v.invariant == "order_ends" and "o_paid" in v.message for v in check_all(data))


def test_stock_that_does_not_add_up_names_the_product() -> None:
    data = clean()
    data.catalog["products"][0]["stock"] = 7
    assert_one(data, "stock_conserved", "product 1")


def test_a_reservation_left_held_for_a_finished_order_is_reported() -> None:
    data = clean()
    data.catalog["reservations"][1]["status"] = "reserved"
    data.catalog["products"][0]["stock"] = 7  # the held unit is really gone from stock
    assert_one(data, "stock_conserved", "o_declined")


def test_a_paid_order_whose_reservation_was_never_committed_is_reported() -> None:
    data = clean()
    data.catalog["reservations"][0]["status"] = "reserved"
    found = check_all(data)
    assert any("o_paid" in v.message for v in found) and {v.invariant for v in found} == {"stock_conserved"}


def test_negative_stock_is_reported() -> None:
    data = clean()
    data.catalog["products"][1] = {"id": 2, "seeded_stock": -1, "stock": -1}
    assert_one(data, "stock_conserved", "negative")


def test_an_event_applied_twice_is_reported() -> None:
    data = clean()
    data.notifications["events"][0]["applied"] = 2
    assert_one(data, "event_once", "e_o_paid_created", "2 times")


def test_an_undelivered_event_is_reported() -> None:
    data = clean()
    data.orders["outbox"][1]["delivered"] = False
    assert_one(data, "event_once", "e_o_paid_final")


def test_an_event_lost_after_delivery_is_reported() -> None:
    data = clean()
    data.notifications["events"] = data.notifications["events"][1:]
    assert_one(data, "event_once", "e_o_paid_created")


def test_a_second_final_event_for_one_order_is_reported() -> None:
    data = clean()
    extra = {"event_id": "e_dup", "type": "order.paid", "order_id": "o_paid", "delivered": True}
    data.orders["outbox"].append(extra)
    data.notifications["events"].append({**extra, "received": 1, "applied": 1})
    assert_one(data, "event_once", "o_paid", "order.paid 2 times")


def test_an_unhandled_500_names_the_service() -> None:
    data = clean()
    data.unhandled["payments"] = 3
    assert_one(data, "no_unhandled_500", "payments")


def test_a_dead_lettered_message_is_named() -> None:
    data = clean()
    data.notifications["dead_letters"] = [{"message_id": "msg_poison", "reason": "not JSON: Expecting value",
                                           "body_excerpt": "{not json", "dead_at": "2026-12-01T00:00:00+00:00"}]
    assert_one(data, "no_dead_letter", "msg_poison", "not JSON")


def test_confirmed_events_still_in_a_queue_count_as_in_flight_not_lost() -> None:
    data = clean()
    assert in_flight_events(data) == 0
    first = data.orders["outbox"][0]["event_id"]
    data.notifications["events"] = [e for e in data.notifications["events"] if e["event_id"] != first]
    assert in_flight_events(data) == 1


def test_an_unreadable_service_is_a_violation_and_skips_its_checks() -> None:
    data = clean()
    data.unreachable["catalog"] = "ConnectError"
    data.catalog = {"products": [], "reservations": []}
    assert_one(data, "audit_readable", "catalog")


def test_waiting_for_drain_polls_until_zero_and_reports_progress() -> None:
    counts = iter([3, 2, 0])
    messages: list[str] = []
    drained, pending = wait_for_drain(lambda: next(counts), timeout_s=10, progress=messages.append,
                                      sleep=lambda _s: None)
    assert (drained, pending) == (True, 0)
    assert len(messages) == 2 and "3 pending" in messages[0]


def test_waiting_for_drain_gives_up_at_the_deadline() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    drained, pending = wait_for_drain(lambda: 4, timeout_s=1.0, clock=lambda: now[0], sleep=sleep)
    assert (drained, pending) == (False, 4)


def test_run_audit_reads_every_admin_api_with_the_token_and_checks_the_data() -> None:
    data = clean()
    data.payments["charges"].append(
        {"charge_id": "ch_raw", "order_id": "o_paid", "amount_cents": 1000, "status": "succeeded"})
    seen_tokens: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        seen_tokens.add(request.headers.get("Authorization", ""))
        service = request.url.host.split(".")[0]
        if request.url.path == "/admin/unhandled":
            return httpx.Response(200, json={"service": service, "unhandled_errors": 0})
        if request.url.path == "/admin/pending":
            return httpx.Response(200, json={"pending_work": 0})
        return httpx.Response(200, json=copy.deepcopy(getattr(data, service)))

    urls = {s: f"http://{s}.test" for s in ("catalog", "orders", "payments", "notifications", "gateway")}
    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        report = run_audit(urls, "tok", drain_timeout_s=1, http=http)
    assert seen_tokens == {"Bearer tok"}
    assert report.drained and not report.ok
    assert [v.invariant for v in report.violations] == ["one_charge_per_paid_order"]
    assert "o_paid" in report.violations[0].message
    assert report.counts["orders"] == 3


def test_every_invariant_the_audit_can_name_is_documented_and_the_json_points_to_it() -> None:
    # Failed before issue 16: the audit pointed at an ARCHITECTURE.md that is not in the repository.
    doc = (Path(__file__).resolve().parents[2] / "docs" / "invariants.md").read_text()
    headings = set(re.findall(r"^## `([a-z_0-9]+)`", doc, flags=re.M))
    named = set(re.findall(r'Violation\(\s*"([a-z_0-9]+)"', Path(audit_module.__file__).read_text()))
    assert named and named <= set(INVARIANTS) == headings
    assert "ARCHITECTURE" not in Path(audit_module.__file__).read_text()
    report = AuditReport(violations=[Violation("event_once", "event e1 is dead-lettered", ("e1",))],
                         drained=True, pending_work=0)
    [violation] = report.to_dict()["violations"]
    assert violation["invariant"] == "event_once"
    assert violation["doc"] == "docs/invariants.md#event_once"
    assert violation["statement"] == INVARIANTS["event_once"]
