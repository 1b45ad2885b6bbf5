"""gateway: the public ``/api/v1/*`` (and the deprecated ``/api/*``), JWT checks, and fallbacks for non-critical data."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Flask

from shop.gateway.api import init_app
from shop.kit.app import create_service_app


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the gateway app."""
    return create_service_app("gateway", setup=partial(init_app, env=env), test_config=test_config, env=env)
