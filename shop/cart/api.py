"""cart's HTTP API: read, add to, remove from and clear a user's cart."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app
from pydantic import Field

from shop.cart.clients import CatalogClient
from shop.cart.service import MAX_LINE_QTY, Cart, CartService, QuantityLimit, UnknownProduct
from shop.cart.store import Base, SqlCartStore
from shop.kit import api_spec
from shop.kit.api_spec import INT_ID, MAX_ID, ApiModel, operation
from shop.kit.app import get_kit
from shop.kit.config import KitSettings
from shop.kit.db import init_service_db, make_session_factory
from shop.kit.errors import Conflict, NotFound
from shop.kit.resilience import make_clients

USER = "<string(maxlength=128):user_id>"

bp = Blueprint("cart", __name__)


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
        )


def _service() -> CartService:
    service: CartService = get_kit(current_app).extras["service"]
    return service


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
    try:
        return CartOut.of(_service().add_item(user_id, body.product_id, body.qty))
    except UnknownProduct as exc:
        raise NotFound(str(exc), code="unknown_product", details={"product_id": exc.product_id}) from None
    except QuantityLimit as exc:
        # 409, not 422: the request is valid on its own; it conflicts with what the cart holds.
        raise Conflict(str(exc), code="qty_limit") from None


@operation(
    bp, "DELETE", f"/carts/{USER}/items/<{INT_ID}:product_id>", responses={200: CartOut}, peers=("catalog",)
)
def remove_item(user_id: str, product_id: int) -> CartOut:
    """Remove a product from the cart (idempotent)."""
    return CartOut.of(_service().remove_item(user_id, product_id))


@operation(bp, "DELETE", f"/carts/{USER}", responses={200: CartOut})
def clear_cart(user_id: str) -> CartOut:
    """Empty the cart (idempotent)."""
    return CartOut.of(_service().clear(user_id))


def init_app(app: Flask, kit: KitSettings) -> None:
    """Wire cart's store, its catalog client and routes into ``app``."""
    engine = init_service_db(app, Base.metadata, "cart.sqlite3")
    clients = make_clients(app, kit)
    state = get_kit(app)
    state.extras["service"] = CartService(
        SqlCartStore(make_session_factory(engine)), CatalogClient(clients["catalog"])
    )

    app.register_blueprint(bp)
    api_spec.init_app(app)
