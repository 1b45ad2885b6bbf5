"""Check the Helm chart with the real Helm and the Kubernetes schemas, and against the topology."""

from __future__ import annotations

import functools
import json
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from shop.topology import DEFAULT, TOXIPROXY_API_PORT, WORKER_METRICS_PORT
from shoplab import REPO_ROOT
from shoplab.runtime import compose, helm
from shoplab.runtime.tools import TOXIPROXY_VERSION, ensure_tool

pytestmark = pytest.mark.unit

TOPOLOGY = DEFAULT
CHART = REPO_ROOT / helm.CHART_DIR
# Every switch of values.yaml turned away from its default at once: the widest render.
ALL_ON = {
    "metrics.serviceMonitor.enabled": True,
    "jaeger.enabled": True,
    "persistence.enabled": True,
    "persistence.storageClass": "standard",
    "secrets.existingSecret": "team-secrets",
    "imagePullSecrets": [{"name": "regcred"}],
    "nodeSelector": {"kubernetes.io/os": "linux"},
}
# Kinds whose schema is a CRD the Kubernetes schemas cannot know; checked by hand below.
CRD_KINDS = {"ServiceMonitor"}
K8S_VERSION = kubernetes_validate.latest_version()
WORKER = compose.WORKER


@pytest.fixture(scope="module", autouse=True)
def _schemas_read_once() -> Iterator[None]:
    """Read each schema file once per module: kubernetes-validate re-reads its definitions for every manifest."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kubernetes_validate.utils, "schema_contents",
                      functools.lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents))
        yield


@pytest.fixture(scope="module")
def helm_bin() -> Path:
    """Return Helm; fail saying how to install it when it is missing (it is never built during a test)."""
    return ensure_tool("helm", install=False)


@pytest.fixture(scope="module")
def default(helm_bin: Path) -> list[dict[str, Any]]:
    """Return the chart rendered with its default values."""
    return helm.render_manifests(helm_bin)


@pytest.fixture(scope="module")
def no_proxies(helm_bin: Path) -> list[dict[str, Any]]:
    """Return the chart rendered with toxiproxy disabled."""
    return helm.render_manifests(helm_bin, {"toxiproxy.enabled": False})


@pytest.fixture(scope="module")
def all_on(helm_bin: Path) -> list[dict[str, Any]]:
    """Return the chart rendered with every optional part switched on."""
    return helm.render_manifests(helm_bin, ALL_ON)


def _named(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _containers(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Return every container of every Deployment by container name."""
    return {c["name"]: c for d in _named(docs, "Deployment").values()
            for c in d["spec"]["template"]["spec"]["containers"]}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _peer_urls(container: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in _env(container).items() if k.endswith("_URL")}


def test_the_charts_topology_file_is_the_one_shop_topology_renders() -> None:
    assert not helm.is_drifted(), "run `python -m shoplab.runtime.helm`: files/topology.json drifted"
    data = json.loads((REPO_ROOT / helm.TOPOLOGY_FILE).read_text())
    assert [s["name"] for s in data["services"]] == list(TOPOLOGY.service_names)
    assert data["toxiproxy"]["proxies"] == json.loads((REPO_ROOT / compose.TOXIPROXY_CONFIG_PATH).read_text())


@pytest.mark.parametrize("values", [{}, {"toxiproxy.enabled": False}, ALL_ON], ids=["default", "no-proxies", "all-on"])
def test_helm_lint_passes_strict(helm_bin: Path, values: dict[str, Any]) -> None:
    args = ["lint", "--strict"]
    for key, value in values.items():
        args += ["--set-json", f"{key}={json.dumps(value)}"]
    out = helm.run_helm(helm_bin, args)
    assert "0 chart(s) failed" in out


