"""gateway's typed wrappers over the resilient client, one per peer.

Peer 4xx answers pass through unchanged (``ensure_success``); transport failures,
timeouts and 5xx are the kit's 503/504. Only recommendations has a fallback.
"""

from __future__ import annotations

from typing import Any

import structlog

from shop.kit.errors import DependencyError
from shop.kit.peers import ensure_success, get_json, path_segment
from shop.kit.plants import is_planted
from shop.kit.resilience import ResilientClient
from shop.kit.resilience.shedding import may_serve_part
from shop.kit.wire import CatalogProduct, decode_product, decode_products

log = structlog.get_logger(__name__)


def _user(user_id: str) -> dict[str, str]:
    return {"X-User-ID": user_id}


class IdentityClient:
    """Sign up and log in through identity."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def sign_up(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a user; 409 taken passes through."""
        return get_json(ensure_success(self.client.post("/users", json=body), "identity"), "identity")

    def log_in(self, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange credentials for a token; 401 passes through."""
        return get_json(ensure_success(self.client.post("/tokens", json=body), "identity"), "identity")


class CatalogClient:
    """Read products from catalog."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def list_products(self) -> list[CatalogProduct]:
        """Return the catalog."""
        return decode_products(get_json(ensure_success(self.client.get("/products"), "catalog"), "catalog"))

    def get_product(self, product_id: int) -> CatalogProduct:
        """Return one product; 404 passes through."""
        resp = ensure_success(self.client.get(f"/products/{product_id}"), "catalog")
        return decode_product(get_json(resp, "catalog"))


class RecommendationsClient:
    """Suggestions, with a fallback: any failure means "no suggestions" (None)."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def suggest(self, product_id: int, *, limit: int) -> list[dict[str, Any]] | None:
        """Return suggestions, or None when recommendations cannot give them."""
        if not may_serve_part("recommendations", service="gateway"):
            return None

        def no_suggestions(_exc: DependencyError) -> None:
            return None

        resp = self.client.get(
            f"/recommendations/{product_id}", params={"limit": limit},
            fallback=None if is_planted("no_fallback") else no_suggestions,  # PLANTED BUG: no fallback, the page fails
        )
        if resp is None:
            return None
        if resp.status_code != 200:
            log.warning("recommendations_refused", status=resp.status_code)
            return None
        try:
            items = resp.json()["items"]
        except (ValueError, KeyError, TypeError):
            return None
        return items if isinstance(items, list) else None


class CartClient:
    """Read and change the caller's cart."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def get_cart(self, user_id: str) -> dict[str, Any]:
        """Return the user's cart."""
        return get_json(
            ensure_success(
                self.client.get(f"/carts/{path_segment(user_id)}", headers=_user(user_id)), "cart"
            ),
            "cart",
        )

    def add_item(self, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Add units of a product; 404/422 pass through."""
        resp = self.client.post(f"/carts/{path_segment(user_id)}/items", json=body, headers=_user(user_id))
        return get_json(ensure_success(resp, "cart"), "cart")

    def remove_item(self, user_id: str, product_id: int) -> dict[str, Any]:
        """Remove a product from the cart."""
        resp = self.client.delete(
            f"/carts/{path_segment(user_id)}/items/{product_id}", headers=_user(user_id)
        )
        return get_json(ensure_success(resp, "cart"), "cart")


class OrdersClient:
    """Check out and read the caller's orders."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def checkout(self, user_id: str, *, card: str | None, idempotency_key: str) -> tuple[dict[str, Any], int]:
        """Create (or find, by key) the user's order; return it with orders' status code."""
        body: dict[str, Any] = {"user_id": user_id}
        if card is not None:
            body["card"] = card
        resp = self.client.post("/orders", json=body, idempotency_key=idempotency_key, headers=_user(user_id))
        return get_json(ensure_success(resp, "orders"), "orders"), resp.status_code

    def get_order(self, user_id: str, order_id: str) -> dict[str, Any]:
        """Return one of the user's orders; anyone else's is a 404."""
        resp = self.client.get(f"/orders/{path_segment(order_id)}", headers=_user(user_id))
        return get_json(ensure_success(resp, "orders"), "orders")

    def get_notifications(self, user_id: str, order_id: str) -> dict[str, Any]:
        """Return the emails sent about one of the user's orders; anyone else's is a 404."""
        resp = self.client.get(f"/orders/{path_segment(order_id)}/notifications", headers=_user(user_id))
        return get_json(ensure_success(resp, "orders"), "orders")

    def list_orders(self, user_id: str) -> dict[str, Any]:
        """Return the user's orders."""
        resp = self.client.get("/orders", params={"user_id": user_id}, headers=_user(user_id))
        return get_json(ensure_success(resp, "orders"), "orders")
