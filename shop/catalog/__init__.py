"""catalog: products, prices, stock and stock reservations per order."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Flask

from shop.catalog.api import init_app
from shop.kit.app import create_service_app


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the catalog app."""
    return create_service_app("catalog", setup=partial(init_app, env=env), test_config=test_config, env=env)
