"""gateway's words: the product page and the seams of its two product-page peers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shop.kit.wire import CatalogProduct

RECOMMENDATIONS = "recommendations"


class ProductSource(Protocol):
    """catalog, as the gateway sees it (critical: its errors propagate)."""

    def get_product(self, product_id: int) -> CatalogProduct:
        """Return one product; raise NotFound or a dependency error."""


class SuggestionSource(Protocol):
    """recommendations, as the gateway sees it (non-critical)."""

    def suggest(self, product_id: int, *, limit: int) -> list[dict[str, Any]] | None:
        """Return suggestions, or None when recommendations failed, timed out or is cut off."""


@dataclass(frozen=True)
class ProductPage:
    """A product, its suggestions, and the parts that could not be served."""

    product: CatalogProduct
    recommendations: list[dict[str, Any]]
    degraded: tuple[str, ...]
