"""Dashboards, provisioning and the native Prometheus/Jaeger configs, checked as data (no tools run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from shop.topology import Topology
from shoplab.runtime import observability
from shoplab.runtime.supervisord import Program

pytestmark = pytest.mark.unit

GRAFANA = observability.DASHBOARDS_DIR / "grafana"


def _boards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(observability.GRAFANA_DASHBOARDS_DIR.glob("*.json"))}


def _datasources() -> list[dict]:
    return yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text())["datasources"]


def test_the_three_dashboards_exist_with_unique_uids() -> None:
    boards = _boards()
    assert set(boards) == {"shop-overview.json", "resilience.json", "slo.json"}
    uids = [b["uid"] for b in boards.values()]
    assert len(set(uids)) == len(uids)


def test_every_panel_queries_a_provisioned_datasource() -> None:
    uids = {ds["uid"] for ds in _datasources()}
    for name, board in _boards().items():
        for panel in board["panels"]:
            assert panel["targets"], f"{name}: panel {panel['title']!r} has no query"
            for target in panel["targets"]:
                assert target["datasource"]["uid"] in uids, f"{name}: {panel['title']!r}"


def test_latency_exemplars_link_to_the_jaeger_datasource() -> None:
    by_uid = {ds["uid"]: ds for ds in _datasources()}
    prometheus = next(ds for ds in by_uid.values() if ds["type"] == "prometheus")
    links = prometheus["jsonData"]["exemplarTraceIdDestinations"]
    assert [(link["name"], by_uid[link["datasourceUid"]]["type"]) for link in links] == [("trace_id", "jaeger")]
    exemplar_panels = [
        p["title"] for b in _boards().values() for p in b["panels"] if any(t.get("exemplar") for t in p["targets"])
    ]
    assert exemplar_panels and all("latency" in title for title in exemplar_panels)


def test_the_resilience_dashboard_shows_every_resilience_signal_per_edge() -> None:
    exprs = " ".join(t["expr"] for p in _boards()["resilience.json"]["panels"] for t in p["targets"])
    for signal in (
        "edge:shoplab_dependency_requests:rate1m",
        "edge:shoplab_dependency_attempts:rate1m",
        "edge:shoplab_retry_amplification:ratio_rate1m",
        "shoplab_breaker_state",
        "shoplab_bulkhead_rejections_total",
        "shoplab_dependency_fallbacks_total",
        "toxiproxy_proxy_sent_bytes_total",
        "shoplab_hedges_total",
        "shoplab_adaptive_limit",
        "shoplab_requests_shed_total",
    ):
        assert signal in exprs, signal


def test_grafana_variables_are_all_expanded_for_prometheus() -> None:
    queries = observability.get_dashboard_queries()
    assert len(queries) >= 20
    assert all("$" not in q.expr for q in queries)
    assert observability.expand_grafana_variables('rate(x{s=~"${service}"}[$__rate_interval])', {"service": ".+"}) == (
        'rate(x{s=~".+"}[1m])'
    )
    with pytest.raises(KeyError):
        observability.expand_grafana_variables("rate(x[$nope])", {})


def test_every_rule_is_collected_with_its_name() -> None:
    queries = observability.get_rule_queries()
    kinds = {q.kind for q in queries}
    assert kinds == {"record", "alert"}
    assert any("slo:shoplab_api_errors:ratio_rate1h" in q.source for q in queries)


def test_the_native_prometheus_config_scrapes_every_process_of_the_topology() -> None:
    topo = Topology(port_offset=400)
    config = yaml.safe_load(observability.render_prometheus_config(topo))
    jobs = {c["job_name"]: c["static_configs"][0]["targets"][0] for c in config["scrape_configs"]}
    expected = {name: f"127.0.0.1:{topo.service(name).port}" for name in topo.service_names}
    expected["orders-worker"] = f"127.0.0.1:{topo.worker_metrics_port}"
    expected["toxiproxy"] = f"127.0.0.1:{topo.toxiproxy_port}"
    assert jobs == expected
    assert config["rule_files"] == [str(observability.RULES_DIR / "*.yml")]


def test_the_jaeger_config_listens_only_on_the_topologys_ports() -> None:
    topo = Topology(port_offset=400)
    config = yaml.safe_load(observability.render_jaeger_config(topo))
    endpoints = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "endpoint":
                    endpoints.append(value)
                walk(value)

    walk(config)
    assert sorted(endpoints) == sorted(
        [f"127.0.0.1:{topo.jaeger_ui_port}", f"127.0.0.1:{topo.jaeger_ui_port - 1}", f"127.0.0.1:{topo.jaeger_otlp_port}"]
    )
    assert config["service"]["telemetry"]["metrics"]["level"] == "none"  # no default :8888 listener
    assert config["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]


def test_services_export_traces_only_when_jaeger_runs(tmp_path: Path) -> None:
    topo = Topology(port_offset=400)
    jaeger = Program("jaeger", ["jaeger"])
    assert observability.service_env(topo, [jaeger]) == {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4718"}
    assert observability.service_env(topo, []) == {}


def test_installed_tools_become_programs_with_exemplar_storage_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observability, "find_tool", lambda name: Path(f"/opt/bin/{name}"))
    topo = Topology(port_offset=400)
    progs = {p.name: p for p in observability.programs(topo, tmp_path)}
    assert set(progs) == {"prometheus", "jaeger"}
    assert "--enable-feature=exemplar-storage" in progs["prometheus"].command
    assert f"--web.listen-address=127.0.0.1:{topo.prometheus_port}" in progs["prometheus"].command
    assert progs["jaeger"].command == ["/opt/bin/jaeger", f"--config={tmp_path / 'observability' / 'jaeger.yaml'}"]
    assert (tmp_path / "observability" / "prometheus.yml").is_file()


def test_missing_tools_are_left_out_instead_of_failing_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observability, "find_tool", lambda name: None)
    assert observability.programs(Topology(), tmp_path) == []


def test_the_jaeger_config_caps_the_in_memory_store_at_the_sized_trace_count() -> None:
    config = yaml.safe_load(observability.render_jaeger_config(Topology(port_offset=400)))
    memstore = config["extensions"]["jaeger_storage"]["backends"]["memstore"]["memory"]
    assert memstore["max_traces"] == observability.JAEGER_MAX_TRACES == 3_000
