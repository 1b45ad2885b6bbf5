"""Wire identity's real adapters once: settings, the user store, the hasher, the token issuer and the service."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from shop.identity.config import Settings
from shop.identity.service import IdentityService
from shop.identity.store import Argon2Hasher, JwtIssuer, UserStore, metadata
from shop.kit.config import KitSettings
from shop.kit.db import init_service_db
from shop.kit.state import get_component, set_component

DB_FILE = "identity.sqlite3"


@dataclass(frozen=True)
class Deps:
    """What identity's handlers use."""

    settings: Settings
    store: UserStore
    service: IdentityService


def bootstrap(app: Flask, kit: KitSettings, env: dict[str, str] | None = None) -> Deps:
    """Read identity's settings, open its database, build the service and keep them on ``app``.

    Raises ``MissingSetting`` when ``SHOPLAB_JWT_SECRET`` is not set.
    """
    del kit  # identity calls no peer; the kit's settings already chose the data dir
    settings = Settings.from_env(env)
    store = UserStore(init_service_db(app, metadata, DB_FILE))
    hasher = Argon2Hasher(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    tokens = JwtIssuer(secret=settings.jwt_secret, ttl_s=settings.token_ttl_s)
    deps = Deps(settings=settings, store=store, service=IdentityService(store, hasher, tokens))
    set_component(app, deps)
    return deps


def get_deps(app: Flask) -> Deps:
    """Return identity's dependencies on ``app``."""
    return get_component(app, Deps)
