"""Decode the answers that more than one caller reads, in one place: catalog's products.

Each caller keeps its own client (the unit under contract test); only the decoding of
a shared body lives here, so four callers cannot parse one product four ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shop.kit.errors import DependencyUnavailable


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
