"""Typed wrappers over the resilient client for the peers of orders.

Transport failures, timeouts and 5xx come out of ``ResilientClient`` as the kit's
``DependencyUnavailable`` / ``DependencyTimeout``; the worker retries those on its
next pass. A 4xx that no retry can fix becomes a domain answer (``Reservation``,
``Charge``) so the saga can end the order instead of retrying it forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from shop.kit.peers import get_error, get_error_code, get_json, path_segment, unexpected_status
from shop.kit.resilience import ResilientClient
from shop.kit.wire import decode_product
from shop.orders.model import (
    CartLine,
    Charge,
    OrderItem,
    OutboxEvent,
    ProductInfo,
    Reservation,
    ReservationOutcome,
)

log = structlog.get_logger(__name__)


class CartClient:
    """Read and clear carts through the ``orders__cart`` edge."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def get_cart(self, user_id: str) -> list[CartLine]:
        """Return the user's cart lines (an unknown user has an empty cart)."""
        resp = self.client.get(f"/carts/{path_segment(user_id)}")
        if resp.status_code == 404:
            return []
        if resp.status_code != 200:
            raise unexpected_status(resp, "cart", "GET /carts")
        items = get_json(resp, "cart").get("items", [])
        return [CartLine(product_id=int(i["product_id"]), qty=int(i["qty"])) for i in items]

    def clear_cart(self, user_id: str) -> None:
        """Empty the user's cart (idempotent)."""
        resp = self.client.delete(f"/carts/{path_segment(user_id)}")
        if resp.status_code not in (200, 204, 404):
            raise unexpected_status(resp, "cart", "DELETE /carts")


class CatalogClient:
    """Price products and hold stock through the ``orders__catalog`` edge."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def get_product(self, product_id: int) -> ProductInfo | None:
        """Return the product's current name and price, or None when it is unknown."""
        resp = self.client.get(f"/products/{product_id}")
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise unexpected_status(resp, "catalog", "GET /products")
        product = decode_product(get_json(resp, "catalog"))
        return ProductInfo(product_id=product.id, name=product.name, price_cents=product.price_cents)

    def reserve(self, order_id: str, items: Sequence[OrderItem]) -> Reservation:
        """Hold stock for the order (idempotent per order id)."""
        resp = self.client.post(
            "/reservations",
            json={"order_id": order_id, "items": [{"product_id": i.product_id, "qty": i.qty} for i in items]},
            idempotency_key=order_id,
        )
        if resp.status_code in (200, 201):
            return Reservation(ReservationOutcome.RESERVED)
        if resp.status_code == 409:
            error = get_error(resp)
            detail = str(error.get("details") or error.get("message") or "")
            return Reservation(ReservationOutcome.INSUFFICIENT_STOCK, detail[:200])
        if 400 <= resp.status_code < 500:
            return Reservation(ReservationOutcome.REFUSED, get_error_code(resp))
        raise unexpected_status(resp, "catalog", "POST /reservations")

    def commit(self, order_id: str) -> None:
        """Turn the order's reservation into a sale (idempotent)."""
        resp = self.client.post(f"/reservations/{path_segment(order_id)}/commit", idempotency_key=order_id)
        if resp.status_code != 200:
            # No retry fixes a 4xx here; the audit's stock check reports the drift.
            log.warning("reservation_commit_refused", order_id=order_id, status=resp.status_code,
                        code=get_error_code(resp))

    def release(self, order_id: str) -> None:
        """Give the order's reserved stock back (idempotent; no-op when nothing is held)."""
        resp = self.client.post(f"/reservations/{path_segment(order_id)}/release", idempotency_key=order_id)
        if resp.status_code not in (200, 404):
            log.warning("reservation_release_refused", order_id=order_id, status=resp.status_code,
                        code=get_error_code(resp))


class PaymentsClient:
    """Charge orders through the ``orders__payments`` edge (Idempotency-Key = order id)."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def charge(self, order_id: str, amount_cents: int, card: str | None) -> Charge:
        """Charge the order once; a repeat answers the first charge."""
        body: dict[str, Any] = {"order_id": order_id, "amount_cents": amount_cents}
        if card:
            body["card"] = card
        resp = self.client.post("/charges", json=body, idempotency_key=order_id)
        if resp.status_code in (200, 201):
            data = get_json(resp, "payments")
            return Charge(charge_id=str(data["charge_id"]), status=str(data["status"]))
        if 400 <= resp.status_code < 500:
            return Charge(charge_id="", status="refused", detail=get_error_code(resp))
        raise unexpected_status(resp, "payments", "POST /charges")


class NotificationsClient:
    """Deliver order events through the ``orders__notifications`` edge."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def deliver(self, event: OutboxEvent) -> None:
        """Post one event (idempotent per event id: 201 first time, 200 repeat)."""
        resp = self.client.post(
            "/events",
            json={"event_id": event.event_id, "type": event.type, "order_id": event.order_id,
                  "user_id": event.user_id, "payload": event.payload},
            idempotency_key=event.event_id,
        )
        if resp.status_code not in (200, 201):
            raise unexpected_status(resp, "notifications", "POST /events")

    def list_for_order(self, user_id: str, order_id: str) -> list[dict[str, Any]]:
        """Return the emails sent to ``user_id`` about one order, oldest first."""
        resp = self.client.get("/notifications", params={"user_id": user_id})
        if resp.status_code != 200:
            raise unexpected_status(resp, "notifications", "GET /notifications")
        items = get_json(resp, "notifications").get("items", [])
        return [i for i in items if isinstance(i, dict) and i.get("order_id") == order_id]

