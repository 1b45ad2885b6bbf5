"""cart's typed view of catalog, over the resilient client (the ``cart__catalog`` edge)."""

from __future__ import annotations

from shop.cart.model import ProductInfo
from shop.kit.peers import ensure_success, get_json
from shop.kit.resilience import ResilientClient


class CatalogClient:
    """Read products from catalog; failures come out as the kit's 503/504 errors."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def get_product(self, product_id: int) -> ProductInfo | None:
        """Return one product, or None when catalog answers 404."""
        resp = self.client.get(f"/products/{product_id}")
        if resp.status_code == 404:
            return None
        body = get_json(ensure_success(resp, "catalog"), "catalog")
        return _product(body)

    def list_products(self) -> dict[int, ProductInfo]:
        """Return every product by id."""
        body = get_json(ensure_success(self.client.get("/products"), "catalog"), "catalog")
        products = (_product(item) for item in body["items"])
        return {p.id: p for p in products}


def _product(body: dict[str, object]) -> ProductInfo:
    return ProductInfo(
        id=int(str(body["id"])), name=str(body["name"]), price_cents=int(str(body["price_cents"]))
    )
