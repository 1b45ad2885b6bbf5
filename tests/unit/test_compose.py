"""Check docker-compose.yml, its configs and the Dockerfile by parsing, against the topology."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from shop.topology import (
    AMQP_MANAGEMENT_PORT,
    AMQP_PORT,
    DEFAULT,
    GRAFANA_PORT,
    JAEGER_OTLP_HTTP_PORT,
    JAEGER_UI_PORT,
    LOCUST_WEB_PORT,
    PROMETHEUS_PORT,
    TOXIPROXY_API_PORT,
    WORKER_METRICS_PORT,
)
from shoplab import REPO_ROOT
from shoplab.runtime import compose
from shoplab.runtime.tools import ensure_tool

pytestmark = pytest.mark.unit

TOPOLOGY = DEFAULT
DASHBOARDS = REPO_ROOT / "dashboards"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """Return the committed docker-compose.yml, parsed."""
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / compose.COMPOSE_PATH).read_text())
    return data


@pytest.fixture(scope="module")
def services(spec: dict[str, Any]) -> dict[str, Any]:
    """Return the compose services."""
    result: dict[str, Any] = spec["services"]
    return result


@pytest.fixture(scope="module")
def proxies() -> dict[str, dict[str, Any]]:
    """Return the committed Toxiproxy config by proxy name."""
    data = json.loads((REPO_ROOT / compose.TOXIPROXY_CONFIG_PATH).read_text())
    return {p["name"]: p for p in data}


def _published(service: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """Return ``host port → (host ip, container port)`` for a service's ``ports``."""
    result = {}
    for entry in service.get("ports", []):
        ip, host_port, container_port = str(entry).rsplit(":", 2)
        result[int(host_port)] = (ip, int(container_port))
    return result


def _bind_mounts(services: dict[str, Any]) -> list[tuple[str, PurePosixPath, str]]:
    """Return ``(service, repo-relative source, container target)`` for every bind mount."""
    mounts = []
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if source.startswith("./") or source.startswith("/"):
                mounts.append((name, PurePosixPath(source.removeprefix("./")), target))
    return mounts


def _container_path(services: dict[str, Any], service: str, repo_path: Path) -> str | None:
    """Return where a repo file appears inside ``service``, or None when it is not mounted there."""
    rel = PurePosixPath(repo_path.relative_to(REPO_ROOT).as_posix())
    for name, source, target in _bind_mounts(services):
        if name != service:
            continue
        if rel == source:
            return target
        if source in rel.parents:
            return str(PurePosixPath(target) / rel.relative_to(source))
    return None


def _yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())


def _rule_files() -> list[Path]:
    """Return every Prometheus rule file under dashboards/ (a YAML document with ``groups``)."""
    found = []
    for path in _yaml_files(DASHBOARDS):
        doc = yaml.safe_load(path.read_text())
        if isinstance(doc, dict) and "groups" in doc and "tests" not in doc:
            found.append(path)
    return found


def _dashboard_files() -> list[Path]:
    """Return every Grafana dashboard under dashboards/ (a JSON document with ``panels``)."""
    found = []
    for path in sorted(DASHBOARDS.rglob("*.json")):
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and ("panels" in doc or "dashboard" in doc):
            found.append(path)
    return found


def _provisioning_files(kind: str) -> list[tuple[Path, dict[str, Any]]]:
    """Return every Grafana provisioning file under dashboards/ declaring ``kind`` (datasources/providers)."""
    found = []
    for path in _yaml_files(DASHBOARDS):
        doc = yaml.safe_load(path.read_text())
        if isinstance(doc, dict) and kind in doc:
            found.append((path, doc))
    return found


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """Return the Dockerfile as ``(INSTRUCTION, arguments)`` with continuations joined."""
    text = (REPO_ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            result.append((instruction.upper(), " ".join(args.split())))
    return result


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (ins, _) in enumerate(instructions) if ins == "FROM")
    return instructions[last_from:]


