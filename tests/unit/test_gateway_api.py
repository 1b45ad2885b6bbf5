"""Flask test-client tests of the gateway's public API, with identity, catalog, cart and
recommendations running in-process (WSGI) and orders as a recording fake: no sockets."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from flask.testing import FlaskClient

from shop.cart import create_app as create_cart
from shop.catalog import create_app as create_catalog
from shop.gateway import create_app
from shop.identity import create_app as create_identity
from shop.kit.auth import AUDIENCE, ISSUER
from shop.kit.resilience import ResilientClient
from shop.recommendations import create_app as create_recommendations
from tests.unit.peer_fakes import JWT_SECRET, dead_client, service_env, wsgi_client

pytestmark = pytest.mark.unit


class FakeOrders:
    """orders as a WSGI-less fake: remembers orders per idempotency key, checks X-User-ID."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.by_key: dict[tuple[str, str], str] = {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        user = request.headers.get("X-User-ID", "")
        if request.method == "POST" and request.url.path == "/orders":
            body = json.loads(request.content)
            key = (body["user_id"], request.headers["Idempotency-Key"])
            if key in self.by_key:
                return httpx.Response(200, json=self.orders[self.by_key[key]])
            order = {
                "order_id": f"ord_{len(self.orders) + 1}",
                "user_id": body["user_id"],
                "status": "pending",
                "total_cents": 100,
                "items": [],
                "card": body.get("card"),
            }
            self.orders[order["order_id"]] = order
            self.by_key[key] = order["order_id"]
            return httpx.Response(201, json=order)
        if request.method == "GET" and request.url.path == "/orders":
            return httpx.Response(
                200, json={"items": [o for o in self.orders.values() if o["user_id"] == user]}
            )
        order_id = request.url.path.rsplit("/", 1)[1]
        order = self.orders.get(order_id)
        if order is None or order["user_id"] != user:
            err = {"error": {"code": "not_found", "message": "no such order", "request_id": "x"}}
            return httpx.Response(404, json=err)
        return httpx.Response(200, json=order)


class Shop:
    """The gateway test client plus the fakes behind it."""

    def __init__(self, tmp_path: Path, *, recommendations_up: bool = True) -> None:
        catalog_app = create_catalog(env=service_env(tmp_path, "catalog"))
        cart_app = create_cart(
            test_config={"PEERS": {"catalog": wsgi_client("catalog", catalog_app, caller="cart")}},
            env=service_env(tmp_path, "cart"),
        )
        recs_app = create_recommendations(
            test_config={"PEERS": {"catalog": wsgi_client("catalog", catalog_app, caller="recommendations")}},
            env=service_env(tmp_path, "recommendations"),
        )
        self.orders = FakeOrders()
        orders_client = ResilientClient(
            "orders", "http://orders.test", caller="gateway", transport=httpx.MockTransport(self.orders)
        )
        peers = {
            "identity": wsgi_client(
                "identity", create_identity(env=service_env(tmp_path, "identity")), caller="gateway"
            ),
            "catalog": wsgi_client("catalog", catalog_app, caller="gateway"),
            "cart": wsgi_client("cart", cart_app, caller="gateway"),
            "orders": orders_client,
            "recommendations": (
                wsgi_client("recommendations", recs_app, caller="gateway")
                if recommendations_up
                else dead_client("recommendations", caller="gateway")
            ),
        }
        app = create_app(test_config={"PEERS": peers}, env=service_env(tmp_path, "gateway"))
        self.client: FlaskClient = app.test_client()

    def sign_up(self, email: str = "ada@example.com") -> dict[str, str]:
        resp = self.client.post(
            "/api/v1/auth/signup", json={"email": email, "password": "correct horse", "name": "Ada"}
        )
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}


@pytest.fixture()
def shop(tmp_path: Path) -> Shop:
    return Shop(tmp_path)


def _error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    err: dict[str, Any] = resp.get_json()["error"]
    assert {"code", "message", "request_id"} <= set(err)
    return err


def test_sign_up_log_in_and_a_taken_email(shop: Shop) -> None:
    shop.sign_up()
    login = shop.client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "correct horse"}
    )
    assert login.status_code == 200 and login.get_json()["access_token"]
    assert _error(
        shop.client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "nope"}), 401
    )
    again = shop.client.post(
        "/api/v1/auth/signup", json={"email": "ada@example.com", "password": "correct horse", "name": "A"}
    )
    assert _error(again, 409)["code"] == "email_taken"


