"""Run Prometheus and Jaeger natively next to the shop, with configs derived from the topology.

``programs()`` is what the native stack adds when observability is on: Prometheus
(scraping every service, the orders worker and toxiproxy; rules from ``dashboards/``;
exemplar storage on) and Jaeger v2 (in-memory storage, OTLP/HTTP receiver, query API),
each only when installed. ``service_env()`` tells the services where to export traces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shop.topology import Topology
from shoplab import REPO_ROOT
from shoplab.runtime.supervisord import Program
from shoplab.runtime.tools import ensure_tool, find_tool

PROMETHEUS = "prometheus"
JAEGER = "jaeger"
WORKER_JOB = "orders-worker"
CONSUMER_JOB = "notifications-consumer"
TOXIPROXY_JOB = "toxiproxy"
DASHBOARDS_DIR = REPO_ROOT / "dashboards"
RULES_DIR = DASHBOARDS_DIR / "prometheus" / "rules"
SCRAPE_INTERVAL_S = 2
EVALUATION_INTERVAL_S = 5


def scrape_targets(topology: Topology, *, broker: bool = False) -> dict[str, str]:
    """Return ``job → host:port`` for everything Prometheus scrapes (job = process name).

    ``broker``: also the notifications consumer (queue depths, delivery lag) of ``up --broker``.
    """
    host = topology.host
    targets = {name: f"{host}:{topology.service(name).port}" for name in topology.service_names}
    targets[WORKER_JOB] = f"{host}:{topology.worker_metrics_port}"
    if topology.proxies:
        targets[TOXIPROXY_JOB] = f"{host}:{topology.toxiproxy_port}"
    if broker:
        targets[CONSUMER_JOB] = f"{host}:{topology.consumer_metrics_port}"
    return targets


def render_prometheus_config(
    topology: Topology,
    *,
    rules_dir: Path = RULES_DIR,
    scrape_interval_s: int = SCRAPE_INTERVAL_S,
    evaluation_interval_s: int = EVALUATION_INTERVAL_S,
    broker: bool = False,
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
            for job, target in scrape_targets(topology, broker=broker).items()
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def jaeger_query_grpc_port(topology: Topology) -> int:
    """Return the Jaeger query gRPC port (one below the UI port, like 16685/16686)."""
    return topology.jaeger_ui_port - 1


# Jaeger's in-memory store holds ~12 KiB per trace of the shop (a soak at 12 journeys/s took
# it from 159 to 410 MiB at the old cap of 20,000). 3,000 traces is about 30 s at the knee's
# 100 requests/s and over a minute of an experiment's load: enough to find any recent request's
# trace. At 5,000 a 10-minute soak at half the knee peaked at 1,018 MiB, 6 MiB under the shop's
# 1 GiB (Jaeger 118 MiB of it, still the one program that grows with traffic).
JAEGER_MAX_TRACES = 3_000
# Go's soft memory limit: the collector's garbage is collected before the heap doubles.
JAEGER_GOMEMLIMIT = "160MiB"


def render_jaeger_config(topology: Topology, *, max_traces: int = JAEGER_MAX_TRACES) -> str:
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


def ensure_observability_tools() -> None:
    """Install Prometheus and Jaeger when missing (the first ``shoplab up`` that asks for them)."""
    ensure_tool(PROMETHEUS)
    ensure_tool(JAEGER)


def programs(topology: Topology, run_dir: Path, *, broker: bool = False) -> list[Program]:
    """Write the configs under ``run_dir/observability`` and return the programs of the installed tools."""
    out = Path(run_dir) / "observability"
    progs: list[Program] = []
    prometheus = find_tool("prometheus")
    if prometheus is not None:
        out.mkdir(parents=True, exist_ok=True)
        config = out / "prometheus.yml"
        config.write_text(render_prometheus_config(topology, broker=broker))
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
                env={"GOMEMLIMIT": JAEGER_GOMEMLIMIT},
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


# -- every PromQL query the dashboards and rules hold (checked against a live Prometheus) ------------

GRAFANA_DASHBOARDS_DIR = DASHBOARDS_DIR / "grafana" / "dashboards"
# What Grafana substitutes for its built-in variables, at the native scrape interval.
GRAFANA_BUILTINS = {"__rate_interval": "1m", "__interval": "10s", "__range": "5m", "__range_s": "300"}


@dataclass(frozen=True)
class Query:
    """One PromQL expression and where it lives (a dashboard panel or a rule)."""

    kind: str  # "panel", "record" or "alert"
    source: str
    expr: str


def expand_grafana_variables(expr: str, variables: dict[str, str]) -> str:
    """Replace ``$name`` / ``${name}`` with Grafana's built-ins or the dashboard's "All" value."""
    values = {**GRAFANA_BUILTINS, **variables}

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"unknown Grafana variable ${name} in {expr!r}")
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", sub, expr)


def _walk_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _walk_panels(panel.get("panels") or [])


def get_dashboard_queries(dashboards_dir: Path = GRAFANA_DASHBOARDS_DIR) -> list[Query]:
    """Return every Prometheus target of every dashboard, with its variables expanded."""
    queries = []
    for path in sorted(dashboards_dir.glob("*.json")):
        board = json.loads(path.read_text())
        variables = {
            v["name"]: v.get("allValue") or ".+" for v in board.get("templating", {}).get("list", [])
        }
        for panel in _walk_panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if "expr" not in target:
                    continue
                source = f"dashboard {path.name}, panel {panel.get('title')!r} (target {target.get('refId')})"
                queries.append(Query("panel", source, expand_grafana_variables(target["expr"], variables)))
    return queries


def get_rule_queries(rules_dir: Path = RULES_DIR) -> list[Query]:
    """Return the expression of every recording and alerting rule."""
    queries = []
    for path in sorted(rules_dir.glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                kind = "record" if "record" in rule else "alert"
                name = rule.get("record") or rule.get("alert")
                source = f"rule file {path.name}, group {group['name']}, {kind} {name}"
                queries.append(Query(kind, source, str(rule["expr"]).strip()))
    return queries