def _pyproject() -> dict[str, Any]:
    with (REPO_ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


# -- drift ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rendered", compose.render_files(), ids=lambda r: str(r.path))
def test_committed_derived_file_equals_a_fresh_render_of_the_topology(rendered: compose.Rendered) -> None:
    path = REPO_ROOT / rendered.path
    assert path.is_file(), f"{rendered.path} is missing: run `python -m shoplab.runtime.compose` and commit it"
    assert path.read_text() == rendered.text, (
        f"{rendered.path} drifted from shop/topology.py: run `python -m shoplab.runtime.compose` and commit it"
    )


def test_check_mode_names_the_drifted_file_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert compose.main(["--root", str(tmp_path)]) == 0
    assert compose.main(["--check", "--root", str(tmp_path)]) == 0
    drifted = tmp_path / compose.TOXIPROXY_CONFIG_PATH
    drifted.write_text(drifted.read_text().replace('"catalog:8082"', '"catalog:9999"'))
    capsys.readouterr()
    assert compose.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(compose.TOXIPROXY_CONFIG_PATH) in err
    assert str(compose.COMPOSE_PATH) not in err


# -- the shop and the worker ------------------------------------------------------------------


def test_every_topology_service_runs_from_the_shop_image_on_its_native_port(services: dict[str, Any]) -> None:
    image = compose.shop_image()
    for name in TOPOLOGY.service_names:
        assert name in services, f"service {name} is missing from docker-compose.yml"
        svc = services[name]
        port = TOPOLOGY.service(name).port
        env = svc["environment"]
        assert svc["image"] == image and svc["build"]["dockerfile"] == "Dockerfile"
        assert env["SERVICE"] == name and env["SHOPLAB_SERVICE"] == name and env["OTEL_SERVICE_NAME"] == name
        assert env["PORT"] == str(port) and env[f"{name.upper()}_PORT"] == str(port)
        assert _published(svc) == {port: ("127.0.0.1", port)}
        assert "command" not in svc, f"{name} must run the image's gunicorn command"


def test_every_service_keeps_its_data_in_its_own_named_volume(spec: dict[str, Any], services: dict[str, Any]) -> None:
    for name in TOPOLOGY.service_names:
        svc = services[name]
        data_dir = svc["environment"]["SHOPLAB_DATA_DIR"]
        assert svc["volumes"] == [f"{name}-data:{data_dir}"]
        assert f"{name}-data" in spec["volumes"]


def test_the_orders_worker_runs_with_the_orders_env_and_shares_its_data(services: dict[str, Any]) -> None:
    worker = services[compose.WORKER]
    orders = services["orders"]
    assert worker["image"] == orders["image"]
    assert worker["command"] == ["python", "-m", "shop.orders.worker"]
    env = worker["environment"]
    for callee in TOPOLOGY.service("orders").calls:
        assert env[f"{callee.upper()}_URL"] == orders["environment"][f"{callee.upper()}_URL"]
    assert env["OTEL_SERVICE_NAME"] == compose.WORKER
    assert env["ORDERS_WORKER_METRICS_PORT"] == str(WORKER_METRICS_PORT)
    assert env["ORDERS_WORKER_METRICS_HOST"] == "0.0.0.0", "Prometheus scrapes the worker from another container"
    assert worker["volumes"] == orders["volumes"], "the worker reads the orders database"
    assert worker["depends_on"]["orders"] == {"condition": "service_healthy"}


def test_secrets_come_from_the_environment_with_a_documented_local_default(services: dict[str, Any]) -> None:
    docs = (REPO_ROOT / "docs" / "docker.md").read_text()
    for var in ("SHOPLAB_ADMIN_TOKEN", "SHOPLAB_JWT_SECRET"):
        values = {services[name]["environment"][var] for name in (*TOPOLOGY.service_names, compose.WORKER)}
        assert len(values) == 1, f"{var} differs between services: {values}"
        value = values.pop()
        match = re.fullmatch(r"\$\{" + var + r":-([^}]+)\}", value)
        assert match, f"{var} must be ${{{var}:-default}}, got {value!r}"
        assert var in docs and match.group(1) in docs, f"docs/docker.md must document {var} and its default"


# -- every edge through toxiproxy ---------------------------------------------------------------


def test_every_edge_is_a_toxiproxy_proxy_on_its_port_with_the_callee_as_upstream(
    proxies: dict[str, dict[str, Any]],
) -> None:
    assert set(proxies) == {e.proxy_name for e in TOPOLOGY.proxied_edges}
    for edge in TOPOLOGY.broker_edges:
        assert proxies[edge.proxy_name]["upstream"] == f"rabbitmq:{AMQP_PORT}"
        assert proxies[edge.proxy_name]["listen"] == f"0.0.0.0:{edge.listen_port}"
    for edge in TOPOLOGY.edges:
        proxy = proxies[edge.proxy_name]
        assert proxy["listen"] == f"0.0.0.0:{edge.listen_port}"
        assert proxy["upstream"] == f"{edge.callee}:{TOPOLOGY.service(edge.callee).port}"
        assert proxy["enabled"] is True


def test_every_caller_reaches_each_callee_through_its_own_proxy_never_directly(
    services: dict[str, Any], proxies: dict[str, dict[str, Any]]
) -> None:
    by_listen_port = {int(p["listen"].rsplit(":", 1)[1]): p for p in proxies.values()}
    published = _published(services["toxiproxy"])
    for name in (*TOPOLOGY.service_names, compose.WORKER):
        caller = "orders" if name == compose.WORKER else name
        urls = {k: v for k, v in services[name]["environment"].items()
                if k.endswith("_URL") and not k.startswith("RABBITMQ_")}
        expected = {f"{callee.upper()}_URL" for callee in TOPOLOGY.service(caller).calls}
        assert set(urls) == expected, f"{name}: peer URLs {sorted(urls)} != {sorted(expected)}"
        for var, url in urls.items():
            callee = var.removesuffix("_URL").lower()
            parts = urlsplit(url)
            assert parts.hostname == "toxiproxy", f"{name}.{var} bypasses toxiproxy: {url}"
            assert parts.port is not None
            proxy = by_listen_port[parts.port]
            assert proxy["name"] == f"{caller}__{callee}", f"{name}.{var} goes through {proxy['name']}"
            assert proxy["upstream"] == f"{callee}:{TOPOLOGY.service(callee).port}"
            assert published[parts.port] == ("127.0.0.1", parts.port), f"proxy port {parts.port} not published"


def test_both_sides_of_the_broker_reach_it_through_their_own_proxy(
    services: dict[str, Any], proxies: dict[str, dict[str, Any]]
) -> None:
    by_listen_port = {int(p["listen"].rsplit(":", 1)[1]): p for p in proxies.values()}
    for name, proxy in (("orders", "orders__rabbitmq"), (compose.WORKER, "orders__rabbitmq"),
                        (compose.CONSUMER, "rabbitmq__notifications")):
        url = urlsplit(services[name]["environment"]["RABBITMQ_URL"])
        assert url.hostname == "toxiproxy" and by_listen_port[url.port or 0]["name"] == proxy, name
    assert services["orders"]["environment"]["SHOPLAB_EVENTS"] == "${SHOPLAB_EVENTS:-http}"
    assert services[compose.CONSUMER]["profiles"] == services["rabbitmq"]["profiles"] == ["broker"]


def test_toxiproxy_starts_from_the_generated_config_with_the_native_flags(services: dict[str, Any]) -> None:
    toxi = services["toxiproxy"]
    config_arg = next(arg for arg in toxi["command"] if arg.startswith("-config="))
    target = config_arg.removeprefix("-config=")
    config_file = REPO_ROOT / compose.TOXIPROXY_CONFIG_PATH
    assert _container_path(services, "toxiproxy", config_file) == target
    assert "-host=0.0.0.0" in toxi["command"] and f"-port={TOXIPROXY_API_PORT}" in toxi["command"]
    assert {"-proxy-metrics", "-runtime-metrics"} <= set(toxi["command"]), "metrics as in the native stack"


# -- ports, images, health -------------------------------------------------------------------------


def test_published_ports_are_the_native_defaults_on_loopback(services: dict[str, Any]) -> None:
    published: dict[int, str] = {}
    for name, svc in services.items():
        for host_port, (ip, container_port) in _published(svc).items():
            assert host_port not in published, f"port {host_port} published by {published[host_port]} and {name}"
            assert ip == "127.0.0.1" and container_port == host_port, f"{name}: {ip}:{host_port}:{container_port}"
            published[host_port] = name
    expected = {TOPOLOGY.service(n).port: n for n in TOPOLOGY.service_names}
    expected.update({e.listen_port: "toxiproxy" for e in TOPOLOGY.proxied_edges})
    expected.update(
        {
            AMQP_PORT: "rabbitmq",
            AMQP_MANAGEMENT_PORT: "rabbitmq",
            TOXIPROXY_API_PORT: "toxiproxy",
            PROMETHEUS_PORT: "prometheus",
            JAEGER_UI_PORT: "jaeger",
            JAEGER_OTLP_HTTP_PORT: "jaeger",
            LOCUST_WEB_PORT: compose.LOCUST_MASTER,
            GRAFANA_PORT: "grafana",
        }
    )
    assert published == expected


def test_every_image_is_pinned_to_a_version(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        image = svc["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: image {image!r} is not pinned to a version"
    assert services["toxiproxy"]["image"] == "ghcr.io/shopify/toxiproxy:2.12.0"
    assert re.fullmatch(r"prom/prometheus:v\d+\.\d+\.\d+", services["prometheus"]["image"])
    assert re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", services["jaeger"]["image"]), "Jaeger v2"


def test_every_dependency_waits_for_a_healthy_peer_that_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, svc in services.items():
        depends_on = svc.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must use conditions"
        for peer, rule in depends_on.items():
            assert rule == {"condition": "service_healthy"}, f"{name} → {peer}: {rule}"
            assert "test" in services[peer].get("healthcheck", {}), f"{peer} has no healthcheck"
    for name in (*TOPOLOGY.service_names, compose.WORKER, "toxiproxy"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    for name in TOPOLOGY.service_names:
        svc = services[name]
        port = TOPOLOGY.service(name).port
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(svc["healthcheck"]["test"])
        assert {"toxiproxy", *TOPOLOGY.service(name).calls} <= set(svc["depends_on"]), f"{name} starts too early"


def test_services_export_traces_to_jaeger_over_otlp_http(services: dict[str, Any]) -> None:
    for name in (*TOPOLOGY.service_names, compose.WORKER):
        assert services[name]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://jaeger:{JAEGER_OTLP_HTTP_PORT}"
    assert JAEGER_OTLP_HTTP_PORT in _published(services["jaeger"])


def test_locust_master_serves_its_web_ui_and_workers_join_it(services: dict[str, Any]) -> None:
    master, worker = services[compose.LOCUST_MASTER], services[compose.LOCUST_WORKER]
    assert "--master" in master["command"]
    assert master["command"][master["command"].index("--host") + 1] == "http://gateway:8080"
    assert worker["command"][worker["command"].index("--master-host") + 1] == compose.LOCUST_MASTER
    assert "ports" not in worker, "workers publish nothing, so they scale with --scale"
    assert master["profiles"] == worker["profiles"] == [compose.LOAD_PROFILE], "load is opt-in"
    for svc, name in ((master, compose.LOCUST_MASTER), (worker, compose.LOCUST_WORKER)):
        locustfile = svc["command"][svc["command"].index("-f") + 1]
        assert _container_path(services, name, REPO_ROOT / compose.LOCUSTFILE) == locustfile


# -- mounts from the repo ---------------------------------------------------------------------------


def test_every_path_mounted_from_the_repo_exists(services: dict[str, Any]) -> None:
    missing = [f"{name}: ./{source}" for name, source, _ in _bind_mounts(services) if not (REPO_ROOT / source).exists()]
    missing += [
        f"{name}: locustfile {compose.LOCUSTFILE}"
        for name in (compose.LOCUST_MASTER, compose.LOCUST_WORKER)
        if not (REPO_ROOT / compose.LOCUSTFILE).is_file()
    ]
    for name, svc in services.items():
        if "build" in svc and not (REPO_ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file():
            missing.append(f"{name}: build {svc['build']}")
    assert not missing, f"mounted paths missing from the repo: {missing}"


def test_every_rule_file_under_dashboards_is_loaded_by_the_container_prometheus(services: dict[str, Any]) -> None:
    rules = _rule_files()
    assert rules, "no Prometheus rule file under dashboards/ (expected dashboards/prometheus/rules/*.yml)"
    config = yaml.safe_load((REPO_ROOT / compose.PROMETHEUS_CONFIG_PATH).read_text())
    for path in rules:
        target = _container_path(services, "prometheus", path)
        assert target, f"{path.relative_to(REPO_ROOT)} is not mounted into prometheus"
        assert any(fnmatch.fnmatch(target, glob) for glob in config["rule_files"]), f"{target} not in rule_files"


def test_every_dashboard_and_provisioning_file_under_dashboards_is_mounted_into_grafana(
    services: dict[str, Any],
) -> None:
    dashboards = _dashboard_files()
    datasources = _provisioning_files("datasources")
    providers = _provisioning_files("providers")
    assert dashboards, "no Grafana dashboard JSON under dashboards/"
    assert datasources and providers, "no Grafana provisioning (datasources + dashboard providers) under dashboards/"
    for path in dashboards + [p for p, _ in datasources + providers]:
        assert _container_path(services, "grafana", path), f"{path.relative_to(REPO_ROOT)} is not mounted into grafana"
    for path, doc in providers:
        assert str(_container_path(services, "grafana", path)).startswith("/etc/grafana/provisioning/dashboards")
        for provider in doc["providers"]:
            folder = provider.get("options", {}).get("path", "")
            mounted = [_container_path(services, "grafana", d) for d in dashboards]
            assert any(m and m.startswith(folder.rstrip("/") + "/") for m in mounted), (
                f"provider {provider.get('name')} reads {folder}, where no dashboard is mounted"
            )
    for path, doc in datasources:
        assert str(_container_path(services, "grafana", path)).startswith("/etc/grafana/provisioning/datasources")
        for source in doc["datasources"]:
            url = urlsplit(source.get("url", ""))
            assert url.hostname in services, f"datasource {source.get('name')} points at {url.geturl()}, no compose service"


# -- prometheus ----------------------------------------------------------------------------------------


def test_prometheus_scrapes_every_process_by_compose_name_with_the_native_job_names() -> None:
    from shoplab.runtime import observability

    config = yaml.safe_load((REPO_ROOT / compose.PROMETHEUS_CONFIG_PATH).read_text())
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert set(jobs) == set(observability.scrape_targets(TOPOLOGY)), "container jobs differ from the native ones"
    for name in TOPOLOGY.service_names:
        assert jobs[name] == [f"{name}:{TOPOLOGY.service(name).port}"]
    assert jobs[compose.WORKER] == [f"{compose.WORKER}:{WORKER_METRICS_PORT}"]
    assert jobs["toxiproxy"] == [f"toxiproxy:{TOXIPROXY_API_PORT}"]


def test_promtool_accepts_the_container_prometheus_config() -> None:
    promtool = ensure_tool("promtool")
    result = subprocess.run(
        [str(promtool), "check", "config", "--syntax-only", str(REPO_ROOT / compose.PROMETHEUS_CONFIG_PATH)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- validation ----------------------------------------------------------------------------------------


def test_docker_compose_validates_the_compose_file() -> None:
    docker_compose = ensure_tool("docker-compose")
    result = subprocess.run(
        [str(docker_compose), "--project-directory", str(REPO_ROOT), "-f", str(REPO_ROOT / compose.COMPOSE_PATH),
         "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"docker-compose config -q failed:\n{result.stdout}{result.stderr}"


# -- the Dockerfile --------------------------------------------------------------------------------------


def test_the_dockerfile_installs_exactly_the_dependencies_of_pyproject() -> None:
    instructions = _dockerfile_instructions()
    commands = [cmd.strip() for ins, args in instructions if ins == "RUN" for cmd in re.split(r"&&|;", args)]
    pip_runs = [cmd for cmd in commands if re.search(r"\bpip\b", cmd)]
    assert any(re.search(r"\bpip (wheel|install)\b.*\s\.$", run) for run in pip_runs), (
        f"no `pip wheel .` / `pip install .` (pyproject's own list) in {pip_runs}"
    )
    assert any(ins == "COPY" and "pyproject.toml" in args for ins, args in instructions)
    project = _pyproject()["project"]
    names = {_requirement_name(r) for r in project["dependencies"]}
    names |= {_requirement_name(r) for extra in project.get("optional-dependencies", {}).values() for r in extra}
    for run in pip_runs:
        assert " -r " not in f" {run} " and "requirements" not in run, f"a second dependency list: {run}"
        words = {w.lower().replace("_", "-") for w in re.split(r"[\s=<>]+", run)}
        assert not (words & names), f"the Dockerfile names dependencies itself: {sorted(words & names)}"
    final = _final_stage(instructions)
    installs = [args for ins, args in final if ins == "RUN" and "pip install" in args]
    assert installs and all("--no-index" in run and project["name"] in run.split() for run in installs), (
        "the runtime stage must install the project only from the wheels built from pyproject.toml"
    )


def test_the_dockerfile_is_multi_stage_slim_and_runs_as_a_non_root_user() -> None:
    instructions = _dockerfile_instructions()
    froms = [args for ins, args in instructions if ins == "FROM"]
    assert len(froms) >= 2 and all(" AS " in f.upper() for f in froms), froms
    base = next(args for ins, args in instructions if ins == "ARG" and args.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+", base), base
    users = [args for ins, args in _final_stage(instructions) if ins == "USER"]
    assert users and users[-1] not in {"root", "0"}, f"runtime user: {users}"


def test_the_dockerfile_checks_readyz_and_runs_the_service_named_by_its_argument_under_gunicorn() -> None:
    final = _final_stage(_dockerfile_instructions())
    healthcheck = " ".join(args for ins, args in final if ins == "HEALTHCHECK")
    assert "/readyz" in healthcheck and "PORT" in healthcheck
    assert any(ins == "ARG" and args.startswith("SERVICE") for ins, args in final)
    assert any(ins == "ENV" and "SERVICE=${SERVICE}" in args for ins, args in final)
    cmd = next(args for ins, args in reversed(final) if ins == "CMD")
    for part in ("gunicorn", "-k gthread", "--threads 8", "-w 1", "-b 0.0.0.0:${PORT}", 'shop.${SERVICE}:create_app()'):
        assert part in cmd, f"{part!r} missing from CMD {cmd}"
