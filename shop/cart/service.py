"""cart's domain: one cart per user, priced with catalog's current prices (no Flask)."""

from __future__ import annotations

import structlog

from shop.cart.model import (
    MAX_LINE_QTY,
    Cart,
    CartLine,
    CartRepository,
    ProductSource,
    UnknownProduct,
)

log = structlog.get_logger(__name__)


class CartService:
    """Read and change carts."""

    def __init__(self, store: CartRepository, catalog: ProductSource) -> None:
        self.store = store
        self.catalog = catalog

    def get_cart(self, user_id: str) -> Cart:
        """Return the user's cart priced at catalog's current prices (an unknown user has an empty cart)."""
        lines, version = self.store.get_lines_at_version(user_id)
        if not lines:
            return Cart(user_id, (), version)
        products = self.catalog.list_products()
        priced = []
        for product_id, qty in lines.items():
            product = products.get(product_id)
            if product is None:
                # A product gone from the catalog cannot be bought: leave it out of the price.
                log.warning("cart_product_missing", product_id=product_id)
                continue
            priced.append(CartLine(product_id, product.name, qty, product.price_cents))
        return Cart(user_id, tuple(priced), version)

    def add_item(self, user_id: str, product_id: int, qty: int) -> Cart:
        """Add ``qty`` units of a product; raise UnknownProduct or QuantityLimit."""
        if self.catalog.get_product(product_id) is None:
            raise UnknownProduct(product_id)
        self.store.add_qty(user_id, product_id, qty, max_qty=MAX_LINE_QTY)
        return self.get_cart(user_id)

    def remove_item(self, user_id: str, product_id: int) -> Cart:
        """Remove a product from the cart (idempotent)."""
        self.store.remove(user_id, product_id)
        return self.get_cart(user_id)

    def clear(self, user_id: str, up_to_version: int | None = None) -> tuple[int, int]:
        """Empty the cart, or only the lines of ``up_to_version`` and before; return (version, lines left).

        Idempotent, and needs no catalog: the saga clears carts while catalog may be down.
        """
        self.store.clear(user_id, up_to_version)
        lines, version = self.store.get_lines_at_version(user_id)
        return version, len(lines)
