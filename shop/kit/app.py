"""Build a service's Flask app: settings, errors, request ids, health, admin auth, telemetry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from shop.kit import (
    admin,
    errors,
    faults,
    health,
    logs,
    metrics,
    plants,
    request_telemetry,
    resilience,
    telemetry,
)
from shop.kit.config import KitSettings
from shop.kit.state import set_component

SetupHook = Callable[[Flask, KitSettings], None]


def create_service_app(
    service: str,
    *,
    setup: SetupHook,
    test_config: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> Flask:
    """Create the Flask app of ``service`` and let ``setup`` add its domain.

    ``env`` replaces ``os.environ`` (tests); ``test_config`` updates ``app.config``.
    Each kit module keeps what it builds in ``shop.kit.state`` (read it with ``get_component``).
    """
    settings = KitSettings.from_env(service, env)
    app = Flask(service)
    app.config.update(JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=1 << 20)
    if test_config:
        app.config.update(test_config)
    set_component(app, settings)
    logs.init_app(app, env)
    telemetry.init_app(app, env)
    errors.init_app(app)
    metrics.init_app(app)
    request_telemetry.init_app(app, env)
    health.init_app(app)
    admin.init_app(app)
    resilience.init_app(app, env)
    faults.init_app(app)
    plants.init_app(app, env)
    setup(app, settings)
    return app

