"""Wire the notifications service's real adapters (settings, store, service) once, at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask

from shop.kit.config import KitSettings
from shop.kit.db import make_engine
from shop.kit.health import add_readiness_check
from shop.kit.state import get_component, set_component
from shop.notifications.config import Settings
from shop.notifications.service import NotificationService
from shop.notifications.store import NotificationStore


@dataclass(frozen=True)
class Deps:
    """Everything the notifications handlers use, built once at start-up (notifications calls no peer)."""

    settings: Settings
    store: NotificationStore
    service: NotificationService


def bootstrap(app: Flask, kit: KitSettings, env: Mapping[str, str] | None = None) -> Deps:
    """Build the notifications dependencies for ``app``, keep them on it and register the database check."""
    settings = Settings.from_env(None if env is None else dict(env))
    service = build_service(settings)
    store = service.store
    deps = Deps(settings=settings, store=store, service=service)
    set_component(app, deps)
    add_readiness_check(app, "database", store.ping)
    return deps


def build_service(settings: Settings) -> NotificationService:
    """Build the store (schema created) and the service; the app and the consumer share this."""
    store = NotificationStore(make_engine(settings.db_path))
    store.create_schema()
    return NotificationService(store)


def get_deps(app: Flask) -> Deps:
    """Return the notifications dependencies of ``app``."""
    return get_component(app, Deps)
