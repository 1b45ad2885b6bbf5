"""Contract gateway→orders: checkout (new and repeated key), the empty-cart 409, reads by the owner only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact, match
from pact.interaction import HttpInteraction

from contracts.consumer import Matcher, error_body, from_state, open_pact, serve_peer, unavailable_state
from shop.gateway.clients import OrdersClient
from shop.kit.errors import Conflict, DependencyUnavailable, NotFound

pytestmark = pytest.mark.contracts

USER_ID = "usr-contract-1"
ORDER_ID = "ord-contract-1"
KEY = "key-contract-1"
ORDER = {"order_id": match.str(ORDER_ID), "status": match.str("pending")}


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the gateway→orders pact."""
    with open_pact("gateway", "orders", pact_output_dir) as pact:
        yield pact


def _user() -> Matcher:
    return from_state("${user_id}", USER_ID)


def _checkout(pact: Pact, description: str, state: str, **params: object) -> HttpInteraction:
    return (
        pact.upon_receiving(description)
        .given(state, **params)
        .with_request("POST", "/orders")
        .with_header("X-User-ID", _user())
        .with_header("Idempotency-Key", from_state("${idempotency_key}", KEY))
        .with_body({"user_id": _user()}, content_type="application/json")
    )


def test_gateway_checks_out_the_callers_cart_as_a_pending_order(pact: Pact) -> None:
    _checkout(pact, "a checkout of a cart with a product", "the user's cart holds a product",
              product_id=1, qty=1).will_respond_with(201).with_body(
        {"order_id": match.str(ORDER_ID), "status": "pending"}, content_type="application/json"
    )
    with serve_peer(pact, OrdersClient) as orders:
        order, status = orders.checkout(USER_ID, card=None, idempotency_key=KEY)
    assert (status, order["status"]) == (201, "pending")


def test_gateway_gets_the_same_order_back_for_a_repeated_idempotency_key(pact: Pact) -> None:
    _checkout(pact, "a repeated checkout with the same key", "the user already checked out with the key",
              product_id=1, qty=1).will_respond_with(200).with_body(
        {"order_id": from_state("${order_id}", ORDER_ID), "status": match.str("pending")},
        content_type="application/json",
    )
    with serve_peer(pact, OrdersClient) as orders:
        order, status = orders.checkout(USER_ID, card=None, idempotency_key=KEY)
    assert (status, order["order_id"]) == (200, ORDER_ID)


def test_gateway_passes_on_409_for_an_empty_cart(pact: Pact) -> None:
    interaction = _checkout(pact, "a checkout of an empty cart", "the user's cart is empty")
    interaction.will_respond_with(409).with_body(error_body(), content_type="application/json")
    with serve_peer(pact, OrdersClient) as orders, pytest.raises(Conflict):
        orders.checkout(USER_ID, card=None, idempotency_key=KEY)


def test_gateway_reads_one_of_the_callers_orders(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for the caller's order")
        .given("the user has an order", product_id=1, qty=1)
        .with_request("GET", from_state("/orders/${order_id}", f"/orders/{ORDER_ID}", regex=r"^/orders/[^/]+$"))
        .with_header("X-User-ID", _user())
        .will_respond_with(200)
        .with_body({"order_id": from_state("${order_id}", ORDER_ID), "status": match.str("pending")},
                   content_type="application/json")
    )
    with serve_peer(pact, OrdersClient) as orders:
        assert orders.get_order(USER_ID, ORDER_ID)["order_id"] == ORDER_ID


def test_gateway_passes_on_404_for_someone_elses_order(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for another user's order")
        .given("the user has an order", product_id=1, qty=1)
        .with_request("GET", from_state("/orders/${order_id}", f"/orders/{ORDER_ID}", regex=r"^/orders/[^/]+$"))
        .with_header("X-User-ID", "usr-someone-else")
        .will_respond_with(404)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, OrdersClient) as orders, pytest.raises(NotFound):
        orders.get_order("usr-someone-else", ORDER_ID)


def test_gateway_reads_the_emails_sent_about_one_of_the_callers_orders(pact: Pact) -> None:
    email = {
        "event_id": match.str("evt-contract-1"),
        "type": match.str("order.created"),
        "order_id": match.str(ORDER_ID),
        "subject": match.str("We received your order ord-contract-1"),
        "body": match.str("We received your order ord-contract-1."),
        "sent_at": match.str("2026-11-22T00:00:00+00:00"),
    }
    (
        pact.upon_receiving("a request for the emails about the caller's order")
        .given("the user was sent an email about an order", product_id=1, qty=1)
        .with_request("GET", from_state("/orders/${order_id}/notifications", f"/orders/{ORDER_ID}/notifications",
                                        regex=r"^/orders/[^/]+/notifications$"))
        .with_header("X-User-ID", _user())
        .will_respond_with(200)
        .with_body({"items": match.each_like(email, min=1)}, content_type="application/json")
    )
    with serve_peer(pact, OrdersClient) as orders:
        items = orders.get_notifications(USER_ID, ORDER_ID)["items"]
    assert items[0]["type"] == "order.created"


def test_gateway_passes_on_404_for_the_emails_of_someone_elses_order(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for the emails about another user's order")
        .given("the user has an order", product_id=1, qty=1)
        .with_request("GET", from_state("/orders/${order_id}/notifications", f"/orders/{ORDER_ID}/notifications",
                                        regex=r"^/orders/[^/]+/notifications$"))
        .with_header("X-User-ID", "usr-someone-else")
        .will_respond_with(404)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, OrdersClient) as orders, pytest.raises(NotFound):
        orders.get_notifications("usr-someone-else", ORDER_ID)


def test_gateway_lists_the_callers_orders(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for the caller's orders")
        .given("the user has an order", product_id=1, qty=1)
        .with_request("GET", "/orders")
        .with_query_parameter("user_id", _user())
        .with_header("X-User-ID", _user())
        .will_respond_with(200)
        .with_body({"items": match.each_like(ORDER, min=1)}, content_type="application/json")
    )
    with serve_peer(pact, OrdersClient) as orders:
        assert orders.list_orders(USER_ID)["items"][0]["order_id"] == ORDER_ID


def test_gateway_sees_an_orders_outage_as_unavailable(pact: Pact) -> None:
    interaction = _checkout(pact, "a checkout while orders is unavailable", unavailable_state("orders"))
    interaction.will_respond_with(503).with_body(error_body(), content_type="application/json")
    with serve_peer(pact, OrdersClient) as orders, pytest.raises(DependencyUnavailable):
        orders.checkout(USER_ID, card=None, idempotency_key=KEY)
