"""Take checkouts (order + outbox event in one transaction) and drive the saga to an end.

Statuses (``OrderStatus``): ``pending`` until the worker finishes; then ``paid``,
``payment_failed`` (declined; stock released) or ``rejected`` (the catalog refused
the reservation, e.g. ``insufficient_stock``; nothing was charged). Every step of
``Saga.advance`` is idempotent, so a crash or a failed dependency only delays an order.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog

from shop.kit.metrics import record_order
from shop.kit.plants import is_planted
from shop.kit.telemetry import inject_context, start_span_from_carrier
from shop.orders.model import (
    EVENT_FOR_STATUS,
    CartLine,
    CartPort,
    CatalogPort,
    DuplicateOrder,
    EmptyCart,
    EventRejected,
    KeyReused,
    NotificationsPort,
    Order,
    OrderItem,
    OrderNotFound,
    OrderStatus,
    OutboxEvent,
    PaymentsPort,
    ReservationOutcome,
    UnknownProduct,
)
from shop.orders.store import OrderStore

log = structlog.get_logger(__name__)


# -- checkout ------------------------------------------------------------------------------


def new_event(event_type: str, order: Order, **payload: Any) -> OutboxEvent:
    """Build an outbox event about ``order``."""
    body = {"order_id": order.order_id, "status": order.status, "total_cents": order.total_cents, **payload}
    return OutboxEvent(
        event_id=f"evt_{uuid.uuid4().hex}", type=event_type, order_id=order.order_id,
        user_id=order.user_id, payload=body, trace_context=order.trace_context,
    )


def request_hash(user_id: str, card: str | None) -> str:
    """Return the fingerprint of a checkout request (what a reused key must repeat exactly)."""
    canonical = json.dumps({"user_id": user_id, "card": card}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _same_request(order: Order, fingerprint: str) -> Order:
    # Orders written before the fingerprint existed carry none: answer them as before.
    if order.request_hash is not None and order.request_hash != fingerprint:
        raise KeyReused("this Idempotency-Key was used for a different checkout request")
    return order


class OrderService:
    """Create and read orders."""

    def __init__(self, store: OrderStore, *, cart: CartPort, catalog: CatalogPort) -> None:
        self.store = store
        self.cart = cart
        self.catalog = catalog

    def checkout(self, user_id: str, *, card: str | None = None,
                 idempotency_key: str | None = None) -> tuple[Order, bool]:
        """Turn the user's cart into a pending order; return it and whether it is new.

        The same (user, key) always answers the first order. Raises EmptyCart for an
        empty cart, UnknownProduct for a product the catalog no longer has, KeyReused when
        the key made an order from a different request, and the kit's DependencyError when
        cart or catalog cannot answer.
        """
        fingerprint = request_hash(user_id, card)
        if idempotency_key:
            existing = self.store.get_by_key(user_id, idempotency_key)
            if existing is not None:
                return _same_request(existing, fingerprint), False
        cart = self.cart.get_cart(user_id)
        if cart.version is not None:
            # One order per cart version, whatever the key: a double submit answers the first order.
            existing = self.store.get_by_cart_version(user_id, cart.version)
            if existing is not None:
                return existing, False
        merged: dict[int, int] = {}
        for line in cart.lines:
            if line.qty > 0:
                merged[line.product_id] = merged.get(line.product_id, 0) + line.qty
        lines = [CartLine(pid, qty) for pid, qty in merged.items()]
        if not lines:
            raise EmptyCart("the cart is empty")
        items = []
        for line in lines:
            # Prices come from the catalog now, not from what the cart remembered.
            product = self.catalog.get_product(line.product_id)
            if product is None:
                raise UnknownProduct(
                    f"product {line.product_id} is no longer sold", details={"product_id": line.product_id}
                )
            items.append(OrderItem(product_id=product.product_id, qty=line.qty,
                                   price_cents=product.price_cents, name=product.name))
        order = Order(
            order_id=f"ord_{uuid.uuid4().hex}",
            user_id=user_id,
            status=OrderStatus.PENDING,
            total_cents=sum(i.qty * i.price_cents for i in items),
            items=tuple(items),
            card=card,
            idempotency_key=idempotency_key or None,
            trace_context=inject_context() or None,
            request_hash=fingerprint,
            cart_version=cart.version,
        )
        try:
            self.store.create_order(order, new_event("order.created", order))
        except DuplicateOrder:
            # A concurrent checkout with the same key committed first: answer its order.
            winner = self.store.get_by_key(user_id, idempotency_key) if idempotency_key else None
            if winner is None and cart.version is not None:
                winner = self.store.get_by_cart_version(user_id, cart.version)
                if winner is not None:
                    return winner, False
            if winner is None:
                raise
            return _same_request(winner, fingerprint), False
        log.info("order_created", order_id=order.order_id, total_cents=order.total_cents)
        record_order("created")
        return order, True

    def get_for_user(self, order_id: str, user_id: str) -> Order:
        """Return the order if ``user_id`` owns it; OrderNotFound otherwise (never say it exists)."""
        order = self.store.get_order(order_id)
        if order is None or order.user_id != user_id:
            raise OrderNotFound(f"order {order_id} not found")
        return order

    def list_for_user(self, user_id: str) -> list[Order]:
        """Return a user's orders, oldest first."""
        return self.store.list_orders(user_id=user_id)

    def get_audit(self) -> dict[str, Any]:
        """Return orders, outbox and pending work for the consistency audit."""
        return {
            "orders": [
                {
                    "order_id": o.order_id, "user_id": o.user_id, "status": o.status, "reason": o.reason,
                    "total_cents": o.total_cents,
                    "items": [{"product_id": i.product_id, "qty": i.qty, "price_cents": i.price_cents}
                              for i in o.items],
                }
                for o in self.store.list_orders()
            ],
            "outbox": [
                {"event_id": e.event_id, "type": e.type, "order_id": e.order_id, "delivered": e.delivered,
                 "dead": e.dead, "attempts": e.attempts, "last_error": e.last_error}
                for e in self.store.list_outbox()
            ],
            "pending_work": self.store.count_pending_work(),
        }


