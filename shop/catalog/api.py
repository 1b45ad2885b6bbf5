"""catalog's HTTP API: products, reservations, and the admin audit."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import Field

from shop.catalog.bootstrap import bootstrap, get_deps
from shop.catalog.model import (
    InsufficientStock,
    Line,
    Product,
    Reservation,
    ReservationReleased,
    UnknownProduct,
    UnknownReservation,
)
from shop.catalog.service import CatalogService
from shop.kit import api_spec
from shop.kit.admin import make_admin_blueprint
from shop.kit.api_spec import INT_ID, ApiModel, operation, parse_body
from shop.kit.config import KitSettings
from shop.kit.errors import Conflict, NotFound, map_domain_errors

ORDER_ID = "string(maxlength=64)"

bp = Blueprint("catalog", __name__)
admin_bp = make_admin_blueprint("catalog_admin")
for _blueprint in (bp, admin_bp):
    map_domain_errors(
        _blueprint,
        {
            UnknownProduct: NotFound,
            UnknownReservation: NotFound,
            InsufficientStock: Conflict,
            ReservationReleased: Conflict,
        },
    )


class ProductOut(ApiModel):
    """A product."""

    id: int
    name: str
    price_cents: int
    stock: int
    category: str

    @classmethod
    def of(cls, p: Product) -> ProductOut:
        """Serialise a domain product."""
        return cls(id=p.id, name=p.name, price_cents=p.price_cents, stock=p.stock, category=p.category)


class ProductList(ApiModel):
    """The catalog."""

    items: list[ProductOut]


class LineIn(ApiModel):
    """A quantity of one product."""

    product_id: int = Field(ge=1, le=api_spec.MAX_ID)
    qty: int = Field(gt=0, le=10_000)


class ReservationIn(ApiModel):
    """A request to hold stock for an order."""

    order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    items: list[LineIn] = Field(min_length=1, max_length=100)


class ReservationOut(ApiModel):
    """A reservation."""

    order_id: str
    status: Literal["reserved", "committed", "released"]
    items: list[LineIn]

    @classmethod
    def of(cls, r: Reservation) -> ReservationOut:
        """Serialise a domain reservation."""
        return cls(
            order_id=r.order_id,
            status=r.status.value,
            items=[LineIn(product_id=i.product_id, qty=i.qty) for i in r.items],
        )


class ReservationStatusOut(ApiModel):
    """A reservation's status after a release or commit."""

    order_id: str
    status: Literal["reserved", "committed", "released"]


class RestockIn(ApiModel):
    """Set a product's stock (admin)."""

    stock: int = Field(ge=0, le=1_000_000)


def _service() -> CatalogService:
    return get_deps(current_app).service


@operation(bp, "GET", "/products", responses={200: ProductList})
def list_products() -> ProductList:
    """List every product with its price and stock."""
    return ProductList(items=[ProductOut.of(p) for p in _service().list_products()])


@operation(bp, "GET", f"/products/<{INT_ID}:product_id>", responses={200: ProductOut})
def get_product(product_id: int) -> ProductOut:
    """Read one product; 404 when it does not exist."""
    return ProductOut.of(_service().get_product(product_id))


@operation(
    bp,
    "POST",
    "/reservations",
    body=ReservationIn,
    responses={201: ReservationOut, 200: ReservationOut},
    errors=(404, 409),
)
def reserve(body: ReservationIn) -> tuple[ReservationOut, int]:
    """Hold stock for an order (idempotent per order id: a repeat answers 200 with the same body).

    409 ``insufficient_stock`` names the product; 404 ``unknown_product`` names it too.
    """
    reservation, created = _service().reserve(body.order_id, [Line(i.product_id, i.qty) for i in body.items])
    return ReservationOut.of(reservation), 201 if created else 200


@operation(bp, "POST", f"/reservations/<{ORDER_ID}:order_id>/release", responses={200: ReservationStatusOut})
def release(order_id: str) -> ReservationStatusOut:
    """Give a live reservation's stock back (idempotent; a no-op for unknown or committed ones)."""
    return ReservationStatusOut(order_id=order_id, status=_service().release(order_id).value)


@operation(
    bp,
    "POST",
    f"/reservations/<{ORDER_ID}:order_id>/commit",
    responses={200: ReservationStatusOut},
    errors=(409,),
)
def commit(order_id: str) -> ReservationStatusOut:
    """Make a reservation final (idempotent); 404 unknown, 409 when already released."""
    status = _service().commit(order_id)
    return ReservationStatusOut(order_id=order_id, status=status.value)


@admin_bp.get("/audit")
def audit() -> ResponseReturnValue:
    """Return seeded and current stock per product and every reservation (the audit reads it)."""
    store = get_deps(current_app).store
    return jsonify(
        products=[{"id": r.id, "seeded_stock": r.seeded_stock, "stock": r.stock} for r in store.list_stock()],
        reservations=[
            {
                "order_id": r.order_id,
                "status": r.status.value,
                "items": [{"product_id": i.product_id, "qty": i.qty} for i in r.items],
            }
            for r in store.list_reservations()
        ],
    )


@admin_bp.put(f"/products/<{INT_ID}:product_id>/stock")
def restock(product_id: int) -> ResponseReturnValue:
    """Set a product's stock for an experiment; seeded stock moves by the same delta."""
    body = parse_body(RestockIn)
    product = _service().restock(product_id, body.stock)
    return jsonify(ProductOut.of(product).model_dump(mode="json"))


def init_app(app: Flask, kit: KitSettings, *, env: dict[str, str] | None = None) -> None:
    """Build catalog's dependencies and register its routes on ``app`` (the kit's setup hook)."""
    bootstrap(app, kit, env)
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    api_spec.init_app(app)
