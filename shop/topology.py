"""Describe the shop once: services, ports, edges and proxies (the single source of truth).

The native supervisor, the Toxiproxy proxies, the Prometheus scrape config and
docker-compose.yml are all derived from this module; tests fail when a committed
derived file drifts from it.

``SHOPLAB_PROXIES=off`` (``Topology(proxies=False)``) points every caller straight at its
callee: no Toxiproxy, no edge proxy, so no edge can be faulted. It exists to measure what
the proxies cost (``python -m bench proxies``) and to run the shop where a proxy is unwanted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

TOXIPROXY_API_PORT = 8474
PROXY_BASE_PORT = 19000
PROMETHEUS_PORT = 9090
JAEGER_UI_PORT = 16686
JAEGER_OTLP_HTTP_PORT = 4318
LOCUST_WEB_PORT = 8089
GRAFANA_PORT = 3000
WORKER_METRICS_PORT = 8088
# RabbitMQ (`shoplab up --broker`): AMQP, Erlang distribution, management UI, the node's own epmd,
# and the notifications consumer's /metrics.
AMQP_PORT = 5672
AMQP_DIST_PORT = 25672
AMQP_MANAGEMENT_PORT = 15672
EPMD_PORT = 4369
CONSUMER_METRICS_PORT = 9096
BROKER = "rabbitmq"
HOST = "127.0.0.1"
# One gunicorn process per service: breakers, retry budgets, faults and metrics live in
# that process, so they stay exact; threads carry the concurrency (2 cores, I/O-bound calls).
DEFAULT_WORKERS = 1
DEFAULT_THREADS = 8


@dataclass(frozen=True)
class Service:
    """One Flask service: its name, port and the peers it calls."""

    name: str
    port: int
    calls: tuple[str, ...] = ()
    critical: bool = True

    @property
    def module(self) -> str:
        """Return the import path of the service package."""
        return f"shop.{self.name}"

    @property
    def env_prefix(self) -> str:
        """Return the prefix of this service's env vars, e.g. ``ORDERS``."""
        return self.name.upper()


@dataclass(frozen=True)
class Edge:
    """One caller→callee arrow, carried by its own Toxiproxy proxy."""

    caller: str
    callee: str
    listen_port: int

    @property
    def proxy_name(self) -> str:
        """Return the Toxiproxy proxy name ``<caller>__<callee>``."""
        return f"{self.caller}__{self.callee}"


_SERVICES: tuple[Service, ...] = (
    Service("gateway", 8080, ("identity", "catalog", "cart", "orders", "recommendations")),
    Service("identity", 8081),
    Service("catalog", 8082),
    Service("cart", 8083, ("catalog",)),
    Service("orders", 8084, ("cart", "catalog", "payments", "notifications")),
    Service("payments", 8085),
    Service("notifications", 8086),
    Service("recommendations", 8087, ("catalog",), critical=False),
)


