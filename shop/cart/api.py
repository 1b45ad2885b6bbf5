"""cart's HTTP API: read, add to, remove from and clear a user's cart."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app
from pydantic import Field

from shop.cart.bootstrap import bootstrap, get_deps
from shop.cart.model import MAX_LINE_QTY, Cart, QuantityLimit, UnknownProduct
from shop.cart.service import CartService
from shop.kit import api_spec
from shop.kit.api_spec import INT_ID, MAX_ID, ApiModel, QueryModel, operation
from shop.kit.config import KitSettings
from shop.kit.errors import Conflict, NotFound, map_domain_errors

USER = "<string(maxlength=128):user_id>"

bp = Blueprint("cart", __name__)
# A line past the limit is 409, not 422: the request is valid on its own; it conflicts with what the cart holds.
map_domain_errors(bp, {UnknownProduct: NotFound, QuantityLimit: Conflict})


class AddItemIn(ApiModel):
    """Units of a product to add to the cart."""

    product_id: int = Field(ge=1, le=MAX_ID)
    qty: int = Field(gt=0, le=MAX_LINE_QTY)


class CartLineOut(ApiModel):
    """A priced cart line."""

    product_id: int
    name: str
    qty: int
    price_cents: int
    line_total_cents: int


class CartOut(ApiModel):
    """A user's priced cart."""

    user_id: str
    items: list[CartLineOut]
    total_cents: int
    version: int = Field(description="Grows with every change: a checkout orders one version")

    @classmethod
    def of(cls, cart: Cart) -> CartOut:
        """Serialise a domain cart."""
        return cls(
            user_id=cart.user_id,
            items=[
                CartLineOut(
                    product_id=i.product_id,
                    name=i.name,
                    qty=i.qty,
                    price_cents=i.price_cents,
                    line_total_cents=i.line_total_cents,
                )
                for i in cart.items
            ],
            total_cents=cart.total_cents,
            version=cart.version,
        )


class ClearQuery(QueryModel):
    """Which lines to clear: all, or those of one cart version and before (what one order took)."""

    version: int | None = Field(default=None, ge=0, le=MAX_ID)


def _service() -> CartService:
    return get_deps(current_app).service


@operation(bp, "GET", f"/carts/{USER}", responses={200: CartOut}, peers=("catalog",))
def get_cart(user_id: str) -> CartOut:
    """Return the user's cart priced at catalog's current prices."""
    return CartOut.of(_service().get_cart(user_id))


@operation(
    bp,
    "POST",
    f"/carts/{USER}/items",
    body=AddItemIn,
    responses={200: CartOut},
    errors=(404, 409),
    peers=("catalog",),
)
def add_item(user_id: str, body: AddItemIn) -> CartOut:
    """Add units of a product; 404 unknown product, 422 bad qty, 409 when the line would pass 100 units."""
    return CartOut.of(_service().add_item(user_id, body.product_id, body.qty))


@operation(
    bp, "DELETE", f"/carts/{USER}/items/<{INT_ID}:product_id>", responses={200: CartOut}, peers=("catalog",)
)
def remove_item(user_id: str, product_id: int) -> CartOut:
    """Remove a product from the cart (idempotent)."""
    return CartOut.of(_service().remove_item(user_id, product_id))


class ClearedOut(ApiModel):
    """What a clear left: the cart's version and how many lines (added after ``version``) remain."""

    user_id: str
    version: int
    remaining_lines: int


@operation(bp, "DELETE", f"/carts/{USER}", query=ClearQuery, responses={200: ClearedOut})
def clear_cart(user_id: str, query: ClearQuery) -> ClearedOut:
    """Empty the cart (idempotent; needs no catalog); with ``version``, only the lines of that version and before."""
    version, remaining = _service().clear(user_id, query.version)
    return ClearedOut(user_id=user_id, version=version, remaining_lines=remaining)


def init_app(app: Flask, kit: KitSettings, *, env: dict[str, str] | None = None) -> None:
    """Build cart's dependencies and register its routes on ``app`` (the kit's setup hook)."""
    bootstrap(app, kit, env)
    app.register_blueprint(bp)
    api_spec.init_app(app)
