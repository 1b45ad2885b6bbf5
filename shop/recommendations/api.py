"""recommendations' HTTP API: GET /recommendations/<product_id>?limit=4."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app
from pydantic import Field

from shop.kit import api_spec
from shop.kit.api_spec import INT_ID, ApiModel, QueryModel, operation
from shop.kit.app import get_kit
from shop.kit.config import KitSettings
from shop.kit.errors import NotFound
from shop.kit.resilience import make_clients
from shop.recommendations.clients import CatalogClient
from shop.recommendations.service import RecommendationService, UnknownProduct

bp = Blueprint("recommendations", __name__)


class LimitQuery(QueryModel):
    """How many suggestions to return."""

    limit: int = Field(default=4, ge=1, le=20)


class SuggestionOut(ApiModel):
    """A suggested product."""

    id: int
    name: str
    price_cents: int


class RecommendationsOut(ApiModel):
    """Suggestions for one product."""

    product_id: int
    items: list[SuggestionOut]


def _service() -> RecommendationService:
    service: RecommendationService = get_kit(current_app).extras["service"]
    return service


@operation(
    bp,
    "GET",
    f"/recommendations/<{INT_ID}:product_id>",
    query=LimitQuery,
    responses={200: RecommendationsOut},
    peers=("catalog",),
)
def recommend(product_id: int, query: LimitQuery) -> RecommendationsOut:
    """Suggest products like this one: same category first, then popular; 404 unknown product."""
    try:
        items = _service().recommend(product_id, limit=query.limit)
    except UnknownProduct as exc:
        raise NotFound(str(exc), code="unknown_product", details={"product_id": exc.product_id}) from None
    return RecommendationsOut(
        product_id=product_id,
        items=[SuggestionOut(id=p.id, name=p.name, price_cents=p.price_cents) for p in items],
    )


def init_app(app: Flask, kit: KitSettings) -> None:
    """Wire the catalog client and routes into ``app`` (recommendations keeps no data of its own)."""
    clients = make_clients(app, kit)
    get_kit(app).extras["service"] = RecommendationService(CatalogClient(clients["catalog"]))
    app.register_blueprint(bp)
    api_spec.init_app(app)
