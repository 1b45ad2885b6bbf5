"""Typed wrappers over the resilient client for the peers of orders.

Transport failures, timeouts and 5xx come out of ``ResilientClient`` as the kit's
``DependencyUnavailable`` / ``DependencyTimeout``; the worker retries those on its
next pass. So do the 4xx answers that only mean "not now" (408, 425, 429 and the
``injected_fault`` of ``/admin/faults``), with their ``Retry-After`` kept in
``details["retry_after_s"]`` for the worker to wait out. Any other 4xx, which no retry
can fix, becomes a domain answer (``Reservation``, ``Charge``) so the saga can end the
order instead of retrying it forever.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import structlog

from shop.kit.broker import BrokerUnavailable, ConfirmingPublisher, Message
from shop.kit.errors import DependencyUnavailable
from shop.kit.peers import get_error, get_error_code, get_json, path_segment, unexpected_status
from shop.kit.resilience import ResilientClient
from shop.kit.telemetry import inject_context
from shop.kit.wire import decode_product
from shop.orders.model import (
    CartLine,
    CartView,
    Charge,
    EventRejected,
    OrderItem,
    OutboxEvent,
    ProductInfo,
    Reservation,
    ReservationOutcome,
)
from shop.topology import BROKER

log = structlog.get_logger(__name__)

# 4xx answers that say "not now" rather than "never": Request Timeout, Too Early, Too Many Requests.
TRANSIENT_4XX = frozenset({408, 425, 429})


def is_transient(resp: httpx.Response) -> bool:
    """Say whether a 4xx answer only delays the call (a retry later may succeed)."""
    return resp.status_code in TRANSIENT_4XX or get_error_code(resp) == "injected_fault"


def transient_refusal(resp: httpx.Response, dependency: str, what: str) -> DependencyUnavailable:
    """Return the retryable error for a transient answer, keeping its status and ``Retry-After`` in details."""
    details: dict[str, float | int] = {"status": resp.status_code}
    raw = (resp.headers.get("Retry-After") or "").strip()
    try:
        details["retry_after_s"] = max(0.0, float(raw))
    except ValueError:
        pass  # an HTTP-date or nothing: the worker's own backoff applies
    return DependencyUnavailable(f"{dependency} answered {resp.status_code} ({get_error_code(resp)}) to {what}",
                                 dependency=dependency, details=details)


class CommitRefused(DependencyUnavailable):
    """The catalog refused to make the order's reservation final: the order must not be marked paid."""


class CartClient:
    """Read and clear carts through the ``orders__cart`` edge."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def get_cart(self, user_id: str) -> CartView:
        """Return the user's cart lines and version (an unknown user has an empty cart)."""
        resp = self.client.get(f"/carts/{path_segment(user_id)}")
        if resp.status_code == 404:
            return CartView([])
        if resp.status_code != 200:
            raise unexpected_status(resp, "cart", "GET /carts")
        body = get_json(resp, "cart")
        items = body.get("items", [])
        version = body.get("version")
        return CartView([CartLine(product_id=int(i["product_id"]), qty=int(i["qty"])) for i in items],
                        int(version) if isinstance(version, int) else None)

    def clear_cart(self, user_id: str, version: int | None = None) -> None:
        """Empty the user's cart, or only what ``version`` held (idempotent)."""
        params = {"version": str(version)} if version is not None else None
        resp = self.client.delete(f"/carts/{path_segment(user_id)}", params=params)
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
            # A repeat answers the existing reservation, which may be released (or committed) by now.
            status = str(get_json(resp, "catalog").get("status", ""))
            if status == "released":
                return Reservation(ReservationOutcome.RELEASED, "the reservation was released")
            return Reservation(ReservationOutcome.RESERVED)
        if is_transient(resp):
            raise transient_refusal(resp, "catalog", "POST /reservations")
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
        if resp.status_code == 200:
            return
        if is_transient(resp):
            raise transient_refusal(resp, "catalog", "POST /reservations/commit")
        # The stock is no longer held for the order: it must stay unpaid (the audit names it if charged).
        log.error("reservation_commit_refused", order_id=order_id, status=resp.status_code,
                  code=get_error_code(resp))
        raise CommitRefused(f"catalog refused to commit the reservation of {order_id} ({get_error_code(resp)})",
                            dependency="catalog", details={"status": resp.status_code})

    def release(self, order_id: str) -> None:
        """Give the order's reserved stock back (idempotent; no-op when nothing is held)."""
        resp = self.client.post(f"/reservations/{path_segment(order_id)}/release", idempotency_key=order_id)
        if resp.status_code in (200, 404):
            return
        if is_transient(resp):
            # The stock must be given back before the order ends: retry later.
            raise transient_refusal(resp, "catalog", "POST /reservations/release")
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
        if is_transient(resp):
            raise transient_refusal(resp, "payments", "POST /charges")
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
        if resp.status_code in (200, 201):
            return
        if 400 <= resp.status_code < 500 and not is_transient(resp):
            raise EventRejected(f"notifications refused event {event.event_id}: {resp.status_code} "
                                f"({get_error_code(resp)})", details={"status": resp.status_code})
        raise unexpected_status(resp, "notifications", "POST /events")

    def list_for_order(self, user_id: str, order_id: str) -> list[dict[str, Any]]:
        """Return the emails sent to ``user_id`` about one order, oldest first."""
        resp = self.client.get("/notifications", params={"user_id": user_id})
        if resp.status_code != 200:
            raise unexpected_status(resp, "notifications", "GET /notifications")
        items = get_json(resp, "notifications").get("items", [])
        return [i for i in items if isinstance(i, dict) and i.get("order_id") == order_id]



def event_message(event: OutboxEvent) -> Message:
    """Build the AMQP message of one outbox event: the same body ``POST /events`` takes.

    The routing key is the event type (``order.paid``); the message id is the event id,
    which the consumer dedupes by. The Pact message contracts verify this builder.
    """
    body = {"event_id": event.event_id, "type": event.type, "order_id": event.order_id,
            "user_id": event.user_id, "payload": event.payload}
    return Message(routing_key=event.type, body=json.dumps(body, separators=(",", ":")).encode(),
                   message_id=event.event_id, headers={"x-event-type": event.type})


class EventPublisher:
    """Deliver order events to notifications through RabbitMQ (``SHOPLAB_EVENTS=amqp``).

    ``deliver`` returns only once the broker confirmed the message; anything else is an
    outage (``DependencyUnavailable`` on ``rabbitmq``) that delays the event, never
    dead-letters it. The current trace context (the relay's span) travels in the headers.
    """

    def __init__(self, publisher: ConfirmingPublisher, reader: NotificationsClient | None = None) -> None:
        self.publisher = publisher
        self.reader = reader

    def deliver(self, event: OutboxEvent) -> None:
        """Publish one event and wait for the broker's confirm."""
        try:
            self.publisher.publish(event_message(event), inject_context())
        except BrokerUnavailable as exc:
            raise DependencyUnavailable(str(exc), dependency=BROKER) from exc

    def list_for_order(self, user_id: str, order_id: str) -> list[dict[str, Any]]:
        """Read the emails over HTTP, as under ``SHOPLAB_EVENTS=http``."""
        if self.reader is None:
            raise DependencyUnavailable("no notifications reader configured", dependency="notifications")
        return self.reader.list_for_order(user_id, order_id)
