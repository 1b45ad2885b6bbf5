"""Flask test-client tests of cart's API, with the real catalog app in-process (WSGI, no sockets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from shop.cart import create_app
from shop.catalog import create_app as create_catalog
from tests.unit.peer_fakes import dead_client, service_env, wsgi_client

pytestmark = pytest.mark.unit


def _cart_app(tmp_path: Path, catalog_up: bool = True) -> FlaskClient:
    if catalog_up:
        peer = wsgi_client("catalog", create_catalog(env=service_env(tmp_path, "catalog")), caller="cart")
    else:
        peer = dead_client("catalog", caller="cart")
    app = create_app(test_config={"PEERS": {"catalog": peer}}, env=service_env(tmp_path, "cart"))
    return app.test_client()


@pytest.fixture()
def client(tmp_path: Path) -> FlaskClient:
    return _cart_app(tmp_path)


def test_adding_items_returns_the_priced_cart(client: FlaskClient) -> None:
    client.post("/carts/u1/items", json={"product_id": 1, "qty": 2})
    resp = client.post("/carts/u1/items", json={"product_id": 2, "qty": 1})
    assert resp.status_code == 200
    cart = resp.get_json()
    assert cart["user_id"] == "u1"
    assert [(i["product_id"], i["qty"]) for i in cart["items"]] == [(1, 2), (2, 1)]
    assert cart["total_cents"] == sum(i["line_total_cents"] for i in cart["items"])
    assert set(cart["items"][0]) == {"product_id", "name", "qty", "price_cents", "line_total_cents"}
    assert client.get("/carts/u1").get_json() == cart


def test_removing_an_item_and_clearing_are_idempotent(client: FlaskClient) -> None:
    client.post("/carts/u1/items", json={"product_id": 1, "qty": 1})
    client.post("/carts/u1/items", json={"product_id": 3, "qty": 1})
    assert [i["product_id"] for i in client.delete("/carts/u1/items/1").get_json()["items"]] == [3]
    assert client.delete("/carts/u1/items/1").status_code == 200
    # Two adds, one removal, one clear: the cart's fourth version, with nothing left.
    assert client.delete("/carts/u1").get_json() == {"user_id": "u1", "version": 4, "remaining_lines": 0}
    assert client.delete("/carts/u1").status_code == 200
    assert client.get("/carts/u1").get_json()["items"] == []


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "{bad", "content_type": "application/json"}, 400, "bad_request"),
        ({"data": "product_id=1", "content_type": "application/x-www-form-urlencoded"}, 400, "bad_request"),
        ({"json": {"product_id": 1, "qty": -1}}, 422, "validation_failed"),
        ({"json": {"product_id": 1, "qty": 0}}, 422, "validation_failed"),
        ({"json": {"product_id": 1, "qty": 101}}, 422, "validation_failed"),
        ({"json": {"product_id": "1", "qty": 1}}, 422, "validation_failed"),
        ({"json": {"product_id": 1, "qty": 1.5}}, 422, "validation_failed"),
        ({"json": {"product_id": 1}}, 422, "validation_failed"),
        ({"json": {"product_id": 9999, "qty": 1}}, 404, "unknown_product"),
    ],
)
def test_bad_input_is_a_4xx_json_error(
    client: FlaskClient, kwargs: dict[str, Any], status: int, code: str
) -> None:
    resp = client.post("/carts/u1/items", **kwargs)
    assert resp.status_code == status
    assert resp.get_json()["error"]["code"] == code


def test_a_line_past_100_units_is_refused(client: FlaskClient) -> None:
    client.post("/carts/u1/items", json={"product_id": 1, "qty": 100})
    resp = client.post("/carts/u1/items", json={"product_id": 1, "qty": 1})
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "qty_limit"


def test_a_dead_catalog_is_a_503_json_error_but_clearing_still_works(tmp_path: Path) -> None:
    client = _cart_app(tmp_path, catalog_up=False)
    resp = client.post("/carts/u1/items", json={"product_id": 1, "qty": 1})
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "dependency_unavailable"
    assert client.delete("/carts/u1").status_code == 200


def test_the_openapi_document_lists_dependency_errors_on_routes_that_call_catalog(
    client: FlaskClient,
) -> None:
    doc = client.get("/openapi.json").get_json()
    assert {"503", "504"} <= set(doc["paths"]["/carts/{user_id}"]["get"]["responses"])
    assert "503" not in doc["paths"]["/carts/{user_id}"]["delete"]["responses"]
    assert client.get("/readyz").get_json()["status"] == "ready"
