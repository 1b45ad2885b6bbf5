"""recommendations' typed view of catalog, over the resilient client (the ``recommendations__catalog`` edge)."""

from __future__ import annotations

from shop.kit.peers import ensure_success, get_json
from shop.kit.resilience import ResilientClient
from shop.kit.wire import CatalogProduct, decode_products


class CatalogClient:
    """Read the catalog; failures come out as the kit's 503/504 errors."""

    def __init__(self, client: ResilientClient) -> None:
        self.client = client

    def list_products(self) -> list[CatalogProduct]:
        """Return every product."""
        return decode_products(get_json(ensure_success(self.client.get("/products"), "catalog"), "catalog"))
