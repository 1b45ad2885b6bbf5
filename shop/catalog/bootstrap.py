"""Wire catalog's real adapters once: settings, the seeded store and the service."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from shop.catalog.config import Settings
from shop.catalog.service import CatalogService, seed_products
from shop.catalog.store import CatalogStore, metadata
from shop.kit.config import KitSettings
from shop.kit.db import init_service_db
from shop.kit.state import get_component, set_component

DB_FILE = "catalog.sqlite3"


@dataclass(frozen=True)
class Deps:
    """What catalog's handlers use."""

    settings: Settings
    store: CatalogStore
    service: CatalogService


def bootstrap(app: Flask, kit: KitSettings, env: dict[str, str] | None = None) -> Deps:
    """Open (and on first start seed) catalog's database, build the service, keep them on ``app``."""
    del kit  # catalog calls no peer; the kit's settings already chose the data dir
    store = CatalogStore(init_service_db(app, metadata, DB_FILE))
    store.seed_if_empty(seed_products())
    deps = Deps(settings=Settings.from_env(env), store=store, service=CatalogService(store))
    set_component(app, deps)
    return deps


def get_deps(app: Flask) -> Deps:
    """Return catalog's dependencies on ``app``."""
    return get_component(app, Deps)
