"""Read the orders service's and worker's settings once, from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shop.kit.config import KitSettings, MissingSetting, get_float_env, get_port_env
from shop.topology import WORKER_METRICS_PORT


@dataclass(frozen=True)
class Settings:
    """Orders settings: the kit's plus the database file and the worker's pacing."""

    kit: KitSettings
    db_path: Path
    poll_interval_s: float
    idle_max_s: float
    worker_metrics_port: int
    concurrency: int = 4
    orders_url: str | None = None
    worker_metrics_host: str = "127.0.0.1"
    outbox_max_attempts: int = 8
    # how the outbox relay delivers events: "http" (POST /events) or "amqp" (RabbitMQ, confirmed)
    events: str = "http"
    amqp_url: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read ``ORDERS_DB_PATH``, ``ORDERS_WORKER_POLL_S``, ``ORDERS_WORKER_IDLE_MAX_S``, ``ORDERS_WORKER_CONCURRENCY``, ``ORDERS_OUTBOX_MAX_ATTEMPTS``, metrics port/host."""
        source = dict(os.environ if env is None else env)
        kit = KitSettings.from_env("orders", source)
        return cls(
            kit=kit,
            db_path=Path(source.get("ORDERS_DB_PATH") or kit.data_dir / "orders.sqlite3"),
            poll_interval_s=get_float_env("ORDERS_WORKER_POLL_S", 0.1, source),
            idle_max_s=get_float_env("ORDERS_WORKER_IDLE_MAX_S", 1.0, source),
            worker_metrics_port=get_port_env("ORDERS_WORKER_METRICS_PORT", source, service="orders",
                                             default=WORKER_METRICS_PORT),
            concurrency=max(1, int(get_float_env("ORDERS_WORKER_CONCURRENCY", 4, source))),
            orders_url=_orders_url(source),
            # Containers set 0.0.0.0 so Prometheus in another container can scrape the worker.
            worker_metrics_host=source.get("ORDERS_WORKER_METRICS_HOST") or "127.0.0.1",
            # Refusals of one event before it is dead-lettered (an outage never counts).
            outbox_max_attempts=max(1, int(get_float_env("ORDERS_OUTBOX_MAX_ATTEMPTS", 8, source))),
            events=events_transport(source),
            amqp_url=source.get("RABBITMQ_URL") or None,
        )


def events_transport(source: dict[str, str]) -> str:
    """Return ``SHOPLAB_EVENTS`` (``http`` by default); fail naming the variable on anything else."""
    value = (source.get("SHOPLAB_EVENTS") or "http").strip().lower()
    if value not in ("http", "amqp"):
        raise MissingSetting(f"SHOPLAB_EVENTS must be http or amqp, got {value!r}")
    if value == "amqp" and not source.get("RABBITMQ_URL"):
        raise MissingSetting("SHOPLAB_EVENTS=amqp needs RABBITMQ_URL (the publisher's way to the broker)")
    return value


def _orders_url(source: dict[str, str]) -> str | None:
    # The worker reads the orders service's resilience profile from its admin API.
    if source.get("ORDERS_SELF_URL"):
        return source["ORDERS_SELF_URL"]
    port = source.get("ORDERS_PORT")
    return f"http://127.0.0.1:{port}" if port and port.isdigit() else None
