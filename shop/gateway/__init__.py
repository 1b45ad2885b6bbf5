"""gateway: the public ``/api/*``, JWT checks, and fallbacks for non-critical data."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the gateway app."""
    from shop.gateway.api import init_app
    from shop.gateway.config import Settings
    from shop.kit.app import create_service_app

    settings = Settings.from_env(env)
    return create_service_app(
        "gateway",
        setup=lambda app, kit: init_app(app, kit, settings),
        test_config=test_config,
        env=env,
    )
