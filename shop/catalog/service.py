"""catalog's domain: product reads and idempotent stock reservations (no Flask, no SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Iterable

from shop.catalog.model import (
    CatalogRepository,
    InsufficientStock,
    Line,
    Product,
    Reservation,
    ReservationReleased,
    ReservationStatus,
    UnknownProduct,
    UnknownReservation,
)


def merge_lines(lines: Iterable[Line]) -> tuple[Line, ...]:
    """Sum the quantities of repeated products, keeping first-seen order."""
    totals: dict[int, int] = {}
    for line in lines:
        totals[line.product_id] = totals.get(line.product_id, 0) + line.qty
    return tuple(Line(pid, qty) for pid, qty in totals.items())


class CatalogService:
    """Read products and reserve, release and commit stock."""

    def __init__(self, store: CatalogRepository) -> None:
        self.store = store

    def list_products(self) -> list[Product]:
        """Return the whole catalog."""
        return self.store.list_products()

    def get_product(self, product_id: int) -> Product:
        """Return one product; raise UnknownProduct."""
        product = self.store.get_product(product_id)
        if product is None:
            raise UnknownProduct(product_id)
        return product

    def reserve(self, order_id: str, lines: Iterable[Line]) -> tuple[Reservation, bool]:
        """Hold stock for ``order_id``; return the reservation and whether it is new.

        Idempotent per order id: a repeat returns the existing reservation unchanged.
        All or nothing: raise UnknownProduct or InsufficientStock and hold nothing.
        """
        items = merge_lines(lines)
        with self.store.transaction() as tx:
            existing = tx.get_reservation(order_id)
            if existing is not None:
                return existing, False
            products = tx.get_products(line.product_id for line in items)
            for line in items:
                if line.product_id not in products:
                    raise UnknownProduct(line.product_id)
            for line in items:
                available = products[line.product_id].stock
                if available < line.qty:
                    raise InsufficientStock(line.product_id, line.qty, available)
            for line in items:
                tx.set_stock(line.product_id, products[line.product_id].stock - line.qty)
            reservation = Reservation(order_id, ReservationStatus.RESERVED, items)
            tx.add_reservation(reservation)
            return reservation, True

    def release(self, order_id: str) -> ReservationStatus:
        """Give a live reservation's stock back; a no-op for unknown or finished ones."""
        with self.store.transaction() as tx:
            reservation = tx.get_reservation(order_id)
            if reservation is None:
                return ReservationStatus.RELEASED
            if reservation.status is not ReservationStatus.RESERVED:
                return reservation.status
            products = tx.get_products(line.product_id for line in reservation.items)
            for line in reservation.items:
                tx.set_stock(line.product_id, products[line.product_id].stock + line.qty)
            tx.set_reservation_status(order_id, ReservationStatus.RELEASED)
            return ReservationStatus.RELEASED

    def commit(self, order_id: str) -> ReservationStatus:
        """Make a reservation final (the order is paid); idempotent.

        Raises UnknownReservation, or ReservationReleased when it was released.
        """
        with self.store.transaction() as tx:
            reservation = tx.get_reservation(order_id)
            if reservation is None:
                raise UnknownReservation(order_id)
            if reservation.status is ReservationStatus.RELEASED:
                raise ReservationReleased(order_id)
            if reservation.status is ReservationStatus.RESERVED:
                tx.set_reservation_status(order_id, ReservationStatus.COMMITTED)
            return ReservationStatus.COMMITTED

    def restock(self, product_id: int, stock: int) -> Product:
        """Set a product's stock for an experiment, keeping stock conserved; raise UnknownProduct."""
        with self.store.transaction() as tx:
            if product_id not in tx.get_products([product_id]):
                raise UnknownProduct(product_id)
            tx.restock(product_id, stock)
        return self.get_product(product_id)


_CATEGORIES: dict[str, list[str]] = {
    "books": [
        "Field Guide to Birds",
        "Sourdough Handbook",
        "Chess Openings",
        "Night Sky Atlas",
        "Bike Repair Manual",
    ],
    "kitchen": ["Cast Iron Pan", "Chef's Knife", "Pour-Over Kettle", "Bamboo Board", "Spice Grinder"],
    "outdoor": ["Trail Backpack", "Camping Stove", "Headlamp", "Water Filter", "Trekking Poles"],
    "electronics": [
        "USB-C Charger",
        "Wireless Earbuds",
        "E-Reader",
        "Mechanical Keyboard",
        "Portable Speaker",
    ],
    "toys": ["Wooden Train Set", "Puzzle Cube", "Kite"],
}


def seed_products() -> list[Product]:
    """Return the deterministic seed catalog: 23 products in 5 categories.

    Most products start with 1000 units; the last two ("limited") start with 5 so
    sell-out behaviour is easy to reach. Prices are a fixed function of the id.
    """
    products: list[Product] = []
    pid = 0
    for category, names in _CATEGORIES.items():
        for name in names:
            pid += 1
            price_cents = 499 + (pid * 1373) % 9000
            products.append(Product(pid, name, category, price_cents, 1000))
    limited = [Product(p.id, f"{p.name} (limited)", p.category, p.price_cents, 5) for p in products[-2:]]
    return products[:-2] + limited