def test_every_rendered_manifest_is_valid_against_the_kubernetes_schemas(
        default: list[dict[str, Any]], no_proxies: list[dict[str, Any]], all_on: list[dict[str, Any]]) -> None:
    checked = Counter[str]()
    for doc in default + no_proxies + all_on:
        if doc["kind"] in CRD_KINDS:
            continue
        # strict: an unknown field (a typo'd key) fails as well as a wrong type or a missing field
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        checked[doc["kind"]] += 1
    assert {"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget",
            "PersistentVolumeClaim"} <= set(checked)


def test_an_invalid_manifest_is_refused_by_the_validator(default: list[dict[str, Any]]) -> None:
    deployment = json.loads(json.dumps(_named(default, "Deployment")["gateway"]))
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_every_service_edge_and_port_of_the_topology_is_in_the_chart_and_nothing_else(
        default: list[dict[str, Any]]) -> None:
    services = set(TOPOLOGY.service_names)
    assert set(_named(default, "Deployment")) == services | {"toxiproxy"}
    assert set(_named(default, "Service")) == services | {WORKER, "toxiproxy"}
    assert set(_containers(default)) == services | {WORKER, "toxiproxy"}
    for name in services:
        port = TOPOLOGY.service(name).port
        svc = _named(default, "Service")[name]
        assert [p["port"] for p in svc["spec"]["ports"]] == [port]
        container = _containers(default)[name]
        assert [p["containerPort"] for p in container["ports"]] == [port]
        assert _env(container)["PORT"] == str(port)
    worker_port = _named(default, "Service")[WORKER]["spec"]["ports"][0]["port"]
    assert worker_port == WORKER_METRICS_PORT
    # toxiproxy: exactly one proxy per edge, listening on the edge's port, forwarding to the callee's Service
    proxies = json.loads(_named(default, "ConfigMap")["toxiproxy"]["data"]["toxiproxy.json"])
    assert {p["name"]: (p["listen"], p["upstream"]) for p in proxies} == {
        e.proxy_name: (f"0.0.0.0:{e.listen_port}", f"{e.callee}:{TOPOLOGY.service(e.callee).port}")
        for e in TOPOLOGY.edges
    }
    tp_ports = {p["port"] for p in _named(default, "Service")["toxiproxy"]["spec"]["ports"]}
    assert tp_ports == {TOXIPROXY_API_PORT} | {e.listen_port for e in TOPOLOGY.edges}
    # every caller reaches every callee through its own proxy, and has no other peer URL
    for name in services | {WORKER}:
        caller = "orders" if name == WORKER else name
        assert _peer_urls(_containers(default)[name]) == {
            f"{e.callee.upper()}_URL": f"http://toxiproxy:{e.listen_port}" for e in TOPOLOGY.edges
            if e.caller == caller
        }


def test_without_toxiproxy_callers_point_straight_at_their_callees(no_proxies: list[dict[str, Any]]) -> None:
    assert "toxiproxy" not in _named(no_proxies, "Deployment")
    assert "toxiproxy" not in _named(no_proxies, "Service") | _named(no_proxies, "ConfigMap")
    for svc in TOPOLOGY.services:
        assert _peer_urls(_containers(no_proxies)[svc.name]) == {
            f"{callee.upper()}_URL": f"http://{callee}:{TOPOLOGY.service(callee).port}" for callee in svc.calls
        }
    assert "toxiproxy" not in yaml.safe_dump_all(no_proxies)


def test_every_shop_container_is_probed_on_readyz_and_healthz_and_has_resources(
        default: list[dict[str, Any]]) -> None:
    for name in TOPOLOGY.service_names:
        container = _containers(default)[name]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert "memory" in container["resources"]["limits"]
    assert _containers(default)[WORKER]["livenessProbe"]["httpGet"]["path"] == "/metrics"


