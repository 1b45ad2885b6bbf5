"""Serve orders: checkout (``POST /orders``), reads for the owner, and the audit."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import Field

from shop.kit import api_spec
from shop.kit.admin import make_admin_blueprint
from shop.kit.api_spec import ApiModel, Header, QueryModel, operation
from shop.kit.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed, map_domain_errors
from shop.orders.bootstrap import get_deps
from shop.orders.model import EmptyCart, KeyReused, Order, OrderNotFound, OutboxEvent, UnknownProduct
from shop.orders.service import OrderService

bp = Blueprint("orders", __name__)
admin_bp = make_admin_blueprint("orders_admin")
map_domain_errors(bp, {EmptyCart: Conflict, UnknownProduct: ValidationFailed, KeyReused: ValidationFailed,
                       OrderNotFound: NotFound})

USER_ID = Field(min_length=1, max_length=128)
USER_HEADER = Header("X-User-ID", description="The caller's user id, forwarded by the gateway")


class OrderIn(ApiModel):
    """A checkout: the user's cart becomes an order; ``card`` goes to the payment simulator."""

    user_id: str = USER_ID
    card: str | None = Field(default=None, min_length=1, max_length=32)


class OrderItemOut(ApiModel):
    """One priced line of an order."""

    product_id: int
    name: str
    qty: int
    price_cents: int


class OrderOut(ApiModel):
    """An order and where it is in the saga."""

    order_id: str
    user_id: str
    status: Literal["pending", "paid", "payment_failed", "rejected"]
    reason: str | None
    total_cents: int
    items: list[OrderItemOut]
    created_at: str | None


class OrdersQuery(QueryModel):
    """Whose orders to list."""

    user_id: str = USER_ID


class OrdersOut(ApiModel):
    """A user's orders, oldest first."""

    items: list[OrderOut]


def init_app(app: Flask) -> None:
    """Register the orders routes, the admin routes and the OpenAPI document on ``app``."""
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    api_spec.init_app(app, title="orders")


def get_service() -> OrderService:
    """Return this app's order service."""
    return get_deps(current_app).service


def order_to_dict(order: Order) -> dict[str, Any]:
    """Serialise an order for the API (never the card)."""
    return {
        "order_id": order.order_id,
        "user_id": order.user_id,
        "status": order.status,
        "reason": order.reason,
        "total_cents": order.total_cents,
        "items": [
            {"product_id": i.product_id, "name": i.name, "qty": i.qty, "price_cents": i.price_cents}
            for i in order.items
        ],
        "created_at": order.created_at.isoformat() if order.created_at else None,
    }


def _ensure_caller_is(user_id: str) -> None:
    # The gateway forwards the authenticated user; a body naming someone else is refused.
    caller = request.headers.get("X-User-ID")
    if caller is not None and caller != user_id:
        raise Forbidden("X-User-ID does not match user_id")


@operation(
    bp, "POST", "/orders", body=OrderIn,
    headers=[Header("Idempotency-Key", max_length=128, description="Same key and user: same order"), USER_HEADER],
    responses={201: OrderOut, 200: OrderOut}, errors=(403, 409, 422), peers=("cart", "catalog"),
)
def create_order(body: OrderIn) -> tuple[OrderOut, int]:
    """Check out the user's cart: 201 a new pending order, 200 the order an Idempotency-Key already made.

    422 ``idempotency_key_reused`` when that key made an order from a different request.
    """
    _ensure_caller_is(body.user_id)
    key = request.headers.get("Idempotency-Key") or None
    order, created = get_service().checkout(body.user_id, card=body.card, idempotency_key=key)
    return OrderOut.model_validate(order_to_dict(order)), 201 if created else 200


@operation(
    bp, "GET", "/orders/<order_id>",
    headers=[Header("X-User-ID", required=True, description="Only the owner sees an order")],
    responses={200: OrderOut},
)
def get_order(order_id: str) -> OrderOut:
    """Return one order to its owner; 404 for anyone else."""
    user_id = request.headers.get("X-User-ID", "")
    if not user_id:
        raise BadRequest("header X-User-ID is required")
    return OrderOut.model_validate(order_to_dict(get_service().get_for_user(order_id, user_id)))


@operation(bp, "GET", "/orders", query=OrdersQuery, headers=[USER_HEADER], responses={200: OrdersOut},
           errors=(403,))
def list_orders(query: OrdersQuery) -> OrdersOut:
    """List one user's orders, oldest first."""
    _ensure_caller_is(query.user_id)
    orders = get_service().list_for_user(query.user_id)
    return OrdersOut(items=[OrderOut.model_validate(order_to_dict(o)) for o in orders])


class OrderNotificationOut(ApiModel):
    """One email sent about an order."""

    event_id: str
    type: str
    order_id: str
    subject: str
    body: str
    sent_at: str


class OrderNotificationsOut(ApiModel):
    """The emails sent about one order, oldest first."""

    items: list[OrderNotificationOut]


@operation(
    bp, "GET", "/orders/<order_id>/notifications",
    headers=[Header("X-User-ID", required=True, description="Only the owner sees an order's emails")],
    responses={200: OrderNotificationsOut}, peers=("notifications",),
)
def get_order_notifications(order_id: str) -> OrderNotificationsOut:
    """Return the emails sent about one order to its owner; 404 for anyone else."""
    user_id = request.headers.get("X-User-ID", "")
    if not user_id:
        raise BadRequest("header X-User-ID is required")
    get_service().get_for_user(order_id, user_id)  # 404 unless the caller owns it
    items = get_deps(current_app).clients.notifications.list_for_order(user_id, order_id)
    return OrderNotificationsOut(items=[OrderNotificationOut.model_validate(i) for i in items])


@admin_bp.get("/audit")
def audit() -> Response:
    """Return orders, the outbox and the pending work count for the consistency audit."""
    return jsonify(get_service().get_audit())


def _event_to_dict(event: OutboxEvent) -> dict[str, Any]:
    return {"event_id": event.event_id, "type": event.type, "order_id": event.order_id, "attempts": event.attempts,
            "last_error": event.last_error, "dead": event.dead, "delivered": event.delivered}


@admin_bp.get("/outbox/dead-letters")
def dead_letters() -> Response:
    """List the dead-lettered outbox events (notifications refused them too often), oldest first."""
    return jsonify(items=[_event_to_dict(e) for e in get_deps(current_app).store.list_dead_letters()])


@admin_bp.post("/outbox/<event_id>/replay")
def replay_event(event_id: str) -> Response:
    """Put an undelivered (e.g. dead-lettered) event back in the queue with its attempts reset; 404 if unknown."""
    event = get_deps(current_app).store.replay(event_id)
    if event is None:
        raise NotFound(f"no undelivered outbox event {event_id}")
    return jsonify(_event_to_dict(event))


@admin_bp.get("/pending")
def pending() -> Response:
    """Count pending orders plus undelivered events (the audit polls it while draining)."""
    return jsonify(pending_work=get_deps(current_app).store.count_pending_work())
