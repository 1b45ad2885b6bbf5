"""gateway's words: the product page and the seams of its two product-page peers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shop.kit.public_api import V1, V1_PREFIX, is_legacy_path, successor_path
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


# Priority load shedding (``shop.kit.resilience.shedding``): checkout before cart (and the
# session: sign-up, login, orders) before browse; the product page's recommendations are an
# optional part, skipped first (``RecommendationsClient``).
def classify_request(method: str, path: str) -> str | None:
    """Return the priority of ``method path``; None for anything outside the public API (never shed).

    The deprecated unversioned paths rank like their ``/api/v1`` successors.
    """
    if is_legacy_path(path):
        path = successor_path(path)
    if not path.startswith(V1_PREFIX + "/"):
        return None
    if path == V1.checkout and method == "POST":
        return "checkout"
    if path.startswith((V1.cart, V1.orders, V1_PREFIX + "/auth", V1.checkout)):
        return "cart"
    return "browse"
