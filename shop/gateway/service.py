"""gateway's own logic: compose the product page, degrading non-critical parts (no Flask)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

RECOMMENDATIONS = "recommendations"


class ProductSource(Protocol):
    """catalog, as the gateway sees it (critical: its errors propagate)."""

    def get_product(self, product_id: int) -> dict[str, Any]:
        """Return one product; raise NotFound or a dependency error."""


class SuggestionSource(Protocol):
    """recommendations, as the gateway sees it (non-critical)."""

    def suggest(self, product_id: int, *, limit: int) -> list[dict[str, Any]] | None:
        """Return suggestions, or None when recommendations failed, timed out or is cut off."""


@dataclass(frozen=True)
class ProductPage:
    """A product, its suggestions, and the parts that could not be served."""

    product: dict[str, Any]
    recommendations: list[dict[str, Any]]
    degraded: tuple[str, ...]


class GatewayService:
    """Compose answers from several services."""

    def __init__(self, catalog: ProductSource, recommendations: SuggestionSource, *, limit: int = 4) -> None:
        self.catalog = catalog
        self.recommendations = recommendations
        self.limit = limit

    def get_product_page(self, product_id: int) -> ProductPage:
        """Return the product page; without suggestions (and saying so) when recommendations fails."""
        product = self.catalog.get_product(product_id)
        suggestions = self.recommendations.suggest(product_id, limit=self.limit)
        if suggestions is None:
            return ProductPage(product, [], (RECOMMENDATIONS,))
        return ProductPage(product, suggestions, ())
