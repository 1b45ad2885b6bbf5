"""Wire gateway's real adapters once: settings, one client per peer, and the service (no store)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from shop.gateway.clients import (
    CartClient,
    CatalogClient,
    IdentityClient,
    OrdersClient,
    RecommendationsClient,
)
from shop.gateway.config import Settings
from shop.gateway.service import GatewayService
from shop.kit.config import KitSettings
from shop.kit.resilience import make_clients
from shop.kit.state import get_component, set_component


@dataclass(frozen=True)
class Deps:
    """What gateway's handlers use: its settings, its service and one typed client per peer."""

    settings: Settings
    service: GatewayService
    identity: IdentityClient
    catalog: CatalogClient
    cart: CartClient
    orders: OrdersClient
    recommendations: RecommendationsClient


def bootstrap(app: Flask, kit: KitSettings, env: dict[str, str] | None = None) -> Deps:
    """Read gateway's settings, build its peers and service, and keep them on ``app``.

    Raises ``MissingSetting`` when ``SHOPLAB_JWT_SECRET`` is not set.
    """
    settings = Settings.from_env(env)
    peers = make_clients(app, kit)
    catalog = CatalogClient(peers["catalog"])
    recommendations = RecommendationsClient(peers["recommendations"])
    deps = Deps(
        settings=settings,
        service=GatewayService(catalog, recommendations, limit=settings.recommendations_limit),
        identity=IdentityClient(peers["identity"]),
        catalog=catalog,
        cart=CartClient(peers["cart"]),
        orders=OrdersClient(peers["orders"]),
        recommendations=recommendations,
    )
    set_component(app, deps)
    return deps


def get_deps(app: Flask) -> Deps:
    """Return gateway's dependencies on ``app``."""
    return get_component(app, Deps)
