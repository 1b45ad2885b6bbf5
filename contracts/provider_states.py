"""The provider states every pact names, per provider (registered with ``contracts.states``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.states import StateContext, StateSetupError, StateValues, fresh_id, provider_state
from shop.kit.public_api import V1


# -- payments ------------------------------------------------------------------------------
@provider_state("payments", "the order has no charge yet")
def _payments_no_charge(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    return {}  # the fresh order id is enough


@provider_state("payments", "the order was already charged")
def _payments_charged(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    order_id = params["order_id"]
    amount = int(params.get("amount_cents", 4200))
    ctx.call("payments", "POST", "/charges", json={"order_id": order_id, "amount_cents": amount},
             headers={"Idempotency-Key": order_id}, expect=(201,))
    return {"order_id": order_id}


# -- catalog --------------------------------------------------------------------------------
def _get_product(ctx: StateContext, product_id: int) -> dict[str, Any]:
    body: dict[str, Any] = ctx.call("catalog", "GET", f"/products/{product_id}", expect=(200,)).json()
    return body


def _ensure_stock(ctx: StateContext, product_id: int, at_least: int) -> None:
    # Restock through the admin API only when needed: the audit's seeded stock moves along.
    if _get_product(ctx, product_id)["stock"] < at_least:
        ctx.call("catalog", "PUT", f"/admin/products/{product_id}/stock", admin=True,
                 json={"stock": at_least + 100}, expect=(200,))


@provider_state("catalog", "product 1 exists")
def _catalog_product_exists(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    _get_product(ctx, int(params.get("product_id", 1)))
    return {}


@provider_state("catalog", "product 999999 does not exist")
def _catalog_product_missing(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    ctx.call("catalog", "GET", f"/products/{int(params.get('product_id', 999999))}", expect=(404,))
    return {}


@provider_state("catalog", "the catalog has products")
def _catalog_has_products(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    if not ctx.call("catalog", "GET", "/products", expect=(200,)).json()["items"]:
        raise StateSetupError("catalog has no products: its seed did not run")
    return {}


@provider_state("catalog", "the order has no reservation yet")
def _catalog_no_reservation(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    _ensure_stock(ctx, int(params["product_id"]), int(params["qty"]))
    return {}  # the fresh order id has no reservation by construction


@provider_state("catalog", "the order holds a reservation")
def _catalog_reservation(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    product_id, qty, order_id = int(params["product_id"]), int(params["qty"]), str(params["order_id"])
    _ensure_stock(ctx, product_id, qty)
    ctx.call("catalog", "POST", "/reservations", expect=(201,),
             json={"order_id": order_id, "items": [{"product_id": product_id, "qty": qty}]})
    return {"order_id": order_id}


@provider_state("catalog", "product 1 has less stock than requested")
def _catalog_short_stock(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    product_id, qty = int(params["product_id"]), int(params["qty"])
    if _get_product(ctx, product_id)["stock"] >= qty:
        ctx.call("catalog", "PUT", f"/admin/products/{product_id}/stock", admin=True,
                 json={"stock": qty - 1}, expect=(200,))
    return {}


# -- cart -------------------------------------------------------------------------------------
def _fill_cart(ctx: StateContext, user_id: str, product_id: int, qty: int) -> None:
    ctx.call("cart", "DELETE", f"/carts/{user_id}", expect=(200,))
    ctx.call("cart", "POST", f"/carts/{user_id}/items", json={"product_id": product_id, "qty": qty}, expect=(200,))


@provider_state("cart", "the user's cart holds a product")
def _cart_holds_a_product(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    _fill_cart(ctx, str(params["user_id"]), int(params["product_id"]), int(params["qty"]))
    return {"user_id": str(params["user_id"])}


@provider_state("cart", "the user's cart is empty")
def _cart_is_empty(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    ctx.call("cart", "DELETE", f"/carts/{params['user_id']}", expect=(200,))
    return {"user_id": str(params["user_id"])}


@provider_state("cart", "product 999999 does not exist")
def _cart_unknown_product(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    # cart checks products with catalog (kept running in the stack): the product must be unknown there.
    ctx.call("catalog", "GET", f"/products/{int(params.get('product_id', 999999))}", expect=(404,))
    ctx.call("cart", "DELETE", f"/carts/{params['user_id']}", expect=(200,))
    return {"user_id": str(params["user_id"])}


# -- notifications ------------------------------------------------------------------------------
@provider_state("notifications", "the event has not been received yet")
def _notifications_new_event(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    return {}  # the fresh event id was never received by construction


@provider_state("notifications", "the event was already received")
def _notifications_known_event(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    event_id = str(params["event_id"])
    ctx.call("notifications", "POST", "/events", expect=(201,), headers={"Idempotency-Key": event_id},
             json={"event_id": event_id, "type": str(params.get("type", "order.paid")),
                   "order_id": str(params["order_id"]), "user_id": str(params["user_id"]), "payload": {}})
    return {"event_id": event_id}


# -- identity -----------------------------------------------------------------------------------
@provider_state("identity", "no user has the email")
def _identity_free_email(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    return {}  # the fresh email was never registered by construction


@provider_state("identity", "a user is registered")
def _identity_user(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    email = str(params["email"])
    ctx.call("identity", "POST", "/users", expect=(201,),
             json={"email": email, "password": str(params["password"]), "name": "Contract"})
    return {"email": email}


# -- recommendations --------------------------------------------------------------------------------
@provider_state("recommendations", "product 1 has suggestions")
def _recommendations_for(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    product_id = int(params.get("product_id", 1))
    # recommendations reads catalog (kept running): the product must exist there, with neighbours.
    _get_product(ctx, product_id)
    items = ctx.call("recommendations", "GET", f"/recommendations/{product_id}", expect=(200,)).json()["items"]
    if not items:
        raise StateSetupError(f"recommendations has no suggestion for product {product_id}")
    return {}


@provider_state("recommendations", "product 999999 does not exist")
def _recommendations_unknown(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    ctx.call("catalog", "GET", f"/products/{int(params.get('product_id', 999999))}", expect=(404,))
    return {}


# -- orders ---------------------------------------------------------------------------------------
def _checkout(ctx: StateContext, params: Mapping[str, Any], key: str) -> str:
    user_id = str(params["user_id"])
    # orders prices the cart it reads from cart (its peer, kept running): fill that cart first.
    _fill_cart(ctx, user_id, int(params["product_id"]), int(params["qty"]))
    resp = ctx.call("orders", "POST", "/orders", json={"user_id": user_id}, expect=(201,),
                    headers={"X-User-ID": user_id, "Idempotency-Key": key})
    return str(resp.json()["order_id"])


@provider_state("orders", "the user's cart holds a product")
def _orders_cart_with_product(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    _fill_cart(ctx, str(params["user_id"]), int(params["product_id"]), int(params["qty"]))
    return {"idempotency_key": fresh_id("key")}


@provider_state("orders", "the user's cart is empty")
def _orders_empty_cart(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    ctx.call("cart", "DELETE", f"/carts/{params['user_id']}", expect=(200,))
    return {"idempotency_key": fresh_id("key")}


@provider_state("orders", "the user already checked out with the key")
def _orders_checked_out(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    key = fresh_id("key")
    return {"idempotency_key": key, "order_id": _checkout(ctx, params, key)}


@provider_state("orders", "the user has an order")
def _orders_has_order(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    return {"order_id": _checkout(ctx, params, fresh_id("key"))}


def _send_email(ctx: StateContext, user_id: str, order_id: str, event_type: str = "order.paid") -> None:
    event_id = fresh_id("evt")
    ctx.call("notifications", "POST", "/events", expect=(201,), headers={"Idempotency-Key": event_id},
             json={"event_id": event_id, "type": event_type, "order_id": order_id, "user_id": user_id,
                   "payload": {"total_cents": 2500}})


@provider_state("notifications", "the user was sent an email about an order")
def _notifications_sent_email(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    _send_email(ctx, str(params["user_id"]), str(params["order_id"]))
    return {}


@provider_state("orders", "the user was sent an email about an order")
def _orders_sent_email(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    order_id = _checkout(ctx, params, fresh_id("key"))
    # The email itself lives in notifications (orders' peer, kept running): send it there directly
    # rather than wait for the worker's outbox delivery, which would make the state timing-dependent.
    _send_email(ctx, str(params["user_id"]), order_id, "order.created")
    return {"order_id": order_id}


# -- gateway (its public API, for clients outside the shop) ------------------------------------
@provider_state("gateway", "the catalog has products")
def _gateway_has_products(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    if not ctx.call("gateway", "GET", V1.products, expect=(200,)).json()["items"]:
        raise StateSetupError("the gateway lists no products: catalog's seed did not run")
    return {}


@provider_state("gateway", "product 1 exists")
def _gateway_product_exists(ctx: StateContext, params: Mapping[str, Any]) -> StateValues:
    ctx.call("gateway", "GET", V1.product(int(params.get("product_id", 1))), expect=(200,))
    return {}
