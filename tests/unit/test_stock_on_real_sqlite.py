"""Never sell more than the stock, proven on catalog's real SQLite file with concurrent buyers.

The saga's own test runs against a fake catalog whose lock does the work; these run the
real catalog app (its store, its SQLite transactions) under threads and under processes,
as gunicorn's threads and workers would.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from flask import Flask

from shop.catalog import create_app as create_catalog
from shop.kit.db import make_engine
from shop.orders.clients import CatalogClient
from shop.orders.model import CartLine
from shop.orders.service import OrderService, Saga
from shop.orders.store import OrderStore
from shop.orders.worker import Worker
from tests.unit.orders_fakes import Peers
from tests.unit.peer_fakes import ADMIN_TOKEN, service_env, wsgi_client

pytestmark = pytest.mark.unit

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PRODUCT, STOCK = 5, 3


def _catalog(data_root: Path) -> Flask:
    return create_catalog(env=service_env(data_root, "catalog"))


def _set_stock(app: Flask, stock: int) -> None:
    resp = app.test_client().put(f"/admin/products/{PRODUCT}/stock", headers=ADMIN, json={"stock": stock})
    assert resp.status_code == 200, resp.get_data(as_text=True)


def _stock_books(app: Flask) -> tuple[int, int, int]:
    """Return the product's (current stock, committed quantity, seeded stock) from catalog's audit."""
    audit = app.test_client().get("/admin/audit", headers=ADMIN).get_json()
    product = next(p for p in audit["products"] if p["id"] == PRODUCT)
    committed = sum(
        item["qty"] for r in audit["reservations"] if r["status"] == "committed"
        for item in r["items"] if item["product_id"] == PRODUCT
    )
    return product["stock"], committed, product["seeded_stock"]


def test_concurrent_advancing_never_sells_more_than_the_stock_on_real_sqlite(tmp_path: Path) -> None:
    catalog_app = _catalog(tmp_path)
    _set_stock(catalog_app, STOCK)
    catalog = CatalogClient(wsgi_client("catalog", catalog_app, caller="orders"))
    peers = Peers()
    store = OrderStore(make_engine(tmp_path / "orders.sqlite3"))
    store.create_schema()
    orders = []
    for n in range(2 * STOCK):
        peers.cart.carts[f"c{n}"] = [CartLine(PRODUCT, 1)]
        order, _ = OrderService(store, cart=peers.cart, catalog=catalog).checkout(f"c{n}", card=None)
        orders.append(order.order_id)
    worker = Worker(Saga(store, **{**peers.as_kwargs(), "catalog": catalog}), concurrency=4)  # type: ignore[arg-type]
    try:
        result = worker.run_pass()
    finally:
        worker.close()
    statuses = sorted(store.get_order(o).status for o in orders)  # type: ignore[union-attr]
    assert statuses == ["paid"] * STOCK + ["rejected"] * STOCK, result
    assert len(peers.payments.ledger) == STOCK
    assert _stock_books(catalog_app) == (0, STOCK, STOCK)


def _buy_in_a_process(data_root: str, buyer: int, attempts: int) -> list[int]:
    # Each process opens the same SQLite file through its own catalog app, like a gunicorn worker.
    client = _catalog(Path(data_root)).test_client()
    statuses = []
    for n in range(attempts):
        order_id = f"p{buyer}-{n}"
        resp = client.post("/reservations", headers={"Idempotency-Key": order_id},
                           json={"order_id": order_id, "items": [{"product_id": PRODUCT, "qty": 1}]})
        statuses.append(resp.status_code)
        if resp.status_code == 201:
            assert client.post(f"/reservations/{order_id}/commit", headers={"Idempotency-Key": order_id}).status_code == 200
    return statuses


def test_buyers_in_separate_processes_never_sell_more_than_the_stock(tmp_path: Path) -> None:
    catalog_app = _catalog(tmp_path)
    _set_stock(catalog_app, STOCK)
    processes, attempts = 4, 3
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_buy_in_a_process, [str(tmp_path)] * processes, range(processes),
                                [attempts] * processes))
    statuses = sorted(s for batch in results for s in batch)
    assert statuses == [201] * STOCK + [409] * (processes * attempts - STOCK)
    assert _stock_books(catalog_app) == (0, STOCK, STOCK)