def test_the_secrets_come_from_a_kubernetes_secret_never_from_values(
        default: list[dict[str, Any]], all_on: list[dict[str, Any]]) -> None:
    values = (CHART / "values.yaml").read_text()
    assert "token:" not in values.replace("adminTokenKey:", "")
    generated = _named(default, "Secret")
    assert list(generated) == ["shop-shoplab-secrets"]
    # an existing Secret: the chart makes none and every container reads that one
    assert _named(all_on, "Secret") == {}
    for container in _containers(all_on).values():
        if container["name"] in ("toxiproxy", "jaeger"):
            continue
        env = _env(container)
        assert env["SHOPLAB_ADMIN_TOKEN"] == {"secretKeyRef": {"name": "team-secrets", "key": "admin-token"}}
        assert env["SHOPLAB_JWT_SECRET"] == {"secretKeyRef": {"name": "team-secrets", "key": "jwt-secret"}}


def test_scraping_has_annotations_by_default_and_a_service_monitor_on_request(
        default: list[dict[str, Any]], all_on: list[dict[str, Any]]) -> None:
    for name, svc in _named(default, "Service").items():
        annotations = svc["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/port"] == str(svc["spec"]["ports"][0]["port"])
    assert not _named(default, "ServiceMonitor")
    monitor = _named(all_on, "ServiceMonitor")["shoplab"]
    ports = {p["name"] for s in _named(all_on, "Service").values() for p in s["spec"]["ports"]}
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports
    # with Jaeger on, every shop container exports its traces to it
    for name in (*TOPOLOGY.service_names, WORKER):
        assert _env(_containers(all_on)[name])["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"


def test_every_pod_has_a_disruption_budget_and_the_worker_shares_orders_volume(
        default: list[dict[str, Any]], all_on: list[dict[str, Any]]) -> None:
    assert set(_named(default, "PodDisruptionBudget")) == set(TOPOLOGY.service_names) | {"toxiproxy"}
    orders = _named(all_on, "Deployment")["orders"]["spec"]
    volumes = {v["name"]: v for v in orders["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "orders-data"
    assert orders["strategy"] == {"type": "Recreate"}
    mounts = {c["name"]: c["volumeMounts"] for c in orders["template"]["spec"]["containers"]}
    assert {"name": "data", "mountPath": "/data"} in mounts[WORKER]


def test_the_chart_pins_the_images_the_project_builds_and_runs() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    with (REPO_ROOT / "pyproject.toml").open("rb") as fh:
        assert chart["appVersion"] == tomllib.load(fh)["project"]["version"]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["toxiproxy"]["image"]["tag"] == TOXIPROXY_VERSION
    jaeger = values["jaeger"]["image"]
    assert f"{jaeger['repository']}:{jaeger['tag']}" == compose.JAEGER_IMAGE


def test_each_container_gets_the_environment_docker_compose_gives_it_but_the_shared_settings(
        default: list[dict[str, Any]]) -> None:
    shared = set(compose._common_env())  # secrets from the Secret, profile from values, traces optional
    compose_services = compose.render_compose(TOPOLOGY)["services"]
    for name in (*TOPOLOGY.service_names, WORKER):
        expected = {k: v for k, v in compose_services[name]["environment"].items() if k not in shared}
        got = {k: v for k, v in _env(_containers(default)[name]).items() if k not in shared}
        assert got == expected, name


def test_each_memory_limit_leaves_room_above_the_measured_peak(default: list[dict[str, Any]]) -> None:
    results = sorted((REPO_ROOT / "bench" / "results").glob("footprint-*.json"))
    assert results, "no bench/results/footprint-*.json: run `python -m bench footprint`"
    measured = json.loads(results[-1].read_text())["programs"]
    containers = _containers(default)
    for name in (*TOPOLOGY.service_names, WORKER, "toxiproxy"):
        peak = max(measured[name]["idle"]["rss_mib_max"], measured[name]["load"]["rss_mib_max"])
        resources = containers[name]["resources"]
        assert _mib(resources["requests"]["memory"]) >= peak, name
        assert _mib(resources["limits"]["memory"]) >= 1.5 * peak, name


def _mib(quantity: str) -> float:
    units = {"Mi": 1.0, "Gi": 1024.0}
    return float(quantity[:-2]) * units[quantity[-2:]]
