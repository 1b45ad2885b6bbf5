"""Contract orders→catalog: pricing at checkout, and the saga's reserve / commit / release of stock."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from pact import Pact, match
from pact.interaction import HttpInteraction

from contracts.consumer import Matcher, error_body, from_state, open_pact, serve_peer, unavailable_state
from shop.kit.errors import DependencyUnavailable
from shop.orders.clients import CatalogClient
from shop.orders.model import OrderItem, ReservationOutcome

pytestmark = pytest.mark.contracts

ORDER_ID = "ord-contract-1"
ORDER_ID_RE = r"^[A-Za-z0-9_.:-]+$"
ITEMS = [OrderItem(product_id=1, qty=2, price_cents=1250)]


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the orders→catalog pact."""
    with open_pact("orders", "catalog", pact_output_dir) as pact:
        yield pact


def _complaints(logged: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    # The client answers commit and release with nothing; what it thinks of the body shows
    # in what it logs: a refusal it could not read as success is a warning or an error.
    return [entry for entry in logged if entry.get("log_level") in ("warning", "error")]


def _order_id() -> Matcher:
    return from_state("${order_id}", ORDER_ID)


def _order_path(action: str) -> Matcher:
    return from_state(f"/reservations/${{order_id}}/{action}", f"/reservations/{ORDER_ID}/{action}",
                      regex=rf"^/reservations/[A-Za-z0-9_.:-]+/{action}$")


def _reserve(pact: Pact, description: str, state: str, *, product_id: int = 1, qty: int = 2, **params: object) -> HttpInteraction:
    return (
        pact.upon_receiving(description)
        .given(state, product_id=product_id, qty=qty, **params)
        .with_request("POST", "/reservations")
        .with_header("Idempotency-Key", _order_id())
        .with_body({"order_id": _order_id(), "items": [{"product_id": product_id, "qty": qty}]},
                   content_type="application/json")
    )


def test_orders_prices_a_product_at_checkout(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for one product to price it")
        .given("product 1 exists", product_id=1)
        .with_request("GET", "/products/1")
        .will_respond_with(200)
        # Orders decodes the product with the shop's one product decoder (shop.kit.wire), which reads
        # every field catalog answers; orders itself keeps the id, the name and the price.
        .with_body({"id": match.int(1), "name": match.str("Espresso cup"), "category": match.str("kitchen"),
                    "price_cents": match.int(1250), "stock": match.int(10)},
                   content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog:
        product = catalog.get_product(1)
    assert product is not None
    assert (product.product_id, product.name, product.price_cents) == (1, "Espresso cup", 1250)


def test_orders_learns_that_a_product_in_the_cart_is_gone(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for an unknown product to price it")
        .given("product 999999 does not exist", product_id=999999)
        .with_request("GET", "/products/999999")
        .will_respond_with(404)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog:
        assert catalog.get_product(999999) is None


def test_orders_reserves_stock_for_a_new_order(pact: Pact) -> None:
    interaction = _reserve(pact, "a reservation for a new order", "the order has no reservation yet")
    interaction.will_respond_with(201).with_body(
        {"order_id": _order_id(), "status": "reserved",
         "items": match.each_like({"product_id": match.int(1), "qty": match.int(2)}, min=1)},
        content_type="application/json",
    )
    with serve_peer(pact, CatalogClient) as catalog:
        assert catalog.reserve(ORDER_ID, ITEMS).outcome is ReservationOutcome.RESERVED


def test_orders_gets_the_same_reservation_when_it_repeats_one(pact: Pact) -> None:
    interaction = _reserve(pact, "a repeated reservation for an order", "the order holds a reservation")
    interaction.will_respond_with(200).with_body({"order_id": _order_id(), "status": "reserved"}, content_type="application/json")
    with serve_peer(pact, CatalogClient) as catalog:
        assert catalog.reserve(ORDER_ID, ITEMS).outcome is ReservationOutcome.RESERVED


def test_orders_learns_which_product_lacks_stock(pact: Pact) -> None:
    _reserve(
        pact, "a reservation for more than the stock", "product 1 has less stock than requested", qty=10000
    ).will_respond_with(409).with_body(
        error_body("insufficient_stock", details={"product_id": 1, "requested": 10000,
                                                   "available": match.int(5)}),
        content_type="application/json",
    )
    with serve_peer(pact, CatalogClient) as catalog:
        reservation = catalog.reserve(ORDER_ID, [OrderItem(product_id=1, qty=10000, price_cents=1250)])
    assert reservation.outcome is ReservationOutcome.INSUFFICIENT_STOCK


def test_orders_commits_a_reservation_once_the_charge_succeeded(pact: Pact) -> None:
    (
        pact.upon_receiving("a commit of a reservation")
        .given("the order holds a reservation", product_id=1, qty=2)
        .with_request("POST", _order_path("commit"))
        .with_header("Idempotency-Key", _order_id())
        .will_respond_with(200)
        .with_body({"status": "committed"}, content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog, structlog.testing.capture_logs() as logged:
        catalog.commit(ORDER_ID)  # raises nothing
    assert _complaints(logged) == [], "orders must read this answer as a committed reservation"


def test_orders_releases_a_reservation_after_a_declined_charge(pact: Pact) -> None:
    (
        pact.upon_receiving("a release of a reservation")
        .given("the order holds a reservation", product_id=1, qty=2)
        .with_request("POST", _order_path("release"))
        .with_header("Idempotency-Key", _order_id())
        .will_respond_with(200)
        .with_body({"status": "released"}, content_type="application/json")
    )
    with serve_peer(pact, CatalogClient) as catalog, structlog.testing.capture_logs() as logged:
        catalog.release(ORDER_ID)  # raises nothing
    assert _complaints(logged) == [], "orders must read this answer as a released reservation"


def test_orders_sees_a_catalog_outage_as_unavailable_so_the_worker_retries(pact: Pact) -> None:
    interaction = _reserve(pact, "a reservation while catalog is unavailable", unavailable_state("catalog"))
    interaction.will_respond_with(503).with_body(error_body(), content_type="application/json")
    with serve_peer(pact, CatalogClient) as catalog, pytest.raises(DependencyUnavailable):
        catalog.reserve(ORDER_ID, ITEMS)


def test_orders_gets_a_refusal_it_does_not_retry_for_a_product_catalog_no_longer_has(pact: Pact) -> None:
    interaction = _reserve(pact, "a reservation for an unknown product", "product 999999 does not exist",
                           product_id=999999, qty=1)
    interaction.will_respond_with(404).with_body(error_body("unknown_product"), content_type="application/json")
    with serve_peer(pact, CatalogClient) as catalog:
        reservation = catalog.reserve(ORDER_ID, [OrderItem(product_id=999999, qty=1, price_cents=100)])
    assert (reservation.outcome, reservation.detail) == (ReservationOutcome.REFUSED, "unknown_product")
