"""identity: users, password hashes and access tokens."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the identity app."""
    from shop.identity.api import init_app
    from shop.identity.config import Settings
    from shop.kit.app import create_service_app

    settings = Settings.from_env(env)
    return create_service_app(
        "identity",
        setup=lambda app, kit: init_app(app, kit, settings),
        test_config=test_config,
        env=env,
    )
