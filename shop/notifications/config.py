"""Read the notifications service's settings once, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shop.kit.config import KitSettings, get_float_env, get_port_env
from shop.topology import CONSUMER_METRICS_PORT


@dataclass(frozen=True)
class Settings:
    """Notifications settings: the kit's plus the database file."""

    kit: KitSettings
    db_path: Path
    # the consumer (SHOPLAB_EVENTS=amqp): its way to the broker (through the broker→consumer
    # proxy), the broker's direct URL for queue depths, unacked messages at most, /metrics port
    amqp_url: str | None = None
    amqp_admin_url: str | None = None
    prefetch: int = 16
    consumer_metrics_port: int = CONSUMER_METRICS_PORT

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read ``NOTIFICATIONS_DB_PATH`` (default: ``notifications.sqlite3`` in the data dir) and the consumer's settings."""
        source = dict(os.environ if env is None else env)
        kit = KitSettings.from_env("notifications", source)
        return cls(
            kit=kit,
            db_path=Path(source.get("NOTIFICATIONS_DB_PATH") or kit.data_dir / "notifications.sqlite3"),
            amqp_url=source.get("RABBITMQ_URL") or None,
            amqp_admin_url=source.get("RABBITMQ_ADMIN_URL") or source.get("RABBITMQ_URL") or None,
            prefetch=max(1, int(get_float_env("NOTIFICATIONS_PREFETCH", 16, source))),
            consumer_metrics_port=get_port_env("NOTIFICATIONS_CONSUMER_METRICS_PORT", source,
                                               service="notifications", default=CONSUMER_METRICS_PORT),
        )
