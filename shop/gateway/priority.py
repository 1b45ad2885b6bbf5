"""Rank the gateway's public requests for priority load shedding (``shop.kit.resilience.shedding``).

Checkout before cart (and the session: sign-up, login, orders) before browse; the product
page's recommendations are an optional part, skipped first (``RecommendationsClient``).
"""

from __future__ import annotations


def classify_request(method: str, path: str) -> str | None:
    """Return the priority of ``method path``; None for anything outside the public API (never shed)."""
    if not path.startswith("/api/"):
        return None
    if path == "/api/checkout" and method == "POST":
        return "checkout"
    if path.startswith(("/api/cart", "/api/orders", "/api/auth", "/api/checkout")):
        return "cart"
    return "browse"
