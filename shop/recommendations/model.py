"""recommendations' words: products as catalog answers them, the catalog seam and the domain error."""

from __future__ import annotations

from typing import Any, Protocol

from shop.kit.wire import CatalogProduct


class UnknownProduct(Exception):
    """The catalog has no such product."""

    code = "unknown_product"

    def __init__(self, product_id: int) -> None:
        super().__init__(f"product {product_id} does not exist")
        self.product_id = product_id

    @property
    def details(self) -> dict[str, Any]:
        """Name the product."""
        return {"product_id": self.product_id}


class ProductSource(Protocol):
    """catalog, as recommendations sees it."""

    def list_products(self) -> list[CatalogProduct]:
        """Return every product."""
