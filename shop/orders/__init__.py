"""orders: checkout, the saga's state and its outbox (the worker drives the rest)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from shop.kit import api_spec
from shop.kit.app import create_service_app, get_kit
from shop.kit.config import KitSettings
from shop.kit.db import make_engine


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the orders app."""

    def setup(app: Flask, kit: KitSettings) -> None:
        from shop.kit.resilience import make_clients
        from shop.orders.api import admin_bp, bp
        from shop.orders.clients import build_peers
        from shop.orders.config import Settings
        from shop.orders.service import OrderService
        from shop.orders.store import OrderStore

        settings = Settings.from_env(env)
        store = OrderStore(make_engine(settings.db_path))
        store.create_schema()
        state = get_kit(app)
        # Tests hand in fakes through test_config["ORDERS_PEERS"]; otherwise the real clients.
        peers = app.config.get("ORDERS_PEERS") or build_peers(make_clients(app, kit))
        state.extras["orders"] = OrderService(store, cart=peers["cart"], catalog=peers["catalog"])
        state.extras["notifications"] = peers.get("notifications")
        state.readiness_checks["database"] = store.ping
        app.register_blueprint(bp)
        app.register_blueprint(admin_bp)
        api_spec.init_app(app, title="orders")

    return create_service_app("orders", setup=setup, test_config=test_config, env=env)
