"""promtool checks the Prometheus config we render, every rule file, the rule unit tests and our /metrics."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from flask import Flask

from shop.kit import metrics
from shop.kit.app import create_service_app
from shop.kit.resilience import ResilientClient
from shop.topology import Topology
from shoplab import REPO_ROOT
from shoplab.runtime.observability import RULES_DIR, render_prometheus_config
from shoplab.runtime.tools import ToolMissing, ensure_tool

pytestmark = pytest.mark.observability

RULE_TESTS_DIR = REPO_ROOT / "dashboards" / "prometheus" / "tests"


def _promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        promtool = ensure_tool("promtool")
    except ToolMissing as exc:
        pytest.fail(str(exc))
    return subprocess.run(
        [str(promtool), *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def _assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"promtool failed:\n{result.stdout}\n{result.stderr}"


def test_the_native_prometheus_config_passes_promtool_check_config(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(render_prometheus_config(Topology.from_env()))
    result = _promtool("check", "config", str(config))
    _assert_ok(result)
    assert "rule files found" in result.stdout or "SUCCESS" in result.stdout


def test_every_rule_file_passes_promtool_check_rules() -> None:
    files = sorted(RULES_DIR.glob("*.yml"))
    assert files, f"no rule files in {RULES_DIR}"
    _assert_ok(_promtool("check", "rules", *map(str, files)))


def test_the_rule_unit_tests_pass_promtool_test_rules() -> None:
    files = sorted(RULE_TESTS_DIR.glob("*.yml"))
    assert files, f"no promtool rule tests in {RULE_TESTS_DIR}"
    covered = {Path(line.split("../rules/")[1].strip()).name for f in files for line in f.read_text().splitlines() if "../rules/" in line}
    assert covered == {f.name for f in RULES_DIR.glob("*.yml")}, "every rule file needs a promtool unit test"
    _assert_ok(_promtool("test", "rules", *map(str, files)))


def test_a_kit_apps_metrics_pass_promtool_check_metrics() -> None:
    def setup(app: Flask, _settings: object) -> None:
        app.add_url_rule("/things/<int:thing_id>", "thing", lambda thing_id: {"id": thing_id})

    app = create_service_app("payments", setup=setup, env={"SHOPLAB_ADMIN_TOKEN": "t" * 20})
    client = app.test_client()
    client.get("/things/1")
    client.get("/nowhere")
    metrics.record_charge("succeeded", amount_cents=100)
    metrics.record_order("created")
    metrics.record_notification("order.created")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    with ResilientClient("catalog", "http://catalog.test", caller="payments", transport=transport) as dep:
        dep.get("/products/1")  # the caller-side dependency histogram gets a sample
    body = client.get("/metrics").text
    assert "shoplab_http_request_duration_seconds_bucket" in body
    assert 'shoplab_dependency_duration_seconds_bucket{caller="payments",dependency="catalog"' in body
    _assert_ok(_promtool("check", "metrics", stdin=body))
