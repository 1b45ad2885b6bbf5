"""recommendations: non-critical product suggestions from catalog data."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Flask

from shop.kit.app import create_service_app
from shop.recommendations.api import init_app


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the recommendations app."""
    return create_service_app(
        "recommendations", setup=partial(init_app, env=env), test_config=test_config, env=env
    )
