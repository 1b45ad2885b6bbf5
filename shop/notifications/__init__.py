"""notifications: idempotent intake of order events and the "sent" emails."""

from __future__ import annotations

from typing import Any

from flask import Flask

from shop.kit.app import create_service_app
from shop.kit.config import KitSettings
from shop.notifications import api
from shop.notifications.bootstrap import bootstrap


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the notifications app."""

    def setup(app: Flask, kit: KitSettings) -> None:
        bootstrap(app, kit, env)
        api.init_app(app)

    return create_service_app("notifications", setup=setup, test_config=test_config, env=env)
