"""A small in-memory stand-in for the gateway's public API, to exercise the load runner's own machinery.

It is a test double for the shop (the load runner and Locust processes stay real); the
e2e tests run the same journeys against the real native stack. Knobs, switched with
``PUT /_fake/knobs {"degrade_recs": bool, "fail_checkout": bool, "latency_ms": int}``:
product pages degraded, checkout answered with 503, a slow catalog.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from typing import Any

from flask import Flask, jsonify, request


def create_app() -> Flask:
    """Build the fake gateway (state lives in the app)."""
    app = Flask(__name__)
    lock = threading.Lock()
    users: dict[str, dict[str, str]] = {}
    tokens: dict[str, str] = {}
    carts: dict[str, dict[int, int]] = {}
    orders: dict[str, dict[str, Any]] = {}
    ids = itertools.count(1)
    knobs: dict[str, Any] = {"degrade_recs": False, "fail_checkout": False, "latency_ms": 0}
    products = [{"id": i, "name": f"P{i}", "price_cents": 100 * i, "stock": 1000} for i in range(1, 9)]

    def error(status: int, code: str) -> Any:
        return jsonify({"error": {"code": code, "message": code, "request_id": uuid.uuid4().hex}}), status

    def user_id() -> str | None:
        auth = request.headers.get("Authorization", "")
        return tokens.get(auth.removeprefix("Bearer "))

    @app.post("/api/v1/auth/signup")
    def signup() -> Any:
        body = request.get_json(force=True)
        with lock:
            if body["email"] in users:
                return error(409, "email_taken")
            uid = str(next(ids))
            users[body["email"]] = {"password": body["password"], "user_id": uid}
            token = uuid.uuid4().hex
            tokens[token] = uid
        return jsonify({"user_id": uid, "email": body["email"], "access_token": token}), 201

    @app.post("/api/v1/auth/login")
    def login() -> Any:
        body = request.get_json(force=True)
        user = users.get(body["email"])
        if not user or user["password"] != body["password"]:
            return error(401, "bad_credentials")
        token = uuid.uuid4().hex
        tokens[token] = user["user_id"]
        return jsonify({"access_token": token, "token_type": "bearer"})

    @app.get("/api/v1/products")
    def list_products() -> Any:
        if knobs["latency_ms"]:
            time.sleep(knobs["latency_ms"] / 1000)  # a slow shop, for the open-loop test
        return jsonify({"items": products})

    @app.get("/api/v1/products/<int:pid>")
    def product(pid: int) -> Any:
        if not 1 <= pid <= len(products):
            return error(404, "not_found")
        degraded = knobs["degrade_recs"]
        recs = [] if degraded else products[:4]
        return jsonify({**products[pid - 1], "recommendations": recs, "degraded": ["recommendations"] if degraded else []})

    @app.post("/api/v1/cart/items")
    def add_item() -> Any:
        uid = user_id()
        if uid is None:
            return error(401, "unauthorized")
        body = request.get_json(force=True)
        with lock:
            cart = carts.setdefault(uid, {})
            cart[int(body["product_id"])] = cart.get(int(body["product_id"]), 0) + int(body["qty"])
        return cart_view(uid)

    def cart_view(uid: str) -> Any:
        items = [{"product_id": p, "qty": q} for p, q in carts.get(uid, {}).items()]
        return jsonify({"user_id": uid, "items": items, "total_cents": 0})

    @app.get("/api/v1/cart")
    def get_cart() -> Any:
        uid = user_id()
        return error(401, "unauthorized") if uid is None else cart_view(uid)

    @app.delete("/api/v1/cart/items/<int:pid>")
    def remove_item(pid: int) -> Any:
        uid = user_id()
        if uid is None:
            return error(401, "unauthorized")
        carts.get(uid, {}).pop(pid, None)
        return cart_view(uid)

    @app.post("/api/v1/checkout")
    def checkout() -> Any:
        uid = user_id()
        if uid is None:
            return error(401, "unauthorized")
        if knobs["fail_checkout"]:
            return error(503, "dependency_unavailable")
        order_id = uuid.uuid4().hex
        orders[order_id] = {"order_id": order_id, "user_id": uid, "status": "pending", "at": time.monotonic()}
        return jsonify({"order_id": order_id, "status": "pending"}), 201

    @app.get("/api/v1/orders/<order_id>")
    def get_order(order_id: str) -> Any:
        uid = user_id()
        order = orders.get(order_id)
        if order is None or order["user_id"] != uid:
            return error(404, "not_found")
        if order["status"] == "pending" and time.monotonic() - order["at"] > 0.3:
            order["status"] = "paid"
            carts.pop(uid, None)
        return jsonify({"order_id": order_id, "status": order["status"]})

    @app.put("/_fake/knobs")
    def set_knobs() -> Any:
        knobs.update({k: v for k, v in request.get_json(force=True).items() if k in knobs})
        return jsonify(knobs)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    return app


def main() -> None:
    """Serve on 127.0.0.1:$FAKE_PORT (threaded)."""
    create_app().run(host="127.0.0.1", port=int(os.environ["FAKE_PORT"]), threaded=True)


if __name__ == "__main__":
    main()
