"""Unit tests of recommendations' domain with a fake catalog."""

from __future__ import annotations

import pytest

from shop.recommendations.service import ProductInfo, RecommendationService, UnknownProduct

pytestmark = pytest.mark.unit


class FakeCatalog:
    def __init__(self, products: list[ProductInfo]) -> None:
        self.products = products

    def list_products(self) -> list[ProductInfo]:
        return list(self.products)


PRODUCTS = [
    ProductInfo(1, "Pan", 1000, "kitchen", 50),
    ProductInfo(2, "Knife", 2000, "kitchen", 10),
    ProductInfo(3, "Kettle", 3000, "kitchen", 0),
    ProductInfo(4, "Kite", 500, "toys", 5),
    ProductInfo(5, "Cube", 700, "toys", 90),
    ProductInfo(6, "Lamp", 900, "outdoor", 1),
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
