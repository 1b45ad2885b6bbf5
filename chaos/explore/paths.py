"""The gateway's public API paths the explorer's journeys walk: the one place they are spelled."""

from __future__ import annotations

API = "/api"

SIGNUP = f"{API}/auth/signup"
LOGIN = f"{API}/auth/login"
PRODUCTS = f"{API}/products"
CART = f"{API}/cart"
CART_ITEMS = f"{API}/cart/items"
CHECKOUT = f"{API}/checkout"
ORDERS = f"{API}/orders"


def product(product_id: int) -> str:
    """Return the path of one product page."""
    return f"{PRODUCTS}/{product_id}"


def cart_item(product_id: int) -> str:
    """Return the path of one cart line."""
    return f"{CART_ITEMS}/{product_id}"


def order(order_id: str) -> str:
    """Return the path of one order."""
    return f"{ORDERS}/{order_id}"
