"""recommendations' domain: suggest products like a given one (no Flask)."""

from __future__ import annotations

from shop.kit.wire import CatalogProduct
from shop.recommendations.model import ProductSource, UnknownProduct


def rank_popular(products: list[CatalogProduct]) -> list[CatalogProduct]:
    """Order products most popular first: in stock before sold out, then fewest units left (most sold), then id."""
    return sorted(products, key=lambda p: (p.stock == 0, p.stock, p.id))


class RecommendationService:
    """Suggest products: same category first, then popular ones."""

    def __init__(self, catalog: ProductSource) -> None:
        self.catalog = catalog

    def recommend(self, product_id: int, *, limit: int) -> list[CatalogProduct]:
        """Return up to ``limit`` other products for ``product_id``; raise UnknownProduct."""
        products = self.catalog.list_products()
        target = next((p for p in products if p.id == product_id), None)
        if target is None:
            raise UnknownProduct(product_id)
        others = [p for p in products if p.id != product_id]
        same = rank_popular([p for p in others if p.category == target.category])
        rest = rank_popular([p for p in others if p.category != target.category])
        return (same + rest)[:limit]