def test_an_invalid_sign_up_is_a_422_with_the_validation_details(shop: Shop) -> None:
    resp = shop.client.post(
        "/api/v1/auth/signup", json={"email": "not-an-email", "password": "correct horse", "name": "A"}
    )
    err = _error(resp, 422)
    assert err["code"] == "validation_failed" and err["details"]


def test_the_product_page_has_recommendations_and_nothing_degraded(shop: Shop) -> None:
    products = shop.client.get("/api/v1/products").get_json()["items"]
    assert len(products) >= 20
    page = shop.client.get(f"/api/v1/products/{products[0]['id']}").get_json()
    assert page["id"] == products[0]["id"] and page["degraded"] == []
    assert page["recommendations"] and products[0]["id"] not in [r["id"] for r in page["recommendations"]]
    _error(shop.client.get("/api/v1/products/9999"), 404)


def test_the_product_page_still_answers_when_recommendations_is_down_and_says_it_is_degraded(
    tmp_path: Path,
) -> None:
    shop = Shop(tmp_path, recommendations_up=False)
    resp = shop.client.get("/api/v1/products/1")
    assert resp.status_code == 200
    assert resp.get_json()["degraded"] == ["recommendations"]
    assert resp.get_json()["recommendations"] == []


def test_the_cart_is_the_callers_own(shop: Shop) -> None:
    ada, bob = shop.sign_up("ada@example.com"), shop.sign_up("bob@example.com")
    cart = shop.client.post("/api/v1/cart/items", json={"product_id": 2, "qty": 3}, headers=ada).get_json()
    assert [(i["product_id"], i["qty"]) for i in cart["items"]] == [(2, 3)]
    assert shop.client.get("/api/v1/cart", headers=bob).get_json()["items"] == []
    assert shop.client.get("/api/v1/cart", headers=ada).get_json() == cart
    assert shop.client.delete("/api/v1/cart/items/2", headers=ada).get_json()["items"] == []


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": "{", "content_type": "application/json"}, 400),
        ({"json": {"product_id": 1, "qty": -2}}, 422),
        ({"json": {"product_id": "one", "qty": 1}}, 422),
        ({"json": {"product_id": 9999, "qty": 1}}, 404),
    ],
)
def test_bad_cart_input_is_a_4xx_json_error(shop: Shop, kwargs: dict[str, Any], status: int) -> None:
    _error(shop.client.post("/api/v1/cart/items", headers=shop.sign_up(), **kwargs), status)


