"""Contract cart→catalog: cart prices lines from a product, knows an unknown one, and sees an outage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact, match

from contracts.consumer import error_body, open_pact, serve_peer, unavailable_state
from shop.cart.clients import CatalogClient
from shop.kit.errors import DependencyUnavailable

pytestmark = pytest.mark.contracts

PRODUCT = {"id": match.int(1), "name": match.str("Espresso cup"), "price_cents": match.int(1250)}


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the cart→catalog pact."""
    with open_pact("cart", "catalog", pact_output_dir) as pact:
        yield pact


def test_cart_reads_a_products_name_and_price(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for one product")
        .given("product 1 exists", product_id=1)
        .with_request("GET", "/products/1")
        .will_respond_with(200)
        .with_body(PRODUCT, content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog:
        product = catalog.get_product(1)
    assert product is not None
    assert (product.id, product.name, product.price_cents) == (1, "Espresso cup", 1250)


def test_cart_learns_that_an_unknown_product_does_not_exist(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for an unknown product")
        .given("product 999999 does not exist", product_id=999999)
        .with_request("GET", "/products/999999")
        .will_respond_with(404)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog:
        assert catalog.get_product(999999) is None


def test_cart_lists_every_product_by_id(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for every product")
        .given("the catalog has products")
        .with_request("GET", "/products")
        .will_respond_with(200)
        .with_body({"items": match.each_like(PRODUCT, min=1)}, content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog:
        products = catalog.list_products()
    assert products[1].name == "Espresso cup"


def test_cart_turns_a_catalog_outage_into_unavailable(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for one product while catalog is unavailable")
        .given(unavailable_state("catalog"))
        .with_request("GET", "/products/1")
        .will_respond_with(503)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog, pytest.raises(DependencyUnavailable):
        catalog.get_product(1)
