"""Helpers every test tier shares: polling with a deadline instead of sleeping (the runtime's own), the journeys' routes."""

from __future__ import annotations

from shoplab.runtime.errors import PollTimeout
from shoplab.runtime.polling import poll_until

__all__ = ["JOURNEY_ROUTES", "PollTimeout", "poll_until"]

# Every request a shopper's journey mix makes, as Locust names it (written out, not built from
# shop.kit.public_api, so a renamed path fails the load tests instead of moving with them).
JOURNEY_ROUTES = frozenset({
    "POST /api/v1/auth/signup",
    "POST /api/v1/auth/login",
    "GET /api/v1/products",
    "GET /api/v1/products/[id]",
    "POST /api/v1/cart/items",
    "GET /api/v1/cart",
    "DELETE /api/v1/cart/items/[product_id]",
    "POST /api/v1/checkout",
    "GET /api/v1/orders/[id]",
})
