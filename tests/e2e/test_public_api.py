"""End-to-end tests of the gateway's public API on the native stack: auth, products, the
product page with and without recommendations, the cart, checkout through the gateway,
and bad input everywhere answered with the JSON error shape."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from shop.kit.auth import AUDIENCE, ISSUER
from shop.kit.public_api import LEGACY, V1
from shoplab.runtime.stack import Stack
from tests.support import poll_until

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
# A product these tests own in the cart and checkout (other e2e modules restock theirs).
CART_PRODUCT, CHECKOUT_PRODUCT = 11, 12


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.service_url("gateway") + "/api/v1", timeout=30) as client:
        yield client


def _sign_up(api: httpx.Client) -> tuple[str, dict[str, str]]:
    email = f"pub-{uuid.uuid4().hex[:12]}@example.test"
    resp = api.post("/auth/signup", json={"email": email, "password": PASSWORD, "name": "Public"})
    assert resp.status_code == 201, resp.text
    return email, {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _error(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    err: dict[str, Any] = resp.json()["error"]
    assert {"code", "message", "request_id"} <= set(err)
    return err


def test_sign_up_then_log_in_and_a_taken_email_or_a_wrong_password_is_refused(api: httpx.Client) -> None:
    email, _ = _sign_up(api)
    login = api.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["access_token"] and login.json()["token_type"] == "bearer"
    assert _error(api.post("/auth/signup", json={"email": email, "password": PASSWORD, "name": "Again"}), 409)
    assert _error(api.post("/auth/login", json={"email": email, "password": "wrong password"}), 401)


def test_the_catalog_lists_seeded_products_and_the_product_page_carries_recommendations(
    api: httpx.Client,
) -> None:
    items = api.get("/products").json()["items"]
    assert len(items) >= 20
    assert {"id", "name", "price_cents", "stock"} <= set(items[0])
    page = api.get(f"/products/{items[0]['id']}")
    assert page.status_code == 200, page.text
    assert page.json()["degraded"] == []
    assert page.json()["recommendations"]
    _error(api.get("/products/99999"), 404)


def test_the_product_page_degrades_without_recommendations_and_recovers_when_it_returns(
    api: httpx.Client, stack: Stack
) -> None:
    stack.stop_process("recommendations")
    try:
        resp = api.get("/products/1")
        assert resp.status_code == 200, resp.text
        assert resp.json()["degraded"] == ["recommendations"]
        assert resp.json()["recommendations"] == []
        assert resp.json()["id"] == 1
    finally:
        stack.start_process("recommendations")

    def recovered() -> bool:
        body = api.get("/products/1").json()
        return body["degraded"] == [] and bool(body["recommendations"])

    # The breaker may hold the edge open for its reset timeout: poll, do not sleep.
    poll_until(recovered, timeout_s=60, interval_s=0.5, message="the product page has recommendations again")


def test_the_product_page_degrades_when_recommendations_is_slow(
    api: httpx.Client, toxiproxy: httpx.Client
) -> None:
    toxic = {"name": "slow_recs", "type": "latency", "stream": "downstream", "attributes": {"latency": 5000}}
    toxiproxy.post("/proxies/gateway__recommendations/toxics", json=toxic).raise_for_status()
    resp = api.get("/products/2")
    assert resp.status_code == 200, resp.text
    assert resp.json()["degraded"] == ["recommendations"]
    assert resp.json()["id"] == 2
    toxiproxy.delete("/proxies/gateway__recommendations/toxics/slow_recs").raise_for_status()

    def recovered() -> bool:
        return bool(api.get("/products/2").json()["degraded"] == [])

    poll_until(recovered, timeout_s=60, interval_s=0.5, message="the product page has recommendations again")


def test_the_cart_can_be_filled_listed_and_emptied_by_its_owner_only(api: httpx.Client) -> None:
    _, ada = _sign_up(api)
    _, bob = _sign_up(api)
    added = api.post("/cart/items", json={"product_id": CART_PRODUCT, "qty": 2}, headers=ada)
    assert added.status_code == 200, added.text
    assert [(i["product_id"], i["qty"]) for i in added.json()["items"]] == [(CART_PRODUCT, 2)]
    assert added.json()["total_cents"] == 2 * added.json()["items"][0]["price_cents"]
    assert api.get("/cart", headers=ada).json() == added.json()
    assert api.get("/cart", headers=bob).json()["items"] == []
    removed = api.delete(f"/cart/items/{CART_PRODUCT}", headers=ada)
    assert removed.status_code == 200 and removed.json()["items"] == []


def test_checkout_through_the_gateway_is_idempotent_paid_and_private(api: httpx.Client) -> None:
    _, ada = _sign_up(api)
    _, bob = _sign_up(api)
    api.post("/cart/items", json={"product_id": CHECKOUT_PRODUCT, "qty": 1}, headers=ada)
    key = {"Idempotency-Key": f"pub-{uuid.uuid4().hex}"}
    first = api.post("/checkout", headers={**ada, **key})
    again = api.post("/checkout", headers={**ada, **key})
    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    order_id = first.json()["order_id"]
    assert first.json()["status"] == "pending" and again.json()["order_id"] == order_id

    def paid() -> bool:
        return bool(api.get(f"/orders/{order_id}", headers=ada).json()["status"] == "paid")

    poll_until(paid, timeout_s=60, interval_s=0.2, message=f"order {order_id} is paid")
    assert [o["order_id"] for o in api.get("/orders", headers=ada).json()["items"]] == [order_id]
    assert _error(api.get(f"/orders/{order_id}", headers=bob), 404)
    assert api.get("/orders", headers=bob).json()["items"] == []


def _forged(stack: Stack, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": "someone",
        "email": "x@example.test",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
    }
    key = str(overrides.pop("key", stack.jwt_secret))
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm="HS256")


def test_no_token_or_a_bad_token_is_a_401_json_error(api: httpx.Client, stack: Stack) -> None:
    unsigned = jwt.encode(
        {"sub": "someone", "iss": ISSUER, "aud": AUDIENCE, "exp": 2**31}, None, algorithm="none"
    )
    bad = {
        "no token": {},
        "not bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
        "garbage": {"Authorization": "Bearer not.a.token"},
        "alg none": {"Authorization": f"Bearer {unsigned}"},
        "wrong signature": {
            "Authorization": f"Bearer {_forged(stack, key='not-the-secret-not-the-secret-123')}"
        },
        "expired": {"Authorization": f"Bearer {_forged(stack, exp=int(time.time()) - 30)}"},
        "wrong audience": {"Authorization": f"Bearer {_forged(stack, aud='elsewhere')}"},
        "wrong issuer": {"Authorization": f"Bearer {_forged(stack, iss='elsewhere')}"},
    }
    for name, headers in bad.items():
        for method, path in [
            ("GET", "/cart"),
            ("POST", "/cart/items"),
            ("POST", "/checkout"),
            ("GET", "/orders"),
        ]:
            resp = api.request(method, path, headers=headers, json={"product_id": 1, "qty": 1})
            assert _error(resp, 401)["code"] == "unauthorized", f"{name}: {method} {path}"
    # A forged token with the right secret is accepted: the check is the signature, not a lookup.
    assert api.get("/cart", headers={"Authorization": f"Bearer {_forged(stack)}"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        (
            "POST",
            "/cart/items",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
        ),
        ("POST", "/cart/items", {"content": b"product_id=1", "headers": {"Content-Type": "text/plain"}}, 400),
        ("POST", "/cart/items", {"json": {"product_id": "one", "qty": 1}}, 422),
        ("POST", "/cart/items", {"json": {"product_id": 1, "qty": -3}}, 422),
        ("POST", "/cart/items", {"json": {"product_id": 1, "qty": 0}}, 422),
        ("POST", "/cart/items", {"json": [1, 2]}, 422),
        ("POST", "/cart/items", {"json": {"product_id": 987654, "qty": 1}}, 404),
        ("POST", "/checkout", {"json": {"card": 4242}}, 422),
        ("DELETE", "/cart/items/not-a-number", {}, 404),
        ("GET", "/products/-1", {}, 404),
        ("GET", "/products/99999999999999999999999", {}, 404),
        ("POST", "/auth/signup", {"json": {"email": "nope", "password": PASSWORD, "name": "X"}}, 422),
        ("POST", "/auth/signup", {"content": b"{", "headers": {"Content-Type": "application/json"}}, 400),
        ("POST", "/auth/login", {"json": {"email": 1, "password": PASSWORD}}, 422),
    ],
)
def test_bad_input_is_a_4xx_json_error_never_a_500(
    api: httpx.Client, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    _, auth = _sign_up(api) if path.startswith(("/cart", "/checkout")) else ("", {})
    headers = {**auth, **kwargs.pop("headers", {})}
    _error(api.request(method, path, headers=headers, **kwargs), status)


def test_every_service_publishes_its_openapi_document(stack: Stack) -> None:
    for name in ("gateway", "identity", "catalog", "cart", "recommendations"):
        doc = httpx.get(stack.service_url(name) + "/openapi.json", timeout=10).json()
        assert doc["openapi"].startswith("3.") and doc["paths"], name


def test_an_unversioned_path_answers_through_the_gateway_with_the_deprecation_headers(stack: Stack) -> None:
    with httpx.Client(base_url=stack.service_url("gateway"), timeout=30) as gw:
        old, new = gw.get(LEGACY.products), gw.get(V1.products)
        assert old.status_code == new.status_code == 200
        assert old.json()["items"] == new.json()["items"]
        assert old.headers["Deprecation"] == "@1796083200"
        assert old.headers["Sunset"] == "Tue, 01 Jun 2027 00:00:00 GMT"
        assert old.headers["Link"] == '</api/v1/products>; rel="successor-version"'
        assert "Deprecation" not in new.headers and "Link" not in new.headers
        bad = gw.post(LEGACY.login, json={"email": ["not", "a", "string"], "password": "x"})
        assert _error(bad, 422)["code"] == "validation_failed"
        assert bad.headers["Link"] == '</api/v1/auth/login>; rel="successor-version"'
        unknown = gw.get(LEGACY.order("no-such-order"))
        assert _error(unknown, 401) and unknown.headers["Deprecation"] == "@1796083200"
