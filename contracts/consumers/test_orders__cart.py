"""Contract orders→cart: checkout reads the cart's lines; the saga clears it; an outage is unavailable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact, match

from contracts.consumer import error_body, open_pact, serve_peer, unavailable_state
from shop.kit.errors import DependencyUnavailable
from shop.orders.clients import CartClient
from shop.orders.model import CartLine, CartView

pytestmark = pytest.mark.contracts

USER_ID = "usr-contract-orders"


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the orders→cart pact."""
    with open_pact("orders", "cart", pact_output_dir) as pact:
        yield pact


def test_orders_reads_the_product_and_quantity_of_each_cart_line(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for a cart with a line")
        .given("the user's cart holds a product", user_id=USER_ID, product_id=1, qty=2)
        .with_request("GET", f"/carts/{USER_ID}")
        .will_respond_with(200)
        .with_body({"items": match.each_like({"product_id": match.int(1), "qty": match.int(2)}, min=1),
                    "version": match.int(2)},
                   content_type="application/json")
    )
    with serve_peer(pact, CartClient) as cart:
        assert cart.get_cart(USER_ID) == CartView([CartLine(product_id=1, qty=2)], 2)


def test_orders_reads_an_empty_cart_as_no_lines(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for an empty cart")
        .given("the user's cart is empty", user_id=USER_ID)
        .with_request("GET", f"/carts/{USER_ID}")
        .will_respond_with(200)
        .with_body({"items": [], "version": match.int(1)}, content_type="application/json")
    )
    with serve_peer(pact, CartClient) as cart:
        assert cart.get_cart(USER_ID) == CartView([], 1)


def test_orders_clears_the_cart_version_of_a_paid_order(pact: Pact) -> None:
    (
        pact.upon_receiving("a request to clear one version of a cart")
        .given("the user's cart holds a product", user_id=USER_ID, product_id=1, qty=2)
        .with_request("DELETE", f"/carts/{USER_ID}")
        .with_query_parameter("version", "2")
        .will_respond_with(200)
    )
    with serve_peer(pact, CartClient) as cart:
        cart.clear_cart(USER_ID, 2)


def test_orders_sees_a_cart_outage_as_unavailable(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for a cart while cart is unavailable")
        .given(unavailable_state("cart"))
        .with_request("GET", f"/carts/{USER_ID}")
        .will_respond_with(503)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, CartClient) as cart, pytest.raises(DependencyUnavailable):
        cart.get_cart(USER_ID)
