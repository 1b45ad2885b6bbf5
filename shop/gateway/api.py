"""gateway's public HTTP API (``/api/v1/*``): auth, products, cart, checkout and orders.

The same routes answer on the unversioned ``/api/*`` for one deprecation period, with
the ``Deprecation``, ``Sunset`` and successor ``Link`` headers of ``shop.kit.public_api``.
Each version has its OpenAPI document (``/api/v1/openapi.json``; ``/api/openapi.json``
marks every operation deprecated); ``/openapi.json`` is the current version's.

Every route but sign-up, login and the product reads needs ``Authorization: Bearer
<token>``; the token is verified here (HS256, issuer, audience, expiry) and the user
is forwarded downstream as ``X-User-ID``.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal, TypeVar

from flask import Blueprint, Flask, Response, current_app, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shop.gateway.bootstrap import Deps, bootstrap, get_deps
from shop.gateway.model import classify_request
from shop.kit import api_spec
from shop.kit.api_spec import EMAIL_PATTERN, INT_ID, MAX_ID, ApiModel, Header, operation
from shop.kit.auth import get_bearer_token, verify_token
from shop.kit.config import KitSettings
from shop.kit.errors import DependencyUnavailable
from shop.kit.public_api import (
    LEGACY,
    LEGACY_PREFIX,
    ROUTES,
    V1,
    V1_PREFIX,
    deprecation_headers,
    is_legacy_path,
)
from shop.kit.resilience.shedding import set_priority_classifier
from shop.kit.wire import CatalogProduct

# One blueprint, registered twice: under /api/v1 (its own name) and under the deprecated /api.
bp = Blueprint("gateway", __name__)
LEGACY_BLUEPRINT = "gateway_legacy"

M = TypeVar("M", bound=BaseModel)
ORDER_ID = "<string(maxlength=128):order_id>"


class PeerModel(BaseModel):
    """A body another service owns: the fields the gateway promises, others passed along."""

    model_config = ConfigDict(extra="allow")


# -- request bodies (mirroring the owning service's rules; its own 4xx still passes through) --


class SignUpIn(ApiModel):
    """A sign-up request (the same rules identity applies, so the schema tells the truth)."""

    email: str = Field(min_length=3, max_length=254, pattern=EMAIL_PATTERN)
    password: str = Field(min_length=8, max_length=128)
    name: str = Field(min_length=1, max_length=100)


class LogInIn(ApiModel):
    """A log-in request."""

    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class CartItemIn(ApiModel):
    """Units of a product to add to the caller's cart."""

    product_id: int = Field(ge=1, le=MAX_ID)
    qty: int = Field(gt=0, le=100)


class CheckoutIn(ApiModel):
    """An optional checkout body: ``card`` goes to the payment simulator (4000000000000002 declines)."""

    card: str | None = Field(default=None, min_length=1, max_length=32)


# -- response bodies ------------------------------------------------------------------


class SignUpOut(PeerModel):
    """A new user and its first access token."""

    user_id: str
    email: str
    name: str
    access_token: str


class TokenOut(PeerModel):
    """An access token."""

    access_token: str
    token_type: str
    expires_in: int


class ProductOut(PeerModel):
    """A product."""

    id: int
    name: str
    price_cents: int
    stock: int
    category: str

    @classmethod
    def of(cls, product: CatalogProduct) -> ProductOut:
        """Serialise a product as catalog answered it (the same fields, in the public order)."""
        # Read in pydantic's core: dataclasses.asdict deep-copies field by field in Python,
        # 4 % of the gateway's GIL time on GET /api/products (20 products per answer).
        return cls.model_validate(product, from_attributes=True)


class ProductList(PeerModel):
    """The catalog."""

    items: list[ProductOut]


class SuggestionOut(PeerModel):
    """A suggested product."""

    id: int
    name: str
    price_cents: int


class ProductPageOut(ProductOut):
    """A product with suggestions; ``degraded`` names the parts that could not be served."""

    recommendations: list[SuggestionOut]
    degraded: list[Literal["recommendations"]]


class CartLineOut(PeerModel):
    """A priced cart line."""

    product_id: int
    name: str
    qty: int
    price_cents: int
    line_total_cents: int


class CartOut(PeerModel):
    """The caller's priced cart."""

    user_id: str
    items: list[CartLineOut]
    total_cents: int


class OrderOut(PeerModel):
    """An order; ``status`` moves pending → paid or payment_failed."""

    order_id: str
    status: str


class OrderList(PeerModel):
    """The caller's orders."""

    items: list[OrderOut]


def _as(model: type[M], data: Any, dependency: str) -> M:
    """Check a peer's body against the public model; a mismatch is the peer's failure (503)."""
    try:
        return model.model_validate(data)
    except ValidationError:
        raise DependencyUnavailable(
            f"{dependency} answered an unexpected body", dependency=dependency
        ) from None


def _deps() -> Deps:
    return get_deps(current_app)


def authenticate() -> str:
    """Return the user id of a valid bearer token; raise Unauthorized."""
    token = get_bearer_token(request.headers.get("Authorization"))
    return verify_token(token, secret=get_deps(current_app).settings.jwt_secret).user_id


# -- auth -------------------------------------------------------------------------------


@operation(
    bp, "POST", ROUTES.signup, body=SignUpIn, responses={201: SignUpOut}, errors=(409,), peers=("identity",)
)
def sign_up(body: SignUpIn) -> tuple[SignUpOut, int]:
    """Sign up; 409 when the email is taken."""
    return _as(SignUpOut, _deps().identity.sign_up(body.model_dump()), "identity"), 201


