"""Wire recommendations' real adapters once: settings, the catalog client and the service (no store)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from shop.kit.config import KitSettings
from shop.kit.resilience import make_clients
from shop.kit.state import get_component, set_component
from shop.recommendations.clients import CatalogClient
from shop.recommendations.config import Settings
from shop.recommendations.service import RecommendationService


@dataclass(frozen=True)
class Deps:
    """What recommendations' handlers use."""

    settings: Settings
    service: RecommendationService
    catalog: CatalogClient


def bootstrap(app: Flask, kit: KitSettings, env: dict[str, str] | None = None) -> Deps:
    """Build the catalog client and the service, and keep them on ``app``."""
    peers = make_clients(app, kit)
    catalog = CatalogClient(peers["catalog"])
    deps = Deps(settings=Settings.from_env(env), service=RecommendationService(catalog), catalog=catalog)
    set_component(app, deps)
    return deps


def get_deps(app: Flask) -> Deps:
    """Return recommendations' dependencies on ``app``."""
    return get_component(app, Deps)
