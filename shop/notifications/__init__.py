"""notifications: idempotent intake of order events and the "sent" emails."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from shop.kit import api_spec
from shop.kit.app import create_service_app, get_kit
from shop.kit.config import KitSettings
from shop.kit.db import make_engine


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the notifications app."""

    def setup(app: Flask, kit: KitSettings) -> None:
        from shop.notifications.api import admin_bp, bp
        from shop.notifications.service import NotificationService
        from shop.notifications.store import NotificationStore

        source = os.environ if env is None else env
        db_path = Path(source.get("NOTIFICATIONS_DB_PATH") or kit.data_dir / "notifications.db")
        store = NotificationStore(make_engine(db_path))
        store.create_schema()
        state = get_kit(app)
        state.extras["notifications"] = NotificationService(store)
        state.readiness_checks["database"] = store.ping
        app.register_blueprint(bp)
        app.register_blueprint(admin_bp)
        api_spec.init_app(app, title="notifications")

    return create_service_app("notifications", setup=setup, test_config=test_config, env=env)
