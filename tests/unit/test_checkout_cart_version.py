"""Double submit without a key, on the real cart and catalog apps (in-process): issue 16 finding 3."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask

from shop.cart import create_app as create_cart
from shop.catalog import create_app as create_catalog
from shop.kit.db import make_engine
from shop.kit.resilience import PEERS
from shop.orders.clients import CartClient, CatalogClient
from shop.orders.model import OrderStatus
from shop.orders.service import OrderService, Saga
from shop.orders.store import OrderStore
from tests.unit.orders_fakes import FakeNotifications, FakePayments
from tests.unit.peer_fakes import service_env, wsgi_client

pytestmark = pytest.mark.unit


@pytest.fixture
def catalog_app(tmp_path: Path) -> Flask:
    return create_catalog(env=service_env(tmp_path, "catalog"))


@pytest.fixture
def cart_app(tmp_path: Path, catalog_app: Flask) -> Flask:
    return create_cart(test_config={PEERS: {"catalog": wsgi_client("catalog", catalog_app, caller="cart")}},
                       env=service_env(tmp_path, "cart"))


@pytest.fixture
def store(tmp_path: Path) -> OrderStore:
    s = OrderStore(make_engine(tmp_path / "orders.sqlite3"))
    s.create_schema()
    return s


@pytest.fixture
def clients(cart_app: Flask, catalog_app: Flask) -> tuple[CartClient, CatalogClient]:
    return (CartClient(wsgi_client("cart", cart_app, caller="orders")),
            CatalogClient(wsgi_client("catalog", catalog_app, caller="orders")))


def add(cart_app: Flask, user: str, product_id: int, qty: int) -> None:
    resp = cart_app.test_client().post(f"/carts/{user}/items", json={"product_id": product_id, "qty": qty})
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_two_quick_checkouts_of_one_cart_without_a_key_make_one_order(
        store: OrderStore, cart_app: Flask, clients: tuple[CartClient, CatalogClient]) -> None:
    # Failed before issue 16: each checkout without a key made its own order (two charges for one cart).
    cart, catalog = clients
    add(cart_app, "u1", 1, 2)
    service = OrderService(store, cart=cart, catalog=catalog)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: service.checkout("u1"), range(4)))
    assert len({order.order_id for order, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(store.list_orders()) == 1
    # A changed cart is a new version: a new order.
    add(cart_app, "u1", 2, 1)
    order, created = service.checkout("u1")
    assert created and len(store.list_orders()) == 2


def test_paying_clears_only_the_cart_version_it_ordered_not_items_added_after(
        store: OrderStore, cart_app: Flask, clients: tuple[CartClient, CatalogClient]) -> None:
    # Failed before issue 16: the saga emptied the whole cart, deleting what was added after checkout.
    cart, catalog = clients
    add(cart_app, "u1", 1, 2)
    order, _ = OrderService(store, cart=cart, catalog=catalog).checkout("u1")
    add(cart_app, "u1", 3, 1)  # added while the order is pending
    saga = Saga(store, cart=cart, catalog=catalog, payments=FakePayments(), notifications=FakeNotifications())
    assert saga.advance(order) == OrderStatus.PAID
    items = cart_app.test_client().get("/carts/u1").get_json()["items"]
    assert [(i["product_id"], i["qty"]) for i in items] == [(3, 1)]
    assert saga.advance(store.get_order(order.order_id)) == OrderStatus.PAID  # type: ignore[arg-type]
    cart.clear_cart("u1", order.cart_version)  # a rerun of the clear is a no-op for the newer line
    assert [i["product_id"] for i in cart_app.test_client().get("/carts/u1").get_json()["items"]] == [3]
