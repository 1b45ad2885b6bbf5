"""Unit tests of catalog's domain: reads and idempotent reservations, against an in-memory store."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pytest

from shop.catalog.model import (
    InsufficientStock,
    Line,
    Product,
    Reservation,
    ReservationReleased,
    ReservationStatus,
    StockRecord,
    UnknownProduct,
    UnknownReservation,
)
from shop.catalog.service import CatalogService, seed_products

pytestmark = pytest.mark.unit


class FakeTx:
    """A transaction over dicts."""

    def __init__(
        self, products: dict[int, Product], seeded: dict[int, int], reservations: dict[str, Reservation]
    ):
        self.products, self.seeded, self.reservations = products, seeded, reservations

    def get_products(self, ids: Iterable[int]) -> dict[int, Product]:
        return {i: self.products[i] for i in ids if i in self.products}

    def set_stock(self, product_id: int, stock: int) -> None:
        p = self.products[product_id]
        self.products[product_id] = Product(p.id, p.name, p.category, p.price_cents, stock)

    def restock(self, product_id: int, stock: int) -> None:
        self.seeded[product_id] += stock - self.products[product_id].stock
        self.set_stock(product_id, stock)

    def get_reservation(self, order_id: str) -> Reservation | None:
        return self.reservations.get(order_id)

    def add_reservation(self, reservation: Reservation) -> None:
        self.reservations[reservation.order_id] = reservation

    def set_reservation_status(self, order_id: str, status: ReservationStatus) -> None:
        r = self.reservations[order_id]
        self.reservations[order_id] = Reservation(r.order_id, status, r.items)


class FakeStore:
    """An in-memory catalog store: one lock serialises transactions; errors roll back."""

    def __init__(self, products: list[Product]) -> None:
        self.products = {p.id: p for p in products}
        self.seeded = {p.id: p.stock for p in products}
        self.reservations: dict[str, Reservation] = {}
        self.lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[FakeTx]:
        with self.lock:
            tx = FakeTx(dict(self.products), dict(self.seeded), copy.copy(self.reservations))
            yield tx
            self.products, self.seeded, self.reservations = tx.products, tx.seeded, tx.reservations

    def list_products(self) -> list[Product]:
        return sorted(self.products.values(), key=lambda p: p.id)

    def get_product(self, product_id: int) -> Product | None:
        return self.products.get(product_id)

    def list_stock(self) -> list[StockRecord]:
        return [StockRecord(i, self.seeded[i], p.stock) for i, p in sorted(self.products.items())]

    def list_reservations(self) -> list[Reservation]:
        return list(self.reservations.values())


def _service(stock: int = 10) -> tuple[CatalogService, FakeStore]:
    store = FakeStore([Product(1, "Pan", "kitchen", 1000, stock), Product(2, "Kite", "toys", 500, stock)])
    return CatalogService(store), store


def _conserved(store: FakeStore) -> bool:
    held: dict[int, int] = {}
    for r in store.reservations.values():
        if r.status is not ReservationStatus.RELEASED:
            for line in r.items:
                held[line.product_id] = held.get(line.product_id, 0) + line.qty
    return all(rec.seeded_stock == rec.stock + held.get(rec.id, 0) for rec in store.list_stock())


def test_the_seed_catalog_has_at_least_20_products_with_stock_and_is_deterministic() -> None:
    products = seed_products()
    assert len(products) >= 20
    assert len({p.id for p in products}) == len(products)
    assert all(p.stock > 0 and p.price_cents > 0 for p in products)
    assert seed_products() == products


def test_reserving_takes_stock_and_a_repeat_returns_the_same_reservation_without_taking_more() -> None:
    service, store = _service()
    first, created = service.reserve("o1", [Line(1, 3), Line(2, 1)])
    again, created_again = service.reserve("o1", [Line(1, 3), Line(2, 1)])
    assert created and not created_again
    assert again == first
    assert store.products[1].stock == 7 and store.products[2].stock == 9
    assert _conserved(store)


def test_repeated_lines_of_one_product_are_merged() -> None:
    service, store = _service()
    reservation, _ = service.reserve("o1", [Line(1, 2), Line(1, 3)])
    assert reservation.items == (Line(1, 5),)
    assert store.products[1].stock == 5


def test_insufficient_stock_names_the_product_and_holds_nothing() -> None:
    service, store = _service(stock=2)
    with pytest.raises(InsufficientStock) as err:
        service.reserve("o1", [Line(1, 1), Line(2, 3)])
    assert err.value.product_id == 2 and err.value.available == 2
    assert store.products[1].stock == 2
    assert "o1" not in store.reservations


def test_an_unknown_product_is_refused_and_holds_nothing() -> None:
    service, store = _service()
    with pytest.raises(UnknownProduct):
        service.reserve("o1", [Line(1, 1), Line(99, 1)])
    assert store.products[1].stock == 10


def test_release_gives_stock_back_once_and_is_a_noop_for_unknown_orders() -> None:
    service, store = _service()
    service.reserve("o1", [Line(1, 4)])
    assert service.release("o1") is ReservationStatus.RELEASED
    assert service.release("o1") is ReservationStatus.RELEASED
    assert service.release("never") is ReservationStatus.RELEASED
    assert store.products[1].stock == 10
    assert _conserved(store)


def test_commit_is_idempotent_and_a_committed_reservation_is_not_released() -> None:
    service, store = _service()
    service.reserve("o1", [Line(1, 4)])
    assert service.commit("o1") is ReservationStatus.COMMITTED
    assert service.commit("o1") is ReservationStatus.COMMITTED
    assert service.release("o1") is ReservationStatus.COMMITTED
    assert store.products[1].stock == 6
    assert _conserved(store)


def test_commit_refuses_unknown_and_released_reservations() -> None:
    service, _ = _service()
    with pytest.raises(UnknownReservation):
        service.commit("never")
    service.reserve("o1", [Line(1, 1)])
    service.release("o1")
    with pytest.raises(ReservationReleased):
        service.commit("o1")


def test_concurrent_reservations_of_the_last_units_never_oversell() -> None:
    service, store = _service(stock=5)
    won: list[str] = []

    def buy(i: int) -> None:
        try:
            service.reserve(f"o{i}", [Line(1, 1)])
            won.append(f"o{i}")
        except InsufficientStock:
            pass

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 5
    assert store.products[1].stock == 0
    assert _conserved(store)


def test_restock_keeps_stock_conserved() -> None:
    service, store = _service()
    service.reserve("o1", [Line(1, 4)])
    assert service.restock(1, 3).stock == 3
    assert _conserved(store)
    with pytest.raises(UnknownProduct):
        service.restock(42, 1)
