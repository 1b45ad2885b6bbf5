"""Contract orders→payments: the saga's charge, its decline, its idempotent repeat and an outage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact, match
from pact.interaction import HttpInteraction

from contracts.consumer import error_body, from_state, open_pact, serve_peer, unavailable_state
from shop.kit.errors import DependencyUnavailable
from shop.orders.clients import PaymentsClient

pytestmark = pytest.mark.contracts

DECLINED_CARD = "4000000000000002"
ORDER_ID = "ord-contract-1"


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the orders→payments pact."""
    with open_pact("orders", "payments", pact_output_dir) as pact:
        yield pact


def _charge(pact: Pact, description: str, state: str, *, card: str | None = None) -> HttpInteraction:
    request: dict[str, object] = {"order_id": from_state("${order_id}", ORDER_ID), "amount_cents": 4200}
    if card:
        request["card"] = card
    return (
        pact.upon_receiving(description)
        .given(state, amount_cents=4200)
        .with_request("POST", "/charges")
        .with_header("Idempotency-Key", from_state("${order_id}", ORDER_ID))
        .with_body(request, content_type="application/json")
    )


def _charge_body(status: str) -> dict[str, object]:
    return {
        "charge_id": match.str("ch_7d1f0c2a"),
        "order_id": from_state("${order_id}", ORDER_ID),
        "status": status,
        "amount_cents": match.int(4200),
    }


def test_orders_charges_an_order_once_and_reads_the_charge_id(pact: Pact) -> None:
    interaction = _charge(pact, "a first charge of an order", "the order has no charge yet")
    interaction.will_respond_with(201).with_body(_charge_body("succeeded"), content_type="application/json")
    with serve_peer(pact, PaymentsClient) as payments:
        charge = payments.charge(ORDER_ID, 4200, None)
    assert (charge.charge_id, charge.status) == ("ch_7d1f0c2a", "succeeded")


def test_orders_sees_a_declined_charge_for_the_decline_test_card(pact: Pact) -> None:
    interaction = _charge(pact, "a charge with the decline test card", "the order has no charge yet",
                          card=DECLINED_CARD)
    interaction.will_respond_with(201).with_body(_charge_body("declined"), content_type="application/json")
    with serve_peer(pact, PaymentsClient) as payments:
        assert payments.charge(ORDER_ID, 4200, DECLINED_CARD).status == "declined"


def test_orders_gets_the_first_charge_back_when_it_repeats_the_idempotency_key(pact: Pact) -> None:
    interaction = _charge(pact, "a repeated charge of an order", "the order was already charged")
    interaction.will_respond_with(200).with_body(_charge_body("succeeded"), content_type="application/json")
    with serve_peer(pact, PaymentsClient) as payments:
        charge = payments.charge(ORDER_ID, 4200, None)
    assert (charge.charge_id, charge.status) == ("ch_7d1f0c2a", "succeeded")


def test_orders_treats_a_payments_outage_as_unavailable_so_the_worker_retries(pact: Pact) -> None:
    interaction = _charge(pact, "a charge while payments is unavailable", unavailable_state("payments"))
    interaction.will_respond_with(503).with_body(error_body(), content_type="application/json")
    with serve_peer(pact, PaymentsClient) as payments, pytest.raises(DependencyUnavailable):
        payments.charge(ORDER_ID, 4200, None)


def test_orders_gets_a_refusal_it_does_not_retry_when_the_key_was_used_for_another_amount(pact: Pact) -> None:
    (
        pact.upon_receiving("a charge reusing an order's key for another amount")
        .given("the order was already charged", amount_cents=4200)
        .with_request("POST", "/charges")
        .with_header("Idempotency-Key", from_state("${order_id}", ORDER_ID))
        .with_body({"order_id": from_state("${order_id}", ORDER_ID), "amount_cents": 9900},
                   content_type="application/json")
        .will_respond_with(409)
        .with_body(error_body("idempotency_key_reused"), content_type="application/json")
    )
    with serve_peer(pact, PaymentsClient) as payments:
        charge = payments.charge(ORDER_ID, 9900, None)
    assert (charge.status, charge.detail) == ("refused", "idempotency_key_reused")
