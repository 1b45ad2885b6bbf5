"""Decode the answers that more than one caller reads, in one place: catalog's products.

``UnknownProduct`` is the one domain error for a product id nobody sells (catalog raises it;
cart and recommendations raise it when catalog says 404).

Each caller keeps its own client (the unit under contract test); only the decoding of
a shared body lives here, so four callers cannot parse one product four ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shop.kit.errors import DependencyUnavailable


class UnknownProduct(Exception):
    """No product has this id: catalog's own answer, and what its callers conclude from a 404."""

    code = "unknown_product"

    def __init__(self, product_id: int) -> None:
        super().__init__(f"product {product_id} does not exist")
        self.product_id = product_id

    @property
    def details(self) -> dict[str, Any]:
        """Name the product, so a client can tell which line failed."""
        return {"product_id": self.product_id}


@dataclass(frozen=True)
class CatalogProduct:
    """A product as catalog answers it on ``GET /products[/<id>]``."""

    id: int
    name: str
    category: str
    price_cents: int
    stock: int


def decode_product(body: Any, *, dependency: str = "catalog") -> CatalogProduct:
    """Return the product in ``body``; a body without the product fields is the peer's failure (503)."""
    try:
        if not isinstance(body, Mapping):
            raise TypeError(type(body).__name__)
        return CatalogProduct(
            id=int(body["id"]),
            name=str(body["name"]),
            category=str(body["category"]),
            price_cents=int(body["price_cents"]),
            stock=int(body["stock"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DependencyUnavailable(
            f"{dependency} answered a product without {exc}", dependency=dependency
        ) from None


def decode_products(body: Any, *, dependency: str = "catalog") -> list[CatalogProduct]:
    """Return the products of a ``{"items": [...]}`` listing."""
    try:
        items = body["items"]
    except (KeyError, TypeError):
        raise DependencyUnavailable(f"{dependency} answered a listing without items", dependency=dependency) from None
    if not isinstance(items, list):
        raise DependencyUnavailable(f"{dependency} answered items that are not a list", dependency=dependency)
    return [decode_product(item, dependency=dependency) for item in items]
