"""Unit tests of the orders HTTP layer (Flask test client, fake peers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from shop.orders import create_app
from shop.orders.model import CartLine
from tests.unit.orders_fakes import Peers

pytestmark = pytest.mark.unit

ADMIN = {"Authorization": "Bearer admin-token"}


@pytest.fixture
def peers() -> Peers:
    p = Peers()
    p.catalog.add(1, 500, 5)
    p.cart.carts["u1"] = [CartLine(1, 2)]
    return p


@pytest.fixture
def client(tmp_path: Path, peers: Peers) -> FlaskClient:
    env = {"SHOPLAB_ADMIN_TOKEN": "admin-token", "SHOPLAB_DATA_DIR": str(tmp_path),
           "CART_URL": "http://127.0.0.1:1", "CATALOG_URL": "http://127.0.0.1:1",
           "PAYMENTS_URL": "http://127.0.0.1:1", "NOTIFICATIONS_URL": "http://127.0.0.1:1"}
    app = create_app(test_config={"ORDERS_PEERS": peers.as_kwargs()}, env=env)
    return app.test_client()


def test_checkout_answers_201_with_a_pending_order(client: FlaskClient) -> None:
    resp = client.post("/orders", json={"user_id": "u1"}, headers={"X-User-ID": "u1"})
    assert resp.status_code == 201
    assert resp.json["status"] == "pending" and resp.json["total_cents"] == 1000
    assert resp.json["items"] == [{"product_id": 1, "name": "p1", "qty": 2, "price_cents": 500}]


def test_the_same_idempotency_key_answers_200_with_the_same_order(client: FlaskClient) -> None:
    first = client.post("/orders", json={"user_id": "u1"}, headers={"Idempotency-Key": "k1"})
    again = client.post("/orders", json={"user_id": "u1"}, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["order_id"] == first.json["order_id"]
    assert len(client.get("/admin/audit", headers=ADMIN).json["orders"]) == 1


def test_checkout_of_an_empty_cart_is_409(client: FlaskClient) -> None:
    resp = client.post("/orders", json={"user_id": "u9"})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "empty_cart"


def test_checkout_answers_503_when_the_cart_is_down(client: FlaskClient, peers: Peers) -> None:
    peers.cart.down = True
    resp = client.post("/orders", json={"user_id": "u1"})
    assert resp.status_code == 503 and resp.json["error"]["code"] == "dependency_unavailable"


def test_checkout_for_someone_else_is_403(client: FlaskClient) -> None:
    assert client.post("/orders", json={"user_id": "u1"}, headers={"X-User-ID": "u2"}).status_code == 403


@pytest.mark.parametrize("raw", ['{"user_id": 5}', '{"user_id": "u1", "card": 4}', '{}', '[]'])
def test_bad_checkout_bodies_are_422(client: FlaskClient, raw: str) -> None:
    resp = client.post("/orders", data=raw, content_type="application/json")
    assert resp.status_code == 422


def test_malformed_checkout_json_is_400(client: FlaskClient) -> None:
    assert client.post("/orders", data="{", content_type="application/json").status_code == 400


def test_only_the_owner_reads_an_order(client: FlaskClient) -> None:
    order_id = client.post("/orders", json={"user_id": "u1"}).json["order_id"]
    assert client.get(f"/orders/{order_id}", headers={"X-User-ID": "u1"}).json["order_id"] == order_id
    assert client.get(f"/orders/{order_id}", headers={"X-User-ID": "u2"}).status_code == 404
    assert client.get(f"/orders/{order_id}").status_code == 400
    assert client.get("/orders/ord_nope", headers={"X-User-ID": "u1"}).status_code == 404


def test_listing_orders_shows_one_users_orders(client: FlaskClient) -> None:
    order_id = client.post("/orders", json={"user_id": "u1"}).json["order_id"]
    assert [o["order_id"] for o in client.get("/orders?user_id=u1").json["items"]] == [order_id]
    assert client.get("/orders?user_id=u2").json["items"] == []
    assert client.get("/orders").status_code == 422


def test_the_audit_needs_the_admin_token_and_reports_pending_work(client: FlaskClient) -> None:
    client.post("/orders", json={"user_id": "u1"})
    assert client.get("/admin/audit").status_code == 401
    audit = client.get("/admin/audit", headers=ADMIN).json
    assert audit["pending_work"] == 2 and audit["outbox"][0]["type"] == "order.created"


def test_the_same_key_with_a_different_body_is_a_422_and_makes_no_second_order(client: FlaskClient) -> None:
    # Failed before issue 16: the second request silently answered the first order (the Stripe rule says error).
    first = client.post("/orders", json={"user_id": "u1"}, headers={"Idempotency-Key": "k2"})
    other = client.post("/orders", json={"user_id": "u1", "card": "4000000000000002"},
                        headers={"Idempotency-Key": "k2"})
    assert first.status_code == 201
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"
    again = client.post("/orders", json={"user_id": "u1"}, headers={"Idempotency-Key": "k2"})
    assert again.status_code == 200 and again.json["order_id"] == first.json["order_id"]
    assert len(client.get("/admin/audit", headers=ADMIN).json["orders"]) == 1
