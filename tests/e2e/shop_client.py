"""A small client over the shop's internal APIs for the checkout e2e tests (gateway-independent)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shoplab.runtime.stack import Stack
from tests.support import poll_until

TERMINAL = ("paid", "payment_failed", "rejected")
DECLINE_CARD = "4000000000000002"


class ShopClient:
    """Call identity, catalog, cart, orders, payments and notifications of a running stack."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.http = httpx.Client(timeout=30)
        self.admin_headers = stack.admin_headers()

    def url(self, service: str, path: str) -> str:
        return self.stack.service_url(service) + path

    def close(self) -> None:
        self.http.close()

    # -- users and carts -----------------------------------------------------------------------
    def signup(self) -> str:
        email = f"e2e-{uuid.uuid4().hex[:12]}@example.test"
        resp = self.http.post(self.url("identity", "/users"),
                              json={"email": email, "password": "correct horse battery", "name": "E2E"})
        assert resp.status_code == 201, resp.text
        return str(resp.json()["user_id"])

    def add_to_cart(self, user_id: str, product_id: int, qty: int) -> dict[str, Any]:
        resp = self.http.post(self.url("cart", f"/carts/{user_id}/items"), json={"product_id": product_id, "qty": qty})
        assert resp.status_code in (200, 201), resp.text
        body: dict[str, Any] = resp.json()
        return body

    def cart(self, user_id: str) -> dict[str, Any]:
        resp = self.http.get(self.url("cart", f"/carts/{user_id}"))
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    # -- catalog ---------------------------------------------------------------------------------
    def product(self, product_id: int) -> dict[str, Any]:
        resp = self.http.get(self.url("catalog", f"/products/{product_id}"))
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def set_stock(self, product_id: int, stock: int) -> None:
        resp = self.http.put(self.url("catalog", f"/admin/products/{product_id}/stock"), json={"stock": stock},
                             headers=self.admin_headers)
        assert resp.status_code == 200, resp.text

    # -- orders ----------------------------------------------------------------------------------
    def checkout(self, user_id: str, *, card: str | None = None, key: str | None = None) -> httpx.Response:
        headers = {"X-User-ID": user_id}
        if key:
            headers["Idempotency-Key"] = key
        body: dict[str, Any] = {"user_id": user_id}
        if card:
            body["card"] = card
        return self.http.post(self.url("orders", "/orders"), json=body, headers=headers)

    def order(self, user_id: str, order_id: str) -> httpx.Response:
        return self.http.get(self.url("orders", f"/orders/{order_id}"), headers={"X-User-ID": user_id})

    def wait_until_finished(self, user_id: str, order_id: str, timeout_s: float = 60) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            body: dict[str, Any] = self.order(user_id, order_id).json()
            return body if body["status"] in TERMINAL else None

        return poll_until(finished, timeout_s=timeout_s, interval_s=0.1, message=f"order {order_id} finishes")

    # -- payments and notifications --------------------------------------------------------------
    def charges_for(self, order_id: str) -> list[dict[str, Any]]:
        resp = self.http.get(self.url("payments", "/admin/audit"), headers=self.admin_headers)
        assert resp.status_code == 200, resp.text
        return [c for c in resp.json()["charges"] if c["order_id"] == order_id]

    def notifications(self, user_id: str) -> list[dict[str, Any]]:
        resp = self.http.get(self.url("notifications", "/notifications"), params={"user_id": user_id})
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()["items"]
        return items

    def wait_for_notification(self, user_id: str, order_id: str, event_type: str,
                              timeout_s: float = 30) -> dict[str, Any]:
        def sent() -> dict[str, Any] | None:
            for item in self.notifications(user_id):
                if item["order_id"] == order_id and item["type"] == event_type:
                    return item
            return None

        return poll_until(sent, timeout_s=timeout_s, interval_s=0.1,
                          message=f"{event_type} notification for {order_id}")

    def base_urls(self) -> dict[str, str]:
        return {name: self.stack.service_url(name) for name in self.stack.topology.service_names}
