"""Flask test-client tests of catalog's API on a real SQLite file: input handling, reservations, audit."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shop.catalog import create_app

pytestmark = pytest.mark.unit

ADMIN = {"Authorization": "Bearer admin-token"}


@pytest.fixture()
def client(tmp_path: Path) -> FlaskClient:
    app = create_app(env={"SHOPLAB_ADMIN_TOKEN": "admin-token", "SHOPLAB_DATA_DIR": str(tmp_path)})
    return app.test_client()


def _error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    err: dict[str, Any] = resp.get_json()["error"]
    assert {"code", "message", "request_id"} <= set(err)
    return err


def test_the_seeded_catalog_lists_at_least_20_products_with_stock(client: FlaskClient) -> None:
    items = client.get("/products").get_json()["items"]
    assert len(items) >= 20
    assert set(items[0]) == {"id", "name", "price_cents", "stock", "category"}
    assert client.get(f"/products/{items[0]['id']}").get_json() == items[0]


@pytest.mark.parametrize(
    "path", ["/products/0", "/products/999", "/products/abc", "/products/99999999999999999999"]
)
def test_unknown_products_are_a_404_json_error(client: FlaskClient, path: str) -> None:
    _error(client.get(path), 404)


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "{oops", "content_type": "application/json"}, 400),
        ({"data": "order_id=1", "content_type": "application/x-www-form-urlencoded"}, 400),
        ({"json": {"order_id": "o1", "items": [{"product_id": 1, "qty": -1}]}}, 422),
        ({"json": {"order_id": "o1", "items": [{"product_id": 1, "qty": 0}]}}, 422),
        ({"json": {"order_id": "o1", "items": [{"product_id": "1", "qty": 1}]}}, 422),
        ({"json": {"order_id": 7, "items": [{"product_id": 1, "qty": 1}]}}, 422),
        ({"json": {"order_id": "o1", "items": []}}, 422),
        ({"json": {"order_id": "o1", "items": [{"product_id": 99999999999999, "qty": 1}]}}, 422),
        ({"json": {"order_id": "o1", "items": [{"product_id": 999, "qty": 1}]}}, 404),
    ],
)
def test_bad_reservations_are_4xx_json_errors(
    client: FlaskClient, kwargs: dict[str, Any], status: int
) -> None:
    _error(client.post("/reservations", **kwargs), status)


def test_a_reservation_is_idempotent_per_order_and_insufficient_stock_names_the_product(
    client: FlaskClient,
) -> None:
    body = {"order_id": "o-1", "items": [{"product_id": 1, "qty": 2}]}
    first = client.post("/reservations", json=body)
    again = client.post("/reservations", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json() == {**body, "status": "reserved"}
    assert client.get("/products/1").get_json()["stock"] == 998

    err = _error(
        client.post("/reservations", json={"order_id": "o-2", "items": [{"product_id": 1, "qty": 5000}]}), 409
    )
    assert err["code"] == "insufficient_stock" and err["details"]["product_id"] == 1


def test_release_and_commit_move_reservations_and_the_audit_shows_conserved_stock(
    client: FlaskClient,
) -> None:
    for oid in ("a", "b"):
        client.post("/reservations", json={"order_id": oid, "items": [{"product_id": 3, "qty": 2}]})
    assert client.post("/reservations/a/commit").get_json() == {"order_id": "a", "status": "committed"}
    assert client.post("/reservations/b/release").get_json() == {"order_id": "b", "status": "released"}
    assert client.post("/reservations/b/release").status_code == 200
    assert client.post("/reservations/unknown/release").get_json()["status"] == "released"
    assert _error(client.post("/reservations/b/commit"), 409)["code"] == "reservation_released"
    assert _error(client.post("/reservations/unknown/commit"), 404)["code"] == "unknown_reservation"

    _error(client.get("/admin/audit"), 401)
    audit = client.get("/admin/audit", headers=ADMIN).get_json()
    statuses = {r["order_id"]: r["status"] for r in audit["reservations"]}
    assert statuses == {"a": "committed", "b": "released"}
    product = next(p for p in audit["products"] if p["id"] == 3)
    assert product["seeded_stock"] == product["stock"] + 2


def test_concurrent_reservations_of_the_last_units_never_oversell_on_sqlite(client: FlaskClient) -> None:
    assert client.put("/admin/products/5/stock", json={"stock": 5}, headers=ADMIN).get_json()["stock"] == 5
    statuses: list[int] = []

    def buy(i: int) -> None:
        resp = client.post(
            "/reservations", json={"order_id": f"c{i}", "items": [{"product_id": 5, "qty": 1}]}
        )
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] * 5 + [409] * 15
    assert client.get("/products/5").get_json()["stock"] == 0
    audit = client.get("/admin/audit", headers=ADMIN).get_json()
    product = next(p for p in audit["products"] if p["id"] == 5)
    assert product["seeded_stock"] == 5


def test_the_openapi_document_types_the_order_id_path_parameter(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    param = doc["paths"]["/reservations/{order_id}/commit"]["post"]["parameters"][0]
    assert param["schema"]["maxLength"] == 64
    assert "/admin/audit" not in doc["paths"]
    assert client.get("/readyz").get_json()["status"] == "ready"
