"""gateway's own logic: compose the product page, degrading non-critical parts (no Flask)."""

from __future__ import annotations

from shop.gateway.model import RECOMMENDATIONS, ProductPage, ProductSource, SuggestionSource


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
