"""cart's domain: one cart per user, priced with catalog's current prices (no Flask)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

MAX_LINE_QTY = 100


@dataclass(frozen=True)
class ProductInfo:
    """What the cart needs to know about a product."""

    id: int
    name: str
    price_cents: int


@dataclass(frozen=True)
class CartLine:
    """A priced line of a cart."""

    product_id: int
    name: str
    qty: int
    price_cents: int

    @property
    def line_total_cents(self) -> int:
        """Return qty × unit price."""
        return self.qty * self.price_cents


@dataclass(frozen=True)
class Cart:
    """A user's priced cart."""

    user_id: str
    items: tuple[CartLine, ...]

    @property
    def total_cents(self) -> int:
        """Return the sum of the line totals."""
        return sum(line.line_total_cents for line in self.items)


class UnknownProduct(Exception):
    """The catalog has no such product."""

    def __init__(self, product_id: int) -> None:
        super().__init__(f"product {product_id} does not exist")
        self.product_id = product_id


class QuantityLimit(Exception):
    """A line would hold more than MAX_LINE_QTY units."""


class ProductSource(Protocol):
    """catalog, as the cart sees it."""

    def get_product(self, product_id: int) -> ProductInfo | None:
        """Return one product or None when catalog does not know it."""

    def list_products(self) -> dict[int, ProductInfo]:
        """Return every product by id."""


class CartStore(Protocol):
    """Where cart lines (product id → qty) live."""

    def get_lines(self, user_id: str) -> dict[int, int]:
        """Return the user's lines, in the order they were first added."""

    def add_qty(self, user_id: str, product_id: int, qty: int, *, max_qty: int) -> int:
        """Add ``qty`` to a line atomically and return the new qty; raise QuantityLimit past ``max_qty``."""

    def remove(self, user_id: str, product_id: int) -> None:
        """Remove one line (no-op when absent)."""

    def clear(self, user_id: str) -> None:
        """Remove every line of the user's cart."""


class CartService:
    """Read and change carts."""

    def __init__(self, store: CartStore, catalog: ProductSource) -> None:
        self.store = store
        self.catalog = catalog

    def get_cart(self, user_id: str) -> Cart:
        """Return the user's cart priced at catalog's current prices (an unknown user has an empty cart)."""
        lines = self.store.get_lines(user_id)
        if not lines:
            return Cart(user_id, ())
        products = self.catalog.list_products()
        priced = []
        for product_id, qty in lines.items():
            product = products.get(product_id)
            if product is None:
                # A product gone from the catalog cannot be bought: leave it out of the price.
                log.warning("cart_product_missing", product_id=product_id)
                continue
            priced.append(CartLine(product_id, product.name, qty, product.price_cents))
        return Cart(user_id, tuple(priced))

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

    def clear(self, user_id: str) -> Cart:
        """Empty the cart (idempotent; needs no catalog)."""
        self.store.clear(user_id)
        return Cart(user_id, ())
