"""Wire cart's real adapters once: settings, the cart store, the catalog client and the service."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from shop.cart.clients import CatalogClient
from shop.cart.config import Settings
from shop.cart.service import CartService
from shop.cart.store import CartStore, metadata
from shop.kit.config import KitSettings
from shop.kit.db import init_service_db
from shop.kit.resilience import make_clients
from shop.kit.state import get_component, set_component

DB_FILE = "cart.sqlite3"


@dataclass(frozen=True)
class Deps:
    """What cart's handlers use."""

    settings: Settings
    store: CartStore
    service: CartService
    catalog: CatalogClient


def bootstrap(app: Flask, kit: KitSettings, env: dict[str, str] | None = None) -> Deps:
    """Open cart's database, build its catalog client and service, and keep them on ``app``."""
    peers = make_clients(app, kit)
    store = CartStore(init_service_db(app, metadata, DB_FILE))
    catalog = CatalogClient(peers["catalog"])
    deps = Deps(
        settings=Settings.from_env(env), store=store, service=CartService(store, catalog), catalog=catalog
    )
    set_component(app, deps)
    return deps


def get_deps(app: Flask) -> Deps:
    """Return cart's dependencies on ``app``."""
    return get_component(app, Deps)
