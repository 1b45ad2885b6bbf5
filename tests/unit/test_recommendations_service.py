"""Unit tests of recommendations' domain with a fake catalog."""

from __future__ import annotations

import pytest

from shop.kit.wire import CatalogProduct
from shop.recommendations.model import UnknownProduct
from shop.recommendations.service import RecommendationService

pytestmark = pytest.mark.unit


class FakeCatalog:
    def __init__(self, products: list[CatalogProduct]) -> None:
        self.products = products

    def list_products(self) -> list[CatalogProduct]:
        return list(self.products)


PRODUCTS = [
    CatalogProduct(id=1, name="Pan", price_cents=1000, category="kitchen", stock=50),
    CatalogProduct(id=2, name="Knife", price_cents=2000, category="kitchen", stock=10),
    CatalogProduct(id=3, name="Kettle", price_cents=3000, category="kitchen", stock=0),
    CatalogProduct(id=4, name="Kite", price_cents=500, category="toys", stock=5),
    CatalogProduct(id=5, name="Cube", price_cents=700, category="toys", stock=90),
    CatalogProduct(id=6, name="Lamp", price_cents=900, category="outdoor", stock=1),
]


def test_suggestions_put_the_same_category_first_then_popular_products_and_never_the_product_itself() -> None:
    items = RecommendationService(FakeCatalog(PRODUCTS)).recommend(1, limit=4)
    assert [p.id for p in items] == [2, 3, 6, 4]


def test_the_limit_bounds_the_suggestions() -> None:
    service = RecommendationService(FakeCatalog(PRODUCTS))
    assert len(service.recommend(4, limit=2)) == 2
    assert len(service.recommend(4, limit=20)) == len(PRODUCTS) - 1


def test_an_unknown_product_is_refused() -> None:
    with pytest.raises(UnknownProduct):
        RecommendationService(FakeCatalog(PRODUCTS)).recommend(99, limit=4)
