"""Contract gateway→cart: the caller's priced cart, adding and removing lines, and the 404/422 passed on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact, match

from contracts.consumer import error_body, open_pact, serve_peer, unavailable_state
from shop.gateway.clients import CartClient
from shop.kit.errors import Conflict, DependencyUnavailable, NotFound, ValidationFailed

pytestmark = pytest.mark.contracts

USER_ID = "usr-contract-gateway"
LINE = {
    "product_id": match.int(1),
    "name": match.str("Espresso cup"),
    "qty": match.int(2),
    "price_cents": match.int(1250),
    "line_total_cents": match.int(2500),
}


def _cart(*, min_lines: int = 1) -> dict[str, object]:
    items: object = match.each_like(LINE, min=min_lines) if min_lines else []
    return {"user_id": USER_ID, "items": items, "total_cents": match.int(2500 if min_lines else 0)}


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the gateway→cart pact."""
    with open_pact("gateway", "cart", pact_output_dir) as pact:
        yield pact


def test_gateway_shows_the_callers_priced_cart(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for the caller's cart")
        .given("the user's cart holds a product", user_id=USER_ID, product_id=1, qty=2)
        .with_request("GET", f"/carts/{USER_ID}")
        .with_header("X-User-ID", USER_ID)
        .will_respond_with(200)
        .with_body(_cart(), content_type="application/json")
    )
    with serve_peer(pact, CartClient) as cart:
        body = cart.get_cart(USER_ID)
    assert body["total_cents"] == 2500


def test_gateway_adds_units_of_a_product_and_gets_the_cart_back(pact: Pact) -> None:
    (
        pact.upon_receiving("a request to add a product to the cart")
        .given("the user's cart is empty", user_id=USER_ID)
        .with_request("POST", f"/carts/{USER_ID}/items")
        .with_header("X-User-ID", USER_ID)
        .with_body({"product_id": 1, "qty": 2}, content_type="application/json")
        .will_respond_with(200)
        .with_body(_cart(), content_type="application/json")
    )
    with serve_peer(pact, CartClient) as cart:
        body = cart.add_item(USER_ID, {"product_id": 1, "qty": 2})
    assert body["items"][0]["qty"] == 2


def test_gateway_passes_on_404_for_an_unknown_product(pact: Pact) -> None:
    (
        pact.upon_receiving("a request to add an unknown product")
        .given("product 999999 does not exist", user_id=USER_ID, product_id=999999)
        .with_request("POST", f"/carts/{USER_ID}/items")
        .with_header("X-User-ID", USER_ID)
        .with_body({"product_id": 999999, "qty": 1}, content_type="application/json")
        .will_respond_with(404)
        .with_body(error_body("unknown_product"), content_type="application/json")
    )
    with serve_peer(pact, CartClient) as cart, pytest.raises(NotFound):
        cart.add_item(USER_ID, {"product_id": 999999, "qty": 1})


def test_gateway_passes_on_422_for_a_quantity_cart_refuses(pact: Pact) -> None:
    (
        pact.upon_receiving("a request to add a non-positive quantity")
        .given("the user's cart is empty", user_id=USER_ID)
        .with_request("POST", f"/carts/{USER_ID}/items")
        .with_header("X-User-ID", USER_ID)
        .with_body({"product_id": 1, "qty": 0}, content_type="application/json")
        .will_respond_with(422)
        .with_body(error_body("validation_failed"), content_type="application/json")
    )
    with serve_peer(pact, CartClient) as cart, pytest.raises(ValidationFailed):
        cart.add_item(USER_ID, {"product_id": 1, "qty": 0})


def test_gateway_passes_on_409_when_a_line_would_pass_the_quantity_limit(pact: Pact) -> None:
    (
        pact.upon_receiving("a request to add past the line limit")
        .given("the user's cart holds a product", user_id=USER_ID, product_id=1, qty=100)
        .with_request("POST", f"/carts/{USER_ID}/items")
        .with_header("X-User-ID", USER_ID)
        .with_body({"product_id": 1, "qty": 1}, content_type="application/json")
        .will_respond_with(409)
        .with_body(error_body("qty_limit"), content_type="application/json")
    )
    with serve_peer(pact, CartClient) as cart, pytest.raises(Conflict) as caught:
        cart.add_item(USER_ID, {"product_id": 1, "qty": 1})
    assert caught.value.code == "qty_limit"


def test_gateway_removes_a_product_and_gets_the_cart_back(pact: Pact) -> None:
    (
        pact.upon_receiving("a request to remove a product from the cart")
        .given("the user's cart holds a product", user_id=USER_ID, product_id=1, qty=2)
        .with_request("DELETE", f"/carts/{USER_ID}/items/1")
        .with_header("X-User-ID", USER_ID)
        .will_respond_with(200)
        .with_body(_cart(min_lines=0), content_type="application/json")
    )
    with serve_peer(pact, CartClient) as cart:
        assert cart.remove_item(USER_ID, 1)["items"] == []


def test_gateway_sees_a_cart_outage_as_unavailable(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for the caller's cart while cart is unavailable")
        .given(unavailable_state("cart"))
        .with_request("GET", f"/carts/{USER_ID}")
        .with_header("X-User-ID", USER_ID)
        .will_respond_with(503)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, CartClient) as cart, pytest.raises(DependencyUnavailable):
        cart.get_cart(USER_ID)
