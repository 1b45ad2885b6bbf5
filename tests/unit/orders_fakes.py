"""In-memory fakes of the peers of orders (cart, catalog, payments, notifications)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from shop.kit.errors import DependencyUnavailable
from shop.orders.model import (
    CartLine,
    CartView,
    Charge,
    OrderItem,
    OutboxEvent,
    ProductInfo,
    Reservation,
    ReservationOutcome,
)


class Crash(BaseException):
    """Stands for the worker process dying mid-step (not an Exception: nothing catches it)."""


@dataclass
class Faulty:
    """A peer that can be down (503) or crash the caller on its next call."""

    name: str = "peer"
    down: bool = False
    crash_next: bool = False
    calls: int = 0

    def __post_init__(self) -> None:
        # The worker may call a peer from several threads; a real peer serialises in its database.
        self.lock = threading.RLock()

    def _enter(self) -> None:
        self.calls += 1
        if self.down:
            raise DependencyUnavailable(f"{self.name} is down", dependency=self.name)
        if self.crash_next:
            self.crash_next = False
            raise Crash(self.name)


@dataclass
class FakeCart(Faulty):
    """Carts by user id."""

    name: str = "cart"
    carts: dict[str, list[CartLine]] = field(default_factory=dict)
    cleared: list[str] = field(default_factory=list)

    def get_cart(self, user_id: str) -> CartView:
        self._enter()
        return CartView(list(self.carts.get(user_id, [])))

    def clear_cart(self, user_id: str, version: int | None = None) -> None:
        self._enter()
        self.carts.pop(user_id, None)
        self.cleared.append(user_id)


@dataclass
class FakeCatalog(Faulty):
    """Products, stock and per-order reservations (all-or-nothing, idempotent)."""

    name: str = "catalog"
    products: dict[int, ProductInfo] = field(default_factory=dict)
    stock: dict[int, int] = field(default_factory=dict)
    reservations: dict[str, tuple[list[tuple[int, int]], str]] = field(default_factory=dict)

    def add(self, product_id: int, price_cents: int, stock: int) -> None:
        self.products[product_id] = ProductInfo(product_id, f"p{product_id}", price_cents)
        self.stock[product_id] = stock

    def get_product(self, product_id: int) -> ProductInfo | None:
        self._enter()
        return self.products.get(product_id)

    def reserve(self, order_id: str, items: Sequence[OrderItem]) -> Reservation:
        with self.lock:
            return self._reserve(order_id, items)

    def _reserve(self, order_id: str, items: Sequence[OrderItem]) -> Reservation:
        self._enter()
        if order_id in self.reservations:
            return Reservation(ReservationOutcome.RESERVED)
        for i in items:
            if self.stock.get(i.product_id, 0) < i.qty:
                return Reservation(ReservationOutcome.INSUFFICIENT_STOCK, str(i.product_id))
        for i in items:
            self.stock[i.product_id] -= i.qty
        self.reservations[order_id] = ([(i.product_id, i.qty) for i in items], "reserved")
        return Reservation(ReservationOutcome.RESERVED)

    def commit(self, order_id: str) -> None:
        with self.lock:
            return self._commit(order_id)

    def _commit(self, order_id: str) -> None:
        self._enter()
        if order_id in self.reservations:
            lines, _ = self.reservations[order_id]
            self.reservations[order_id] = (lines, "committed")

    def release(self, order_id: str) -> None:
        with self.lock:
            return self._release(order_id)

    def _release(self, order_id: str) -> None:
        self._enter()
        entry = self.reservations.get(order_id)
        if entry and entry[1] == "reserved":
            for pid, qty in entry[0]:
                self.stock[pid] += qty
            self.reservations[order_id] = (entry[0], "released")

    def state(self, order_id: str) -> str | None:
        entry = self.reservations.get(order_id)
        return entry[1] if entry else None


@dataclass
class FakePayments(Faulty):
    """An idempotent ledger keyed by order id; a charge is recorded before a crash can hit."""

    name: str = "payments"
    ledger: dict[str, Charge] = field(default_factory=dict)
    charge_calls: int = 0
    decline_card: str = "4000000000000002"

    def charge(self, order_id: str, amount_cents: int, card: str | None) -> Charge:
        with self.lock:
            return self._charge(order_id, amount_cents, card)

    def _charge(self, order_id: str, amount_cents: int, card: str | None) -> Charge:
        self._enter()
        self.charge_calls += 1
        if order_id not in self.ledger:
            status = "declined" if card == self.decline_card else "succeeded"
            self.ledger[order_id] = Charge(charge_id=f"ch_{len(self.ledger) + 1}", status=status)
        return self.ledger[order_id]


@dataclass
class FakeNotifications(Faulty):
    """Applies each event id once; counts every arrival."""

    name: str = "notifications"
    received: dict[str, int] = field(default_factory=dict)
    applied: dict[str, OutboxEvent] = field(default_factory=dict)

    def deliver(self, event: OutboxEvent) -> None:
        with self.lock:
            return self._deliver(event)

    def _deliver(self, event: OutboxEvent) -> None:
        self._enter()
        self.received[event.event_id] = self.received.get(event.event_id, 0) + 1
        self.applied.setdefault(event.event_id, event)

    def types_for(self, order_id: str) -> list[str]:
        return sorted(e.type for e in self.applied.values() if e.order_id == order_id)


@dataclass
class Peers:
    """All four fakes together."""

    cart: FakeCart = field(default_factory=FakeCart)
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    payments: FakePayments = field(default_factory=FakePayments)
    notifications: FakeNotifications = field(default_factory=FakeNotifications)

    def as_kwargs(self) -> dict[str, object]:
        return {"cart": self.cart, "catalog": self.catalog, "payments": self.payments,
                "notifications": self.notifications}
