"""payments: a payment-provider simulator with an idempotent charge ledger.

Decline rule: the card ``4000000000000002`` (Stripe's generic decline test card) is
declined; every other card (or none) succeeds. ``PAYMENTS_LATENCY_MS`` adds
processing time to each new charge.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from shop.kit.app import create_service_app
from shop.kit.config import KitSettings
from shop.payments import api
from shop.payments.bootstrap import bootstrap


def create_app(test_config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Flask:
    """Create the payments app."""

    def setup(app: Flask, kit: KitSettings) -> None:
        bootstrap(app, kit, env)
        api.init_app(app)

    return create_service_app("payments", setup=setup, test_config=test_config, env=env)
