"""orders: checkout, the saga's state and its outbox (the worker drives the rest)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from shop.kit.app import create_service_app
from shop.kit.config import KitSettings
from shop.orders import api
from shop.orders.bootstrap import bootstrap


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the orders app."""

    def setup(app: Flask, kit: KitSettings) -> None:
        bootstrap(app, kit, env)
        api.init_app(app)

    return create_service_app("orders", setup=setup, test_config=test_config, env=env)
