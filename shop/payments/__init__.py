"""payments: a payment-provider simulator with an idempotent charge ledger.

Decline rule: the card ``4000000000000002`` (Stripe's generic decline test card) is
declined; every other card (or none) succeeds. ``PAYMENTS_LATENCY_MS`` adds
processing time to each new charge.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from shop.kit import api_spec
from shop.kit.app import create_service_app, get_kit
from shop.kit.config import KitSettings
from shop.kit.db import make_engine


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the payments app."""

    def setup(app: Flask, kit: KitSettings) -> None:
        from shop.payments.api import admin_bp, bp
        from shop.payments.config import Settings
        from shop.payments.service import PaymentService
        from shop.payments.store import LedgerStore

        settings = Settings.from_env(kit, env)
        store = LedgerStore(make_engine(settings.db_path))
        store.create_schema()
        state = get_kit(app)
        state.extras["payments"] = PaymentService(store, latency_ms=settings.latency_ms)
        state.readiness_checks["database"] = store.ping
        app.register_blueprint(bp)
        app.register_blueprint(admin_bp)
        api_spec.init_app(app, title="payments")

    return create_service_app("payments", setup=setup, test_config=test_config, env=env)
