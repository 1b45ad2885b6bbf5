"""recommendations' words: products as catalog answers them, the catalog seam and the domain error."""

from __future__ import annotations

from typing import Protocol

from shop.kit.wire import CatalogProduct
from shop.kit.wire import UnknownProduct as UnknownProduct  # the shared word, spoken here too


class ProductSource(Protocol):
    """catalog, as recommendations sees it."""

    def list_products(self) -> list[CatalogProduct]:
        """Return every product."""
