"""Unit tests of checkout and order reads (fakes for cart and catalog, a real SQLite file)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shop.kit.db import make_engine
from shop.kit.errors import DependencyUnavailable
from shop.orders.model import CartLine, EmptyCart, OrderNotFound, UnknownProduct
from shop.orders.service import OrderService
from shop.orders.store import OrderStore
from tests.unit.orders_fakes import FakeCart, FakeCatalog

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Path) -> OrderStore:
    s = OrderStore(make_engine(tmp_path / "orders.sqlite3"))
    s.create_schema()
    return s


@pytest.fixture
def cart() -> FakeCart:
    return FakeCart(carts={"u1": [CartLine(1, 2), CartLine(2, 1)]})


@pytest.fixture
def catalog() -> FakeCatalog:
    c = FakeCatalog()
    c.add(1, 500, 10)
    c.add(2, 1250, 10)
    return c


@pytest.fixture
def service(store: OrderStore, cart: FakeCart, catalog: FakeCatalog) -> OrderService:
    return OrderService(store, cart=cart, catalog=catalog)


def test_checkout_writes_a_pending_order_and_its_created_event_together(service: OrderService,
                                                                         store: OrderStore) -> None:
    order, created = service.checkout("u1")
    assert created and order.status == "pending" and order.total_cents == 2 * 500 + 1250
    assert store.get_order(order.order_id) == store.list_orders()[0]
    events = store.list_outbox()
    assert [(e.type, e.order_id, e.delivered) for e in events] == [("order.created", order.order_id, False)]
    assert store.count_pending_work() == 2


def test_checkout_prices_items_with_the_catalogs_current_price(service: OrderService,
                                                                catalog: FakeCatalog) -> None:
    catalog.add(1, 999, 10)
    order, _ = service.checkout("u1")
    assert {i.product_id: i.price_cents for i in order.items} == {1: 999, 2: 1250}
    assert order.total_cents == 2 * 999 + 1250


def test_checkout_of_an_empty_cart_is_refused_with_409(service: OrderService, store: OrderStore) -> None:
    with pytest.raises(EmptyCart) as err:
        service.checkout("nobody")
    assert err.value.code == "empty_cart"
    assert store.list_orders() == [] and store.list_outbox() == []


def test_checkout_of_a_product_the_catalog_no_longer_has_is_refused(service: OrderService,
                                                                    catalog: FakeCatalog) -> None:
    del catalog.products[2]
    with pytest.raises(UnknownProduct) as err:
        service.checkout("u1")
    assert err.value.code == "unknown_product"


def test_checkout_writes_nothing_when_the_cart_is_unavailable(service: OrderService, cart: FakeCart,
                                                              store: OrderStore) -> None:
    cart.down = True
    with pytest.raises(DependencyUnavailable):
        service.checkout("u1", idempotency_key="k")
    assert store.list_orders() == []


def test_the_same_idempotency_key_gives_the_same_order_and_never_a_second(service: OrderService,
                                                                           store: OrderStore) -> None:
    first, created_first = service.checkout("u1", idempotency_key="key-1")
    again, created_again = service.checkout("u1", idempotency_key="key-1")
    assert created_first and not created_again
    assert again.order_id == first.order_id
    assert len(store.list_orders()) == 1 and len(store.list_outbox()) == 1


def test_idempotency_keys_are_scoped_per_user(service: OrderService, cart: FakeCart, store: OrderStore) -> None:
    cart.carts["u2"] = [CartLine(1, 1)]
    a, _ = service.checkout("u1", idempotency_key="same")
    b, _ = service.checkout("u2", idempotency_key="same")
    assert a.order_id != b.order_id and len(store.list_orders()) == 2


def test_concurrent_checkouts_with_one_key_make_exactly_one_order(service: OrderService,
                                                                  store: OrderStore) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: service.checkout("u1", idempotency_key="race"), range(8)))
    assert len({order.order_id for order, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(store.list_orders()) == 1 and len(store.list_outbox()) == 1


def test_checkouts_without_a_key_are_separate_orders(service: OrderService, store: OrderStore) -> None:
    service.checkout("u1")
    service.checkout("u1")
    assert len(store.list_orders()) == 2


def test_another_users_order_is_not_found(service: OrderService) -> None:
    order, _ = service.checkout("u1")
    assert service.get_for_user(order.order_id, "u1").order_id == order.order_id
    with pytest.raises(OrderNotFound):
        service.get_for_user(order.order_id, "u2")
    with pytest.raises(OrderNotFound):
        service.get_for_user("ord_missing", "u1")


def test_the_audit_lists_orders_items_outbox_and_pending_work(service: OrderService) -> None:
    order, _ = service.checkout("u1")
    audit = service.get_audit()
    assert audit["orders"][0]["order_id"] == order.order_id
    assert audit["orders"][0]["items"] == [{"product_id": 1, "qty": 2, "price_cents": 500},
                                           {"product_id": 2, "qty": 1, "price_cents": 1250}]
    assert audit["outbox"][0]["type"] == "order.created" and audit["outbox"][0]["delivered"] is False
    assert audit["pending_work"] == 2
