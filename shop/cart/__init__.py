"""cart: one cart per user, priced through catalog."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Flask

from shop.cart.api import init_app
from shop.kit.app import create_service_app


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the cart app."""
    return create_service_app("cart", setup=partial(init_app, env=env), test_config=test_config, env=env)
