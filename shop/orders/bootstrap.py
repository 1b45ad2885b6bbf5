"""Wire orders' real adapters (settings, store, peer clients, service) once, for the app and the worker alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask

from shop.kit.config import KitSettings
from shop.kit.db import make_engine
from shop.kit.health import add_readiness_check
from shop.kit.resilience import ResilienceControl, ResilientClient, get_control
from shop.kit.state import get_component, set_component
from shop.orders.clients import CartClient, CatalogClient, NotificationsClient, PaymentsClient
from shop.orders.config import Settings
from shop.orders.model import CartPort, CatalogPort, NotificationsPort, PaymentsPort
from shop.orders.service import OrderService
from shop.orders.store import OrderStore

# Tests hand in fake peers under this app.config key: an OrderPeers, or a mapping of peer name to fake.
PEERS_CONFIG_KEY = "ORDERS_PEERS"


@dataclass(frozen=True)
class OrderPeers:
    """The typed clients of orders' four peers (the real ones, or fakes in tests)."""

    cart: CartPort
    catalog: CatalogPort
    payments: PaymentsPort
    notifications: NotificationsPort


@dataclass(frozen=True)
class Deps:
    """Everything the orders handlers use, built once at start-up."""

    settings: Settings
    store: OrderStore
    service: OrderService
    clients: OrderPeers


def build_store(settings: Settings) -> OrderStore:
    """Open the orders database and create its tables when missing."""
    store = OrderStore(make_engine(settings.db_path))
    store.create_schema()
    return store


def build_clients(settings: Settings, control: ResilienceControl) -> OrderPeers:
    """Build one resilient, typed client per peer from ``<PEER>_URL``, all following ``control``."""
    raw = {
        dep: ResilientClient(dep, url, caller=settings.kit.service, control=control)
        for dep, url in settings.kit.dependency_urls.items()
    }
    return OrderPeers(
        cart=CartClient(raw["cart"]),
        catalog=CatalogClient(raw["catalog"]),
        payments=PaymentsClient(raw["payments"]),
        notifications=NotificationsClient(raw["notifications"]),
    )


def bootstrap(app: Flask, kit: KitSettings, env: Mapping[str, str] | None = None) -> Deps:
    """Build the orders dependencies for ``app``, keep them on it and register the database check."""
    settings = Settings.from_env(None if env is None else dict(env))
    store = build_store(settings)
    clients = _get_test_peers(app) or build_clients(settings, get_control(app))
    deps = Deps(
        settings=settings,
        store=store,
        service=OrderService(store, cart=clients.cart, catalog=clients.catalog),
        clients=clients,
    )
    set_component(app, deps)
    add_readiness_check(app, "database", store.ping)
    return deps


def _get_test_peers(app: Flask) -> OrderPeers | None:
    fakes: OrderPeers | Mapping[str, Any] | None = app.config.get(PEERS_CONFIG_KEY)
    if isinstance(fakes, OrderPeers):
        return fakes
    return OrderPeers(**fakes) if fakes else None


def get_deps(app: Flask) -> Deps:
    """Return the orders dependencies of ``app``."""
    return get_component(app, Deps)