@operation(
    bp, "POST", ROUTES.login, body=LogInIn, responses={200: TokenOut}, errors=(401,), peers=("identity",)
)
def log_in(body: LogInIn) -> TokenOut:
    """Log in; 401 on bad credentials."""
    return _as(TokenOut, _deps().identity.log_in(body.model_dump()), "identity")


# -- products -------------------------------------------------------------------------


@operation(bp, "GET", ROUTES.products, responses={200: ProductList}, peers=("catalog",))
def list_products() -> ProductList:
    """List the catalog."""
    return ProductList(items=[ProductOut.of(p) for p in _deps().catalog.list_products()])


@operation(bp, "GET", ROUTES.product(f"<{INT_ID}:product_id>"), responses={200: ProductPageOut}, peers=("catalog",))
def get_product_page(product_id: int) -> ProductPageOut:
    """Return a product with suggestions; without them (``degraded``) when recommendations fails."""
    page = get_deps(current_app).service.get_product_page(product_id)
    product = ProductOut.of(page.product)
    suggestions = [_as(SuggestionOut, s, "recommendations") for s in page.recommendations]
    return ProductPageOut(
        **product.model_dump(),
        recommendations=suggestions,
        degraded=list(page.degraded),  # type: ignore[arg-type]
    )


# -- cart -------------------------------------------------------------------------------


@operation(bp, "GET", ROUTES.cart, auth=True, responses={200: CartOut}, peers=("cart",))
def get_cart(user_id: str) -> CartOut:
    """Return the caller's cart."""
    return _as(CartOut, _deps().cart.get_cart(user_id), "cart")


@operation(
    bp,
    "POST",
    ROUTES.cart_items,
    auth=True,
    body=CartItemIn,
    responses={200: CartOut},
    errors=(404, 409),
    peers=("cart",),
)
def add_cart_item(user_id: str, body: CartItemIn) -> CartOut:
    """Add units of a product to the caller's cart; 404 unknown product, 409 past 100 units in a line."""
    return _as(CartOut, _deps().cart.add_item(user_id, body.model_dump()), "cart")


@operation(
    bp, "DELETE", ROUTES.cart_item(f"<{INT_ID}:product_id>"), auth=True, responses={200: CartOut}, peers=("cart",)
)
def remove_cart_item(user_id: str, product_id: int) -> CartOut:
    """Remove a product from the caller's cart (idempotent)."""
    return _as(CartOut, _deps().cart.remove_item(user_id, product_id), "cart")


# -- checkout and orders ------------------------------------------------------------------


@operation(
    bp,
    "POST",
    ROUTES.checkout,
    auth=True,
    body=CheckoutIn,
    body_required=False,
    headers=[
        Header("Idempotency-Key", max_length=128, description="Same key: the same order, never a second one")
    ],
    responses={201: OrderOut, 200: OrderOut},
    errors=(403, 409, 422),
    peers=("orders",),
)
def checkout(user_id: str, body: CheckoutIn) -> tuple[OrderOut, int]:
    """Turn the caller's cart into a pending order; 409 when the cart is empty, 422 when a key is reused."""
    # Without a client key, make one: the gateway→orders call may then be retried safely.
    key = request.headers.get("Idempotency-Key") or f"gw-{uuid.uuid4().hex}"
    order, status = _deps().orders.checkout(user_id, card=body.card, idempotency_key=key)
    return _as(OrderOut, order, "orders"), 200 if status == 200 else 201


@operation(bp, "GET", ROUTES.orders, auth=True, responses={200: OrderList}, peers=("orders",))
def list_orders(user_id: str) -> OrderList:
    """List the caller's orders."""
    return _as(OrderList, _deps().orders.list_orders(user_id), "orders")


@operation(
    bp,
    "GET",
    ROUTES.order(ORDER_ID),
    auth=True,
    responses={200: OrderOut},
    peers=("orders",),
)
def get_order(user_id: str, order_id: str) -> OrderOut:
    """Return one of the caller's orders; anyone else's is a 404."""
    return _as(OrderOut, _deps().orders.get_order(user_id, order_id), "orders")


class NotificationOut(ApiModel):
    """One email sent about an order."""

    event_id: str
    type: str
    order_id: str
    subject: str
    body: str
    sent_at: str


class NotificationList(ApiModel):
    """The emails sent about one order, oldest first."""

    items: list[NotificationOut]


@operation(
    bp,
    "GET",
    ROUTES.order_notifications(ORDER_ID),
    auth=True,
    responses={200: NotificationList},
    peers=("orders",),
)
def get_order_notifications(user_id: str, order_id: str) -> NotificationList:
    """Return the emails sent about one of the caller's orders; anyone else's is a 404."""
    return _as(NotificationList, _deps().orders.get_notifications(user_id, order_id), "orders")


def init_app(app: Flask, kit: KitSettings, *, env: dict[str, str] | None = None) -> None:
    """Build gateway's dependencies and register the public routes on ``app`` (the kit's setup hook)."""
    bootstrap(app, kit, env)
    app.register_blueprint(bp, url_prefix=V1_PREFIX)
    app.register_blueprint(bp, url_prefix=LEGACY_PREFIX, name=LEGACY_BLUEPRINT)
    app.after_request(mark_deprecated)
    set_priority_classifier(app, classify_request)
    api_spec.init_app(app, authenticate=authenticate, blueprint=bp.name)
    api_spec.serve_openapi(app, V1.openapi, blueprint=bp.name)
    api_spec.serve_openapi(app, LEGACY.openapi, blueprint=LEGACY_BLUEPRINT, deprecated=True)


def mark_deprecated(resp: Response) -> Response:
    """Add the deprecation headers to every answer on an unversioned path, errors included."""
    if is_legacy_path(request.path):
        resp.headers.update(deprecation_headers(request.path))
    return resp