def _env_switch(name: str, default: bool) -> bool:
    raw = (os.environ.get(name, "") or ("on" if default else "off")).strip().lower()
    if raw in ("on", "1", "true", "yes"):
        return True
    if raw in ("off", "0", "false", "no"):
        return False
    raise ValueError(f"{name} must be on or off, got {raw!r}")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "") or str(default)
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Topology:
    """The whole shop at one port offset (0 for the documented defaults)."""

    services: tuple[Service, ...] = _SERVICES
    port_offset: int = 0
    host: str = HOST
    extra_edges: tuple[tuple[str, str], ...] = field(default=())
    workers: int = DEFAULT_WORKERS
    threads: int = DEFAULT_THREADS
    proxies: bool = True

    def __post_init__(self) -> None:
        if self.workers < 1 or self.threads < 1:
            raise ValueError(f"workers and threads must be at least 1, got {self.workers} and {self.threads}")

    @classmethod
    def from_env(cls) -> Topology:
        """Build the topology from ``SHOPLAB_PORT_OFFSET``, ``SHOPLAB_WORKERS``, ``SHOPLAB_THREADS``
        and ``SHOPLAB_PROXIES`` (``on``/``off``) when set."""
        return cls(
            port_offset=_env_int("SHOPLAB_PORT_OFFSET", 0),
            workers=_env_int("SHOPLAB_WORKERS", DEFAULT_WORKERS),
            threads=_env_int("SHOPLAB_THREADS", DEFAULT_THREADS),
            proxies=_env_switch("SHOPLAB_PROXIES", True),
        )

    def with_offset(self, offset: int) -> Topology:
        """Return the same topology shifted to another port offset."""
        return replace(self, port_offset=offset)

    # -- services -----------------------------------------------------------------
    def service(self, name: str) -> Service:
        """Return the service called ``name``; raise KeyError naming the known ones."""
        for svc in self.services:
            if svc.name == name:
                return replace(svc, port=svc.port + self.port_offset)
        known = ", ".join(s.name for s in self.services)
        raise KeyError(f"unknown service {name!r} (known: {known})")

    @property
    def service_names(self) -> tuple[str, ...]:
        """Return the service names in start order."""
        return tuple(s.name for s in self.services)

    def service_url(self, name: str) -> str:
        """Return the direct URL of a service (not through any proxy)."""
        return f"http://{self.host}:{self.service(name).port}"

    # -- edges --------------------------------------------------------------------
    @property
    def edges(self) -> tuple[Edge, ...]:
        """Return every caller→callee edge with a deterministic proxy port."""
        pairs = [(s.name, callee) for s in self.services for callee in s.calls]
        pairs.extend(self.extra_edges)
        return tuple(
            Edge(caller, callee, PROXY_BASE_PORT + self.port_offset + i)
            for i, (caller, callee) in enumerate(pairs)
        )

    def edge(self, caller: str, callee: str) -> Edge:
        """Return the edge caller→callee; raise KeyError when there is none."""
        for e in self.edges:
            if e.caller == caller and e.callee == callee:
                return e
        raise KeyError(f"no edge {caller}__{callee} in the topology")

    def edge_url(self, caller: str, callee: str) -> str:
        """Return the URL a caller uses for a callee: its proxy, or the callee itself with proxies off."""
        edge = self.edge(caller, callee)
        if not self.proxies:
            return self.service_url(callee)
        return f"http://{self.host}:{edge.listen_port}"

    @property
    def broker_edges(self) -> tuple[Edge, ...]:
        """Return the two broker edges: the outbox relay publishing and the consumer receiving.

        Both proxies lead to the broker's AMQP port; their ports follow the service edges'.
        Only a stack started with the broker (``shoplab up --broker``) creates them.
        """
        base = PROXY_BASE_PORT + self.port_offset + len(self.edges)
        return (Edge("orders", BROKER, base), Edge(BROKER, "notifications", base + 1))

    @property
    def proxied_edges(self) -> tuple[Edge, ...]:
        """Return every edge a proxy can sit on (a fault can name): the service edges, then the broker edges.

        None with proxies off (``SHOPLAB_PROXIES=off``): the arrows stay, their proxies go.
        """
        return self.edges + self.broker_edges if self.proxies else ()

    def broker_edge_url(self, caller: str, callee: str) -> str:
        """Return the AMQP URL one side of the broker uses: through its own proxy (the broker itself with proxies off)."""
        if not self.proxies:
            return self.amqp_url
        edge = next(e for e in self.broker_edges if (e.caller, e.callee) == (caller, callee))
        return f"amqp://guest:guest@{self.host}:{edge.listen_port}/%2F"

    @property
    def amqp_port(self) -> int:
        """Return RabbitMQ's AMQP port."""
        return AMQP_PORT + self.port_offset

    @property
    def amqp_url(self) -> str:
        """Return RabbitMQ's direct AMQP URL (readiness, queue depth), never the services' way in."""
        return f"amqp://guest:guest@{self.host}:{self.amqp_port}/%2F"

    @property
    def amqp_dist_port(self) -> int:
        """Return the Erlang distribution port of the RabbitMQ node."""
        return AMQP_DIST_PORT + self.port_offset

    @property
    def amqp_management_port(self) -> int:
        """Return RabbitMQ's management port (used in compose; the native broker runs without the plugin)."""
        return AMQP_MANAGEMENT_PORT + self.port_offset

    @property
    def epmd_port(self) -> int:
        """Return the port of this stack's own epmd (never the machine-wide 4369 but at offset 0)."""
        return EPMD_PORT + self.port_offset

    @property
    def consumer_metrics_port(self) -> int:
        """Return the port where the notifications consumer exposes /metrics."""
        return CONSUMER_METRICS_PORT + self.port_offset

    # -- other ports ----------------------------------------------------------------
    @property
    def toxiproxy_port(self) -> int:
        """Return the Toxiproxy API port."""
        return TOXIPROXY_API_PORT + self.port_offset

    @property
    def toxiproxy_url(self) -> str:
        """Return the Toxiproxy API URL."""
        return f"http://{self.host}:{self.toxiproxy_port}"

    @property
    def prometheus_port(self) -> int:
        """Return the Prometheus port."""
        return PROMETHEUS_PORT + self.port_offset

    @property
    def jaeger_ui_port(self) -> int:
        """Return the Jaeger UI/query port."""
        return JAEGER_UI_PORT + self.port_offset

    @property
    def jaeger_otlp_port(self) -> int:
        """Return the Jaeger OTLP/HTTP port."""
        return JAEGER_OTLP_HTTP_PORT + self.port_offset

    @property
    def worker_metrics_port(self) -> int:
        """Return the port where the orders worker exposes /metrics."""
        return WORKER_METRICS_PORT + self.port_offset

    @property
    def worker_metrics_url(self) -> str:
        """Return the base URL where the orders worker serves /metrics."""
        return f"http://{self.host}:{self.worker_metrics_port}"

    def service_env(self, name: str) -> dict[str, str]:
        """Return the environment one service gets: its port and ``<CALLEE>_URL`` per peer."""
        svc = self.service(name)
        env = {
            "SHOPLAB_SERVICE": svc.name,
            f"{svc.env_prefix}_PORT": str(svc.port),
            "OTEL_SERVICE_NAME": svc.name,
        }
        for callee in svc.calls:
            env[f"{callee.upper()}_URL"] = self.edge_url(svc.name, callee)
        for caller, callee in self.extra_edges:
            if caller == svc.name:
                env[f"{callee.upper()}_URL"] = self.edge_url(caller, callee)
        return env


DEFAULT = Topology()
