"""recommendations' HTTP API: GET /recommendations/<product_id>?limit=4."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app
from pydantic import Field

from shop.kit import api_spec
from shop.kit.api_spec import INT_ID, ApiModel, QueryModel, operation
from shop.kit.config import KitSettings
from shop.kit.errors import NotFound, map_domain_errors
from shop.recommendations.bootstrap import bootstrap, get_deps
from shop.recommendations.model import UnknownProduct
from shop.recommendations.service import RecommendationService

bp = Blueprint("recommendations", __name__)
map_domain_errors(bp, {UnknownProduct: NotFound})


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
    return get_deps(current_app).service


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
    items = _service().recommend(product_id, limit=query.limit)
    return RecommendationsOut(
        product_id=product_id,
        items=[SuggestionOut(id=p.id, name=p.name, price_cents=p.price_cents) for p in items],
    )


def init_app(app: Flask, kit: KitSettings, *, env: dict[str, str] | None = None) -> None:
    """Build recommendations' dependencies and register its routes on ``app`` (the kit's setup hook)."""
    bootstrap(app, kit, env)
    app.register_blueprint(bp)
    api_spec.init_app(app)
