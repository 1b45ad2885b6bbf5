"""Contract gateway→catalog: the public product list and product page, a 404 passed on, and an outage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact, match

from contracts.consumer import error_body, open_pact, serve_peer, unavailable_state
from shop.gateway.clients import CatalogClient
from shop.kit.errors import DependencyUnavailable, NotFound

pytestmark = pytest.mark.contracts

PRODUCT = {
    "id": match.int(1),
    "name": match.str("Espresso cup"),
    "price_cents": match.int(1250),
    "stock": match.int(40),
    "category": match.str("cups"),
}


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the gateway→catalog pact."""
    with open_pact("gateway", "catalog", pact_output_dir) as pact:
        yield pact


def test_gateway_lists_the_products_with_price_stock_and_category(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for every product")
        .given("the catalog has products")
        .with_request("GET", "/products")
        .will_respond_with(200)
        .with_body({"items": match.each_like(PRODUCT, min=1)}, content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog:
        items = catalog.list_products()
    assert items[0].category == "cups"


def test_gateway_reads_one_product_for_its_page(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for one product")
        .given("product 1 exists", product_id=1)
        .with_request("GET", "/products/1")
        .will_respond_with(200)
        .with_body(PRODUCT, content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog:
        assert catalog.get_product(1).stock == 40


def test_gateway_passes_on_404_for_an_unknown_product(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for an unknown product")
        .given("product 999999 does not exist", product_id=999999)
        .with_request("GET", "/products/999999")
        .will_respond_with(404)
        .with_body(error_body("unknown_product"), content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog, pytest.raises(NotFound) as caught:
        catalog.get_product(999999)
    assert caught.value.code == "unknown_product"


def test_gateway_sees_a_catalog_outage_as_unavailable(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for every product while catalog is unavailable")
        .given(unavailable_state("catalog"))
        .with_request("GET", "/products")
        .will_respond_with(503)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog, pytest.raises(DependencyUnavailable):
        catalog.list_products()