# -- the saga ------------------------------------------------------------------------------


class Saga:
    """Drive pending orders and the outbox; each call does what it can and returns.

    A dependency failure (the kit's DependencyError) propagates out of ``advance`` /
    ``deliver``; the worker counts it and retries on its next pass. A failed event waits
    its own backoff (``backoff_base_s`` doubling up to ``backoff_max_s``); one that
    notifications refuses for good ``max_attempts`` times is dead-lettered.
    """

    def __init__(self, store: OrderStore, *, cart: CartPort, catalog: CatalogPort,
                 payments: PaymentsPort, notifications: NotificationsPort,
                 clock: Callable[[], float] = time.time, max_attempts: int = 8,
                 backoff_base_s: float = 0.5, backoff_max_s: float = 10.0) -> None:
        self.store = store
        self.clock = clock
        self.max_attempts = max(1, max_attempts)
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.cart = cart
        self.catalog = catalog
        self.payments = payments
        self.notifications = notifications

    def advance(self, order: Order) -> str:
        """Take one pending order as far as it goes: reserve → charge → commit → clear → paid."""
        if order.status != OrderStatus.PENDING:
            return order.status
        with start_span_from_carrier("orders.saga.advance", order.trace_context,
                                     attributes={"shoplab.order_id": order.order_id}):
            return self._advance(order)

    def _advance(self, order: Order) -> str:
        reservation = self.catalog.reserve(order.order_id, order.items)
        if reservation.outcome == ReservationOutcome.RELEASED:
            # Only a failed charge releases a hold, and that pass died before finishing the order.
            return self._finish(order, OrderStatus.PAYMENT_FAILED, reason="reservation_released")
        if reservation.outcome != ReservationOutcome.RESERVED:
            reason = str(reservation.outcome)
            # Reservations are all-or-nothing; release anyway so a partial hold cannot leak.
            self.catalog.release(order.order_id)
            return self._finish(order, OrderStatus.REJECTED, reason=reason, detail=reservation.detail)
        charge = self.payments.charge(order.order_id, order.total_cents, order.card)
        if charge.status != "succeeded":
            if not is_planted("skip_compensation"):  # PLANTED BUG: the hold outlives the refused charge
                self.catalog.release(order.order_id)
            reason = "declined" if charge.status == "declined" else f"payment_refused: {charge.detail}"[:120]
            return self._finish(order, OrderStatus.PAYMENT_FAILED, reason=reason, charge_id=charge.charge_id or None)
        # Raises when the catalog refuses: the order stays pending, never paid without its stock.
        self.catalog.commit(order.order_id)
        # Clear before marking paid: "paid" is the last write, so a crash anywhere above
        # leaves the order pending and the rerun repeats only idempotent steps.
        self.cart.clear_cart(order.user_id, order.cart_version)
        return self._finish(order, OrderStatus.PAID, charge_id=charge.charge_id)

    def _finish(self, order: Order, status: OrderStatus, *, reason: str | None = None,
                charge_id: str | None = None, detail: str = "") -> str:
        payload: dict[str, Any] = {"status": str(status)}
        if reason:
            payload["reason"] = reason
        if detail:
            payload["detail"] = detail
        event = new_event(EVENT_FOR_STATUS[status], order, **payload)
        moved = self.store.finish_order(order.order_id, status=status, event=event, reason=reason,
                                        charge_id=charge_id)
        if moved:
            record_order(status)
            log.info("order_finished", order_id=order.order_id, status=str(status), reason=reason)
            return str(status)
        current = self.store.get_order(order.order_id)
        return current.status if current else str(status)

    def deliver(self, event: OutboxEvent) -> None:
        """Deliver one outbox event to notifications and mark it delivered.

        On failure the event waits its backoff; an ``EventRejected`` on the last allowed
        attempt dead-letters it (``exc.dead_lettered``). Only refusals count towards that:
        an outage of notifications delays events, it never dead-letters them.
        """
        try:
            with start_span_from_carrier(f"orders.outbox.deliver {event.type}", event.trace_context,
                                         attributes={"shoplab.event_id": event.event_id}):
                self.notifications.deliver(event)
        except Exception as exc:
            attempts = event.attempts + 1
            dead = isinstance(exc, EventRejected) and attempts >= self.max_attempts
            backoff = min(self.backoff_max_s, self.backoff_base_s * 2 ** min(attempts - 1, 30))
            self.store.record_attempt(event.event_id, f"{type(exc).__name__}: {exc}",
                                      retry_at=None if dead else self.clock() + backoff, dead=dead)
            if isinstance(exc, EventRejected):
                exc.dead_lettered = dead
                if dead:
                    log.error("event_dead_lettered", event_id=event.event_id, attempts=attempts, error=str(exc))
            raise
        self.store.mark_delivered(event.event_id)

    def pending_orders(self, limit: int = 50) -> list[Order]:
        """Return the oldest pending orders."""
        return self.store.list_orders(status=OrderStatus.PENDING, limit=limit)

    def undelivered_events(self, limit: int = 100) -> list[OutboxEvent]:
        """Return the oldest undelivered outbox events whose backoff is over (never the dead-lettered)."""
        return self.store.list_outbox(undelivered_only=True, due_at=self.clock(), limit=limit)
