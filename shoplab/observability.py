"""Run Prometheus and Jaeger natively next to the shop, with configs derived from the topology.

``programs()`` is what the native stack adds when observability is on: Prometheus
(scraping every service, the orders worker and toxiproxy; rules from ``dashboards/``;
exemplar storage on) and Jaeger v2 (in-memory storage, OTLP/HTTP receiver, query API),
each only when installed. ``service_env()`` tells the services where to export traces.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from shop.topology import Topology
from shoplab import REPO_ROOT
from shoplab.tools import find_tool

if TYPE_CHECKING:
    from shoplab.stack import Program

PROMETHEUS = "prometheus"
JAEGER = "jaeger"
WORKER_JOB = "orders-worker"
TOXIPROXY_JOB = "toxiproxy"
DASHBOARDS_DIR = REPO_ROOT / "dashboards"
RULES_DIR = DASHBOARDS_DIR / "prometheus" / "rules"
SCRAPE_INTERVAL_S = 2
EVALUATION_INTERVAL_S = 5


def scrape_targets(topology: Topology) -> dict[str, str]:
    """Return ``job → host:port`` for everything Prometheus scrapes (job = process name)."""
    host = topology.host
    targets = {name: f"{host}:{topology.service(name).port}" for name in topology.service_names}
    targets[WORKER_JOB] = f"{host}:{topology.worker_metrics_port}"
    targets[TOXIPROXY_JOB] = f"{host}:{topology.toxiproxy_port}"
    return targets


def render_prometheus_config(
    topology: Topology,
    *,
    rules_dir: Path = RULES_DIR,
    scrape_interval_s: int = SCRAPE_INTERVAL_S,
    evaluation_interval_s: int = EVALUATION_INTERVAL_S,
) -> str:
    """Return prometheus.yml (YAML text) scraping the whole topology and loading the rules."""
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": f"{scrape_interval_s}s",
            "scrape_timeout": f"{max(1, scrape_interval_s - 1)}s",
            "evaluation_interval": f"{evaluation_interval_s}s",
            "external_labels": {"shoplab": "native"},
        },
        "rule_files": [str(rules_dir / "*.yml")],
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [target]}],
            }
            for job, target in scrape_targets(topology).items()
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def jaeger_query_grpc_port(topology: Topology) -> int:
    """Return the Jaeger query gRPC port (one below the UI port, like 16685/16686)."""
    return topology.jaeger_ui_port - 1


def render_jaeger_config(topology: Topology, *, max_traces: int = 20_000) -> str:
    """Return a Jaeger v2 config: in-memory storage, OTLP/HTTP in, query API out, no other ports.

    Every listener is spelled out on 127.0.0.1 with the topology's ports: Jaeger's
    defaults (4317, 16685, 8888, 13133...) would collide between stacks on one machine.
    """
    host = topology.host
    config: dict[str, Any] = {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query"],
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["batch"],
                    "exporters": ["jaeger_storage_exporter"],
                }
            },
            "telemetry": {
                "resource": {"service.name": "jaeger"},
                "metrics": {"level": "none"},
                "logs": {"level": "warn"},
            },
        },
        "extensions": {
            "jaeger_storage": {"backends": {"memstore": {"memory": {"max_traces": max_traces}}}},
            "jaeger_query": {
                "storage": {"traces": "memstore"},
                "http": {"endpoint": f"{host}:{topology.jaeger_ui_port}"},
                "grpc": {"endpoint": f"{host}:{jaeger_query_grpc_port(topology)}"},
            },
        },
        "receivers": {"otlp": {"protocols": {"http": {"endpoint": f"{host}:{topology.jaeger_otlp_port}"}}}},
        "processors": {"batch": {"timeout": "200ms"}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": "memstore"}},
    }
    return yaml.safe_dump(config, sort_keys=False)


def prometheus_url(topology: Topology) -> str:
    """Return the Prometheus URL of this topology."""
    return f"http://{topology.host}:{topology.prometheus_port}"


def jaeger_url(topology: Topology) -> str:
    """Return the Jaeger query/UI URL of this topology."""
    return f"http://{topology.host}:{topology.jaeger_ui_port}"


def otlp_endpoint(topology: Topology) -> str:
    """Return the OTLP/HTTP base URL the services export to (``/v1/traces`` is appended by them)."""
    return f"http://{topology.host}:{topology.jaeger_otlp_port}"


def programs(topology: Topology, run_dir: Path) -> list[Program]:
    """Write the configs under ``run_dir/observability`` and return the programs of the installed tools."""
    from shoplab.stack import Program

    out = Path(run_dir) / "observability"
    progs: list[Program] = []
    prometheus = find_tool("prometheus")
    if prometheus is not None:
        out.mkdir(parents=True, exist_ok=True)
        config = out / "prometheus.yml"
        config.write_text(render_prometheus_config(topology))
        progs.append(
            Program(
                PROMETHEUS,
                [
                    str(prometheus),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={out / 'prometheus-data'}",
                    f"--web.listen-address={topology.host}:{topology.prometheus_port}",
                    "--enable-feature=exemplar-storage",
                    "--storage.tsdb.retention.time=1d",
                    "--web.enable-lifecycle",
                    "--log.level=warn",
                ],
                port=topology.prometheus_port,
                url=prometheus_url(topology),
                health_path="/-/healthy",
                ready_path="/-/ready",
            )
        )
    jaeger = find_tool("jaeger")
    if jaeger is not None:
        out.mkdir(parents=True, exist_ok=True)
        config = out / "jaeger.yaml"
        config.write_text(render_jaeger_config(topology))
        progs.append(
            Program(
                JAEGER,
                [str(jaeger), f"--config={config}"],
                port=topology.jaeger_ui_port,
                url=jaeger_url(topology),
                health_path="/api/services",
                ready_path="/api/services",
            )
        )
    return progs


def service_env(topology: Topology, extra: list[Program]) -> dict[str, str]:
    """Return the env every service and the worker get: the OTLP endpoint when Jaeger runs."""
    if any(p.name == JAEGER for p in extra):
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint(topology)}
    return {}
