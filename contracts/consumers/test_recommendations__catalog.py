"""Contract recommendations→catalog: it reads the whole catalog, and sees an outage (then degrades)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact, match

from contracts.consumer import error_body, open_pact, serve_peer, unavailable_state
from shop.kit.errors import DependencyUnavailable
from shop.recommendations.clients import CatalogClient

pytestmark = pytest.mark.contracts


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the recommendations→catalog pact."""
    with open_pact("recommendations", "catalog", pact_output_dir) as pact:
        yield pact


def test_recommendations_reads_category_and_stock_of_every_product(pact: Pact) -> None:
    product = {
        "id": match.int(3),
        "name": match.str("Pour-over kettle"),
        "price_cents": match.int(3900),
        "category": match.str("brewing"),
        "stock": match.int(12),
    }
    (
        pact.upon_receiving("a request for every product")
        .given("the catalog has products")
        .with_request("GET", "/products")
        .will_respond_with(200)
        .with_body({"items": match.each_like(product, min=1)}, content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog:
        products = catalog.list_products()
    assert [(p.id, p.category, p.stock) for p in products] == [(3, "brewing", 12)]


def test_recommendations_sees_a_catalog_outage_as_unavailable(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for every product while catalog is unavailable")
        .given(unavailable_state("catalog"))
        .with_request("GET", "/products")
        .will_respond_with(503)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog, pytest.raises(DependencyUnavailable):
        catalog.list_products()
