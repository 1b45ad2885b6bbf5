"""Name what orders speaks of: orders, outbox events, the saga's statuses, its peers' answers and its errors.

No Flask, no SQLAlchemy, no HTTP: the store, the service, the clients and the api all
import these words from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from shop.kit.domain import DomainError
from shop.kit.errors import DependencyUnavailable


class OrderStatus(StrEnum):
    """Where an order is in the saga (the one enum; the metrics count these values too)."""

    PENDING = "pending"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    REJECTED = "rejected"


TERMINAL_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.PAYMENT_FAILED, OrderStatus.REJECTED})

EVENT_FOR_STATUS = {
    OrderStatus.PAID: "order.paid",
    OrderStatus.PAYMENT_FAILED: "order.payment_failed",
    OrderStatus.REJECTED: "order.rejected",
}


@dataclass(frozen=True)
class OrderItem:
    """One line of an order, priced at checkout."""

    product_id: int
    qty: int
    price_cents: int
    name: str = ""


@dataclass(frozen=True)
class Order:
    """An order and its items."""

    order_id: str
    user_id: str
    status: str
    total_cents: int
    items: tuple[OrderItem, ...]
    card: str | None = None
    reason: str | None = None
    idempotency_key: str | None = None
    charge_id: str | None = None
    trace_context: dict[str, str] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # SHA-256 of the checkout request, so a key reused for another request is refused.
    request_hash: str | None = None
    # The cart version checked out: one order per version, and the saga clears only that version.
    cart_version: int | None = None
    # All orders keep of a card once the order ends (the number itself only while payments needs it).
    card_last4: str | None = None


@dataclass(frozen=True)
class OutboxEvent:
    """One event waiting for (or past) delivery."""

    event_id: str
    type: str
    order_id: str
    user_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    delivered: bool = False
    attempts: int = 0
    trace_context: dict[str, str] | None = None
    last_error: str | None = None
    dead: bool = False


# -- errors ---------------------------------------------------------------------------------


class OrderError(DomainError):
    """A domain refusal of orders; ``api.py`` maps each kind to its HTTP error."""


class EmptyCart(OrderError):
    """The cart has no line to check out (a state, not a bad body: it succeeds once the cart has lines)."""

    code = "empty_cart"


class UnknownProduct(OrderError):
    """A product in the cart is no longer sold."""

    code = "unknown_product"


class KeyReused(OrderError):
    """The Idempotency-Key already made an order from a different request (Stripe's rule: an error)."""

    code = "idempotency_key_reused"


class OrderNotFound(OrderError):
    """No such order, or not the caller's (never say which)."""


class EventRejected(DependencyUnavailable):
    """notifications refused one event for good (a 4xx no retry fixes): it counts towards dead-lettering."""

    def __init__(self, message: str, *, dependency: str = "notifications", **kwargs: Any) -> None:
        super().__init__(message, dependency=dependency, **kwargs)
        self.dead_lettered = False


class DuplicateOrder(Exception):
    """An order with this (user, idempotency key) already exists (the store's signal to the service)."""


# -- ports: what the domain needs from its peers (clients.py implements them) ---------------


@dataclass(frozen=True)
class CartLine:
    """One line of a user's cart."""

    product_id: int
    qty: int


@dataclass(frozen=True)
class CartView:
    """A user's cart lines and the version they belong to (None when the cart names none)."""

    lines: list[CartLine]
    version: int | None = None


@dataclass(frozen=True)
class ProductInfo:
    """The catalog's current view of a product."""

    product_id: int
    name: str
    price_cents: int


class ReservationOutcome(StrEnum):
    """What the catalog said to a reservation."""

    RESERVED = "reserved"
    INSUFFICIENT_STOCK = "insufficient_stock"
    REFUSED = "refused"
    # An earlier pass released the hold (its charge failed); the order must never be charged now.
    RELEASED = "released"


@dataclass(frozen=True)
class Reservation:
    """The catalog's answer to a reservation; ``detail`` names the product or reason."""

    outcome: ReservationOutcome
    detail: str = ""


@dataclass(frozen=True)
class Charge:
    """The payment provider's answer to a charge."""

    charge_id: str
    status: str  # "succeeded" | "declined" | "refused" (a 4xx we cannot fix by retrying)
    detail: str = ""


class CartPort(Protocol):
    """Read and clear carts."""

    def get_cart(self, user_id: str) -> CartView: ...
    def clear_cart(self, user_id: str, version: int | None = None) -> None: ...


class CatalogPort(Protocol):
    """Price products and hold stock for orders."""

    def get_product(self, product_id: int) -> ProductInfo | None: ...
    def reserve(self, order_id: str, items: Sequence[OrderItem]) -> Reservation: ...
    def commit(self, order_id: str) -> None: ...
    def release(self, order_id: str) -> None: ...


class PaymentsPort(Protocol):
    """Charge orders (idempotency key = order id)."""

    def charge(self, order_id: str, amount_cents: int, card: str | None) -> Charge: ...


class NotificationsPort(Protocol):
    """Deliver order events (idempotent per event id) and read the emails sent about them."""

    def deliver(self, event: OutboxEvent) -> None: ...
    def list_for_order(self, user_id: str, order_id: str) -> list[dict[str, Any]]: ...
