"""Unit tests of cart's domain with a fake store and a fake catalog."""

from __future__ import annotations

import pytest

from shop.cart.model import MAX_LINE_QTY, ProductInfo, QuantityLimit, UnknownProduct
from shop.cart.service import CartService

pytestmark = pytest.mark.unit


class FakeCatalog:
    def __init__(self) -> None:
        self.products = {1: ProductInfo(1, "Pan", 1500), 2: ProductInfo(2, "Kite", 250)}
        self.list_calls = 0

    def get_product(self, product_id: int) -> ProductInfo | None:
        return self.products.get(product_id)

    def list_products(self) -> dict[int, ProductInfo]:
        self.list_calls += 1
        return dict(self.products)


class FakeStore:
    def __init__(self) -> None:
        self.lines: dict[str, dict[int, int]] = {}

    def get_lines(self, user_id: str) -> dict[int, int]:
        return dict(self.lines.get(user_id, {}))

    def add_qty(self, user_id: str, product_id: int, qty: int, *, max_qty: int) -> int:
        cart = self.lines.setdefault(user_id, {})
        new = cart.get(product_id, 0) + qty
        if new > max_qty:
            raise QuantityLimit("too many")
        cart[product_id] = new
        return new

    def remove(self, user_id: str, product_id: int) -> None:
        self.lines.get(user_id, {}).pop(product_id, None)

    def get_lines_at_version(self, user_id: str) -> tuple[dict[int, int], int]:
        return self.get_lines(user_id), 0

    def clear(self, user_id: str, up_to_version: int | None = None) -> None:
        self.lines.pop(user_id, None)


def _service() -> tuple[CartService, FakeCatalog]:
    catalog = FakeCatalog()
    return CartService(FakeStore(), catalog), catalog


def test_adding_items_accumulates_quantities_and_prices_lines_from_the_catalog() -> None:
    service, _ = _service()
    service.add_item("u1", 1, 2)
    cart = service.add_item("u1", 1, 1)
    cart = service.add_item("u1", 2, 4)
    assert [(i.product_id, i.qty, i.line_total_cents) for i in cart.items] == [(1, 3, 4500), (2, 4, 1000)]
    assert cart.total_cents == 5500


def test_carts_are_per_user() -> None:
    service, _ = _service()
    service.add_item("u1", 1, 1)
    assert service.get_cart("u2").items == ()


def test_an_unknown_product_is_refused_and_not_stored() -> None:
    service, _ = _service()
    with pytest.raises(UnknownProduct):
        service.add_item("u1", 42, 1)
    assert service.get_cart("u1").items == ()


def test_a_line_holds_at_most_the_quantity_limit() -> None:
    service, _ = _service()
    service.add_item("u1", 1, MAX_LINE_QTY)
    with pytest.raises(QuantityLimit):
        service.add_item("u1", 1, 1)


def test_prices_follow_the_catalog_and_vanished_products_are_left_out() -> None:
    service, catalog = _service()
    service.add_item("u1", 1, 1)
    service.add_item("u1", 2, 1)
    catalog.products[1] = ProductInfo(1, "Pan", 2000)
    del catalog.products[2]
    cart = service.get_cart("u1")
    assert [(i.product_id, i.price_cents) for i in cart.items] == [(1, 2000)]


def test_removing_and_clearing_are_idempotent_and_clearing_needs_no_catalog() -> None:
    service, catalog = _service()
    service.add_item("u1", 1, 1)
    service.add_item("u1", 2, 1)
    assert [i.product_id for i in service.remove_item("u1", 1).items] == [2]
    assert [i.product_id for i in service.remove_item("u1", 1).items] == [2]
    calls = catalog.list_calls
    assert service.clear("u1")[1] == 0
    assert service.clear("u1")[1] == 0
    assert catalog.list_calls == calls


def test_an_empty_cart_is_answered_without_asking_the_catalog() -> None:
    service, catalog = _service()
    assert service.get_cart("nobody").total_cents == 0
    assert catalog.list_calls == 0
