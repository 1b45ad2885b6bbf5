"""List the programs of the native stack: toxiproxy, one gunicorn per service, the worker, observability."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from shop.kit.server import gunicorn_limit_args
from shop.topology import Topology
from shoplab.runtime import broker, observability
from shoplab.runtime.supervisord import Program
from shoplab.runtime.tools import ensure_tool

WORKER = "orders-worker"
TOXIPROXY = "toxiproxy"
REAPER = "shoplab-reaper"


def _toxiproxy(topo: Topology) -> Program:
    return Program(
        TOXIPROXY,
        [str(ensure_tool("toxiproxy-server")), "-host", topo.host, "-port", str(topo.toxiproxy_port),
         "-proxy-metrics", "-runtime-metrics"],
        port=topo.toxiproxy_port,
        url=topo.toxiproxy_url,
        health_path="/version",
        ready_path="/version",
    )


def _service(topo: Topology, name: str, env: dict[str, str]) -> Program:
    port = topo.service(name).port
    cmd = [
        sys.executable, "-m", "gunicorn",
        "--worker-class", "shop.kit.server.JsonErrorWorker", "--workers", str(topo.workers),
        "--threads", str(topo.threads),
        "--bind", f"{topo.host}:{port}", "--timeout", "60", "--graceful-timeout", "5",
        "--keep-alive", "5", "--error-logfile", "-", "--log-level", "warning",
        # Explicit limits above the app's declared maxima; what gunicorn still refuses
        # itself, the worker class answers in the JSON error shape (see shop.kit.server).
        *gunicorn_limit_args(),
        f"shop.{name}:create_app()",
    ]
    return Program(name, cmd, env=env, port=port, url=topo.service_url(name),
                   health_path="/healthz", ready_path="/readyz")


def native_programs(
    topo: Topology,
    state: dict[str, Any],
    *,
    run_dir: Path,
    data_dir: Path,
    observability_on: bool,
    profile: str,
    extra_env: dict[str, str],
    with_worker: bool,
    with_broker: bool = False,
) -> list[Program]:
    """Return every program of a native stack, in start order (toxiproxy first, observability last).

    ``with_broker``: RabbitMQ (and its epmd) right after toxiproxy, the notifications
    consumer after the services, and ``SHOPLAB_EVENTS=amqp`` for orders and notifications.
    With proxies off (``SHOPLAB_PROXIES=off``) there is no toxiproxy.
    """
    progs = [_toxiproxy(topo)] if topo.proxies else []
    if with_broker:
        progs += broker.programs(topo, run_dir)
    by_service = broker.broker_env(topo) if with_broker else {}
    extra: list[Program] = []
    otel_env: dict[str, str] = {}
    if observability_on:
        extra = observability.programs(topo, run_dir, broker=with_broker)
        otel_env = observability.service_env(topo, extra)
    common = {
        "SHOPLAB_ADMIN_TOKEN": state["admin_token"],
        "SHOPLAB_JWT_SECRET": state["jwt_secret"],
        "SHOPLAB_RESILIENCE_PROFILE": profile,
        "SHOPLAB_PORT_OFFSET": str(topo.port_offset),
        "PYTHONUNBUFFERED": "1",
        **otel_env,
        **extra_env,
    }
    for svc in topo.services:
        env = {**common, **topo.service_env(svc.name), "SHOPLAB_DATA_DIR": str(data_dir / svc.name),
               **by_service.get(svc.name, {})}
        progs.append(_service(topo, svc.name, env))
    if with_worker and importlib.util.find_spec("shop.orders.worker") is not None:
        env = {
            **common,
            **topo.service_env("orders"),
            "OTEL_SERVICE_NAME": WORKER,
            "SHOPLAB_DATA_DIR": str(data_dir / "orders"),
            "ORDERS_WORKER_METRICS_PORT": str(topo.worker_metrics_port),
            **by_service.get("orders", {}),
        }
        progs.append(
            Program(WORKER, [sys.executable, "-m", "shop.orders.worker"], env=env,
                    port=topo.worker_metrics_port, url=f"http://{topo.host}:{topo.worker_metrics_port}")
        )
    if with_broker:
        env = {**common, **topo.service_env("notifications"), "SHOPLAB_DATA_DIR": str(data_dir / "notifications"),
               **by_service["notifications"]}
        progs.append(broker.consumer_program(topo, env))
    # The reaper removes faults whose lease expired (chaos.reaper); it imports chaos, so run it by module name.
    reaper_env = {**common, "SHOPLAB_RUN_DIR": str(run_dir)}
    progs.append(Program(REAPER, [sys.executable, "-m", "chaos.reaper"], env=reaper_env))
    return progs + extra
