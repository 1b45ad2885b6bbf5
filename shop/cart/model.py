"""cart's words: products as the cart sees them, priced lines and carts, the seams and the domain errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shop.kit.wire import UnknownProduct as UnknownProduct  # the shared word, spoken here too

MAX_LINE_QTY = 100  # units of one product in one cart line


@dataclass(frozen=True)
class ProductInfo:
    """What the cart needs to know about a product.

    Not ``shop.kit.wire.CatalogProduct``: the cart→catalog contract promises only these
    three fields, so the cart must not depend on catalog's category or stock.
    """

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
    # Grows with every change; a checkout orders one version and clears only that one.
    version: int = 0

    @property
    def total_cents(self) -> int:
        """Return the sum of the line totals."""
        return sum(line.line_total_cents for line in self.items)




class QuantityLimit(Exception):
    """A line would hold more than MAX_LINE_QTY units."""

    code = "qty_limit"


class ProductSource(Protocol):
    """catalog, as the cart sees it."""

    def get_product(self, product_id: int) -> ProductInfo | None:
        """Return one product or None when catalog does not know it."""

    def list_products(self) -> dict[int, ProductInfo]:
        """Return every product by id."""


class CartRepository(Protocol):
    """Where cart lines (product id → qty) live (``CartStore`` implements it)."""

    def get_lines(self, user_id: str) -> dict[int, int]:
        """Return the user's lines, in the order they were first added."""

    def add_qty(self, user_id: str, product_id: int, qty: int, *, max_qty: int) -> int:
        """Add ``qty`` to a line atomically and return the new qty; raise QuantityLimit past ``max_qty``."""

    def remove(self, user_id: str, product_id: int) -> None:
        """Remove one line (no-op when absent)."""

    def get_lines_at_version(self, user_id: str) -> tuple[dict[int, int], int]:
        """Return the user's lines and the cart version they belong to, from one snapshot."""

    def clear(self, user_id: str, up_to_version: int | None = None) -> None:
        """Remove every line of the user's cart, or only those last changed at or before ``up_to_version``."""