def _token(**overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": "u1",
        "email": "a@b.c",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
        **overrides,
    }
    key = overrides.pop("_key", JWT_SECRET)
    claims.pop("_key", None)
    return jwt.encode(claims, key, algorithm="HS256")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwdw==",
        "Bearer not-a-token",
        f"Bearer {_token(_key='another-secret-another-secret-another-secret')}",
        f"Bearer {_token(exp=int(time.time()) - 5)}",
        f"Bearer {_token(aud='other')}",
        f"Bearer {_token(iss='other')}",
        "Bearer "
        + jwt.encode({"sub": "u1", "iss": ISSUER, "aud": AUDIENCE, "exp": 2**31}, None, algorithm="none"),
    ],
    ids=[
        "none",
        "empty",
        "basic",
        "garbage",
        "wrong-signature",
        "expired",
        "wrong-aud",
        "wrong-iss",
        "alg-none",
    ],
)
def test_protected_routes_answer_401_json_without_a_valid_token(shop: Shop, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for method, path in [("GET", "/api/v1/cart"), ("POST", "/api/v1/checkout"), ("GET", "/api/v1/orders/ord_1")]:
        assert (
            _error(shop.client.open(path, method=method, headers=headers, json={}), 401)["code"]
            == "unauthorized"
        )


def test_checkout_forwards_the_user_the_key_and_the_card_and_the_same_key_gives_the_same_order(
    shop: Shop,
) -> None:
    ada = shop.sign_up()
    first = shop.client.post(
        "/api/v1/checkout", json={"card": "4000000000000002"}, headers={**ada, "Idempotency-Key": "k1"}
    )
    again = shop.client.post("/api/v1/checkout", headers={**ada, "Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["order_id"] == again.get_json()["order_id"]
    sent = shop.orders.requests[0]
    assert sent.headers["Idempotency-Key"] == "k1" and sent.headers["X-User-ID"]
    assert json.loads(sent.content)["card"] == "4000000000000002"
    other = shop.client.post("/api/v1/checkout", headers=ada)
    assert other.status_code == 201 and other.get_json()["order_id"] != first.get_json()["order_id"]


def test_orders_are_visible_to_their_owner_only(shop: Shop) -> None:
    ada, bob = shop.sign_up("ada@example.com"), shop.sign_up("bob@example.com")
    order_id = shop.client.post("/api/v1/checkout", headers=ada).get_json()["order_id"]
    assert shop.client.get(f"/api/v1/orders/{order_id}", headers=ada).get_json()["status"] == "pending"
    _error(shop.client.get(f"/api/v1/orders/{order_id}", headers=bob), 404)
    assert [o["order_id"] for o in shop.client.get("/api/v1/orders", headers=ada).get_json()["items"]] == [
        order_id
    ]
    assert shop.client.get("/api/v1/orders", headers=bob).get_json()["items"] == []


def test_bad_checkout_bodies_are_4xx_json_errors(shop: Shop) -> None:
    ada = shop.sign_up()
    _error(shop.client.post("/api/v1/checkout", data="{", content_type="application/json", headers=ada), 400)
    _error(shop.client.post("/api/v1/checkout", json={"card": 42}, headers=ada), 422)
    _error(shop.client.post("/api/v1/checkout", json={}, headers={**ada, "Idempotency-Key": "k" * 500}), 400)


def test_the_openapi_document_marks_protected_routes_and_dependency_errors(shop: Shop) -> None:
    doc = shop.client.get("/openapi.json").get_json()
    assert doc["paths"]["/api/v1/cart"]["get"]["security"] == [{"bearerAuth": []}]
    assert {"401", "503", "504"} <= set(doc["paths"]["/api/v1/checkout"]["post"]["responses"])
    assert "security" not in doc["paths"]["/api/v1/products"]["get"]


# -- versions: /api/v1 is current, the unversioned /api is deprecated but still served ----------

DEPRECATION = "@1796083200"  # 2026-12-01T00:00:00Z, RFC 9745
SUNSET = "Tue, 01 Jun 2027 00:00:00 GMT"  # RFC 8594 HTTP-date


def test_an_unversioned_path_still_serves_and_names_its_successor_with_deprecation_headers(shop: Shop) -> None:
    ada = shop.sign_up()
    shop.client.post("/api/v1/cart/items", json={"product_id": 1, "qty": 2}, headers=ada)
    old = shop.client.get("/api/cart", headers=ada)
    assert old.status_code == 200 and old.get_json()["items"][0]["qty"] == 2
    assert old.headers["Deprecation"] == DEPRECATION
    assert old.headers["Sunset"] == SUNSET
    assert old.headers["Link"] == '</api/v1/cart>; rel="successor-version"'
    page = shop.client.get("/api/products/3")
    assert page.get_json()["id"] == 3 and page.headers["Link"] == '</api/v1/products/3>; rel="successor-version"'


def test_a_versioned_path_carries_no_deprecation_headers(shop: Shop) -> None:
    resp = shop.client.get("/api/v1/products")
    assert resp.status_code == 200
    assert not {"Deprecation", "Sunset", "Link"} & set(resp.headers.keys())


def test_bad_input_on_an_unversioned_path_is_a_json_error_that_still_carries_the_headers(shop: Shop) -> None:
    bad = shop.client.post("/api/auth/login", data="{", content_type="application/json")
    assert _error(bad, 400) and bad.headers["Deprecation"] == DEPRECATION
    invalid = shop.client.post("/api/auth/signup", json={"email": 42})
    assert _error(invalid, 422) and invalid.headers["Link"] == '</api/v1/auth/signup>; rel="successor-version"'
    missing = shop.client.get("/api/nothing-here")
    assert _error(missing, 404) and missing.headers["Sunset"] == SUNSET
    assert _error(shop.client.post("/api/v1/auth/signup", json={"email": 42}), 422)


def test_each_version_has_its_own_openapi_document_and_the_old_one_is_deprecated(shop: Shop) -> None:
    current = shop.client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/checkout" in current["paths"] and not any(not p.startswith(("/api/v1/", "/healthz", "/readyz"))
                                                                 for p in current["paths"])
    assert "deprecated" not in current["paths"]["/api/v1/products"]["get"]
    assert shop.client.get("/openapi.json").get_json()["paths"] == current["paths"]
    old = shop.client.get("/api/openapi.json")
    legacy = old.get_json()
    assert "/api/checkout" in legacy["paths"] and "/api/v1/checkout" not in legacy["paths"]
    assert legacy["paths"]["/api/products/{product_id}"]["get"]["deprecated"] is True
    assert old.headers["Link"] == '</api/v1/openapi.json>; rel="successor-version"'
