"""Contract gateway→recommendations: suggestions for a product page, or none (degraded) on an outage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact, match

from contracts.consumer import error_body, open_pact, serve_peer, unavailable_state
from shop.gateway.clients import RecommendationsClient

pytestmark = pytest.mark.contracts


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the gateway→recommendations pact."""
    with open_pact("gateway", "recommendations", pact_output_dir) as pact:
        yield pact


def test_gateway_shows_suggested_products_on_a_product_page(pact: Pact) -> None:
    suggestion = {"id": match.int(2), "name": match.str("Saucer"), "price_cents": match.int(450)}
    (
        pact.upon_receiving("a request for suggestions for a product")
        .given("product 1 has suggestions", product_id=1)
        .with_request("GET", "/recommendations/1")
        .with_query_parameter("limit", "4")
        .will_respond_with(200)
        .with_body({"items": match.each_like(suggestion, min=1)}, content_type="application/json")
    )
    with serve_peer(pact, RecommendationsClient) as recommendations:
        items = recommendations.suggest(1, limit=4)
    assert items == [{"id": 2, "name": "Saucer", "price_cents": 450}]


def test_gateway_degrades_to_no_suggestions_when_recommendations_is_unavailable(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for suggestions while recommendations is unavailable")
        .given(unavailable_state("recommendations"))
        .with_request("GET", "/recommendations/1")
        .with_query_parameter("limit", "4")
        .will_respond_with(503)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, RecommendationsClient) as recommendations:
        assert recommendations.suggest(1, limit=4) is None


def test_gateway_degrades_to_no_suggestions_for_a_product_recommendations_does_not_know(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for suggestions for an unknown product")
        .given("product 999999 does not exist", product_id=999999)
        .with_request("GET", "/recommendations/999999")
        .with_query_parameter("limit", "4")
        .will_respond_with(404)
        .with_body(error_body("unknown_product"), content_type="application/json")
    )
    with serve_peer(pact, RecommendationsClient) as recommendations:
        assert recommendations.suggest(999999, limit=4) is None
