"""catalog's words: products, stock lines, reservations, the store seam and the domain errors.

Stock is conserved: for every product, seeded stock = stock + quantities of committed
reservations + quantities of live (``reserved``) ones. A reservation moves
``reserved`` → ``committed`` (paid) or ``reserved`` → ``released`` (stock back).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from shop.kit.wire import UnknownProduct as UnknownProduct  # the shared word, spoken here too


class ReservationStatus(enum.StrEnum):
    """Where a reservation is in its life."""

    RESERVED = "reserved"
    COMMITTED = "committed"
    RELEASED = "released"


@dataclass(frozen=True)
class Product:
    """A product as the shop shows it."""

    id: int
    name: str
    category: str
    price_cents: int
    stock: int


@dataclass(frozen=True)
class Line:
    """A quantity of one product."""

    product_id: int
    qty: int


@dataclass(frozen=True)
class Reservation:
    """Stock held for one order."""

    order_id: str
    status: ReservationStatus
    items: tuple[Line, ...]


@dataclass(frozen=True)
class StockRecord:
    """A product's seeded and current stock (the audit reads it)."""

    id: int
    seeded_stock: int
    stock: int




class InsufficientStock(Exception):
    """A product has fewer units than asked for."""

    code = "insufficient_stock"

    def __init__(self, product_id: int, requested: int, available: int) -> None:
        super().__init__(f"product {product_id} has {available} in stock, {requested} requested")
        self.product_id = product_id
        self.requested = requested
        self.available = available

    @property
    def details(self) -> dict[str, Any]:
        """Name the short product with what was asked for and what is left."""
        return {"product_id": self.product_id, "requested": self.requested, "available": self.available}


class UnknownReservation(Exception):
    """No reservation exists for this order."""

    code = "unknown_reservation"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no reservation for order {order_id}")
        self.order_id = order_id


class ReservationReleased(Exception):
    """The reservation was released and cannot be committed any more."""

    code = "reservation_released"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"the reservation of order {order_id} was released")
        self.order_id = order_id


class CatalogTx(Protocol):
    """What the domain may do inside one transaction."""

    def get_products(self, ids: Iterable[int]) -> dict[int, Product]:
        """Return the products with these ids (missing ones left out)."""

    def set_stock(self, product_id: int, stock: int) -> None:
        """Set a product's current stock."""

    def get_reservation(self, order_id: str) -> Reservation | None:
        """Return the reservation of ``order_id`` or None."""

    def add_reservation(self, reservation: Reservation) -> None:
        """Store a new reservation."""

    def set_reservation_status(self, order_id: str, status: ReservationStatus) -> None:
        """Change a reservation's status."""

    def restock(self, product_id: int, stock: int) -> None:
        """Set stock and shift seeded stock by the same delta (the invariant still holds)."""


class CatalogRepository(Protocol):
    """catalog's data: reads, plus serialised write transactions (``CatalogStore`` implements it)."""

    def transaction(self) -> AbstractContextManager[CatalogTx]:
        """Open one write transaction (serialised, so checks and writes are atomic)."""

    def list_products(self) -> list[Product]:
        """Return every product by id."""

    def get_product(self, product_id: int) -> Product | None:
        """Return one product or None."""

    def list_stock(self) -> list[StockRecord]:
        """Return seeded and current stock per product."""

    def list_reservations(self) -> list[Reservation]:
        """Return every reservation."""
