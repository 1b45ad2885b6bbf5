"""The saga against the real catalog and payments apps (in-process, real SQLite): issue 16 findings 1 and 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from shop.catalog import create_app as create_catalog
from shop.kit.db import make_engine
from shop.kit.errors import DependencyUnavailable
from shop.orders.clients import CatalogClient, PaymentsClient
from shop.orders.model import Order, OrderItem, OrderStatus
from shop.orders.service import Saga, new_event
from shop.orders.store import OrderStore
from shop.orders.worker import Worker
from shop.payments import create_app as create_payments
from shoplab.runtime.audit import AuditData, check_charges, check_stock
from tests.unit.orders_fakes import FakeCart, FakeNotifications
from tests.unit.peer_fakes import ADMIN_TOKEN, service_env, wsgi_client

pytestmark = pytest.mark.unit

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def catalog_app(tmp_path: Path) -> Flask:
    return create_catalog(env=service_env(tmp_path, "catalog"))


@pytest.fixture
def payments_app(tmp_path: Path) -> Flask:
    return create_payments(env=service_env(tmp_path, "payments"))


@pytest.fixture
def store(tmp_path: Path) -> OrderStore:
    s = OrderStore(make_engine(tmp_path / "orders.sqlite3"))
    s.create_schema()
    return s


@pytest.fixture
def saga(store: OrderStore, catalog_app: Flask, payments_app: Flask) -> Saga:
    return Saga(store, cart=FakeCart(), notifications=FakeNotifications(),
                catalog=CatalogClient(wsgi_client("catalog", catalog_app, caller="orders")),
                payments=PaymentsClient(wsgi_client("payments", payments_app, caller="orders")))


def place(store: OrderStore, catalog_app: Flask, qty: int = 1) -> Order:
    product = catalog_app.test_client().get("/products").get_json()["items"][0]
    order = Order(order_id="ord_1", user_id="u1", status=OrderStatus.PENDING, total_cents=qty * product["price_cents"],
                  items=(OrderItem(product["id"], qty, product["price_cents"], product["name"]),))
    store.create_order(order, new_event("order.created", order))
    return order


def audit_data(store: OrderStore, catalog_app: Flask, payments_app: Flask) -> AuditData:
    orders = [{"order_id": o.order_id, "status": o.status, "total_cents": o.total_cents,
               "items": [{"product_id": i.product_id, "qty": i.qty} for i in o.items]} for o in store.list_orders()]
    return AuditData(
        catalog=catalog_app.test_client().get("/admin/audit", headers=ADMIN).get_json(),
        orders={"orders": orders, "outbox": [], "pending_work": 0},
        payments=payments_app.test_client().get("/admin/audit", headers=ADMIN).get_json(),
    )


def set_fault(app: Flask, **fault: Any) -> None:
    resp = app.test_client().put("/admin/faults", headers=ADMIN, json={"faults": [fault]})
    assert resp.status_code == 200, resp.get_data(as_text=True)


# -- finding 1: paid after release ----------------------------------------------------------------


def test_a_rerun_after_the_stock_was_released_never_charges_nor_marks_the_order_paid(
        store: OrderStore, saga: Saga, catalog_app: Flask, payments_app: Flask) -> None:
    # Failed before issue 16: catalog answers 200 for the released reservation, the saga took it as held,
    # charged and marked the order paid with its stock given back (oversell).
    order = place(store, catalog_app)
    # The previous pass: reserved, payments refused, released, then the worker died before finish_order.
    saga.catalog.reserve(order.order_id, order.items)
    saga.catalog.release(order.order_id)
    status = saga.advance(order)
    assert status == OrderStatus.PAYMENT_FAILED
    assert payments_app.test_client().get("/admin/audit", headers=ADMIN).get_json()["charges"] == []
    data = audit_data(store, catalog_app, payments_app)
    assert check_stock(data) == [] and check_charges(data) == []


def test_a_commit_the_catalog_refuses_never_marks_the_order_paid(
        store: OrderStore, saga: Saga, catalog_app: Flask) -> None:
    # Failed before issue 16: a refused commit was only logged and the order went on to "paid".
    order = place(store, catalog_app)
    real_charge = saga.payments.charge

    def charge_then_lose_the_hold(order_id: str, amount_cents: int, card: str | None) -> Any:
        # Someone gives the stock back between the charge and the commit.
        catalog_app.test_client().post(f"/reservations/{order_id}/release")
        return real_charge(order_id, amount_cents, card)

    saga.payments.charge = charge_then_lose_the_hold  # type: ignore[method-assign]
    with pytest.raises(DependencyUnavailable):
        saga.advance(order)
    current = store.get_order(order.order_id)
    assert current is not None and current.status == OrderStatus.PENDING


# -- finding 2: a transient 4xx only delays an order ----------------------------------------------


@pytest.mark.parametrize("status", [408, 425, 429])
def test_a_transient_4xx_from_payments_keeps_the_order_pending_and_holds_the_stock(
        store: OrderStore, saga: Saga, catalog_app: Flask, payments_app: Flask, status: int) -> None:
    # Failed before issue 16: any 4xx from payments ended the order payment_failed for good.
    order = place(store, catalog_app)
    set_fault(payments_app, route="/charges", error_rate=1.0, status=status, retry_after_s=2)
    with pytest.raises(DependencyUnavailable) as err:
        saga.advance(order)
    assert err.value.details == {"retry_after_s": 2.0, "status": status}
    assert store.get_order(order.order_id).status == OrderStatus.PENDING  # type: ignore[union-attr]
    reservations = catalog_app.test_client().get("/admin/audit", headers=ADMIN).get_json()["reservations"]
    assert [r["status"] for r in reservations] == ["reserved"]
    payments_app.test_client().delete("/admin/faults", headers=ADMIN)
    assert saga.advance(order) == OrderStatus.PAID
    data = audit_data(store, catalog_app, payments_app)
    assert check_stock(data) == [] and check_charges(data) == []


def test_an_injected_400_from_catalog_is_retried_not_a_rejection(
        store: OrderStore, saga: Saga, catalog_app: Flask) -> None:
    # Failed before issue 16: an injected app fault (any 400-599) on /reservations rejected the order.
    order = place(store, catalog_app)
    set_fault(catalog_app, route="/reservations", error_rate=1.0, status=400)
    with pytest.raises(DependencyUnavailable):
        saga.advance(order)
    assert store.get_order(order.order_id).status == OrderStatus.PENDING  # type: ignore[union-attr]
    catalog_app.test_client().delete("/admin/faults", headers=ADMIN)
    assert saga.advance(order) == OrderStatus.PAID


def test_the_worker_waits_out_retry_after_before_it_tries_the_order_again(
        store: OrderStore, saga: Saga, catalog_app: Flask, payments_app: Flask) -> None:
    order = place(store, catalog_app)
    set_fault(payments_app, route="/charges", error_rate=1.0, status=429, retry_after_s=30)
    now = [100.0]
    worker = Worker(saga, clock=lambda: now[0])
    assert worker.run_pass().failed == 1
    payments_app.test_client().delete("/admin/faults", headers=ADMIN)
    now[0] += 29.0
    worker.run_pass()  # still inside Retry-After: not tried, though payments would take it now
    assert store.get_order(order.order_id).status == OrderStatus.PENDING  # type: ignore[union-attr]
    now[0] += 1.5
    worker.run_pass()
    assert store.get_order(order.order_id).status == OrderStatus.PAID  # type: ignore[union-attr]
