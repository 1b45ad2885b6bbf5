"""Load against the whole native shop: journeys, paid checkouts, faults that fail or degrade a run, workers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from loadtests.api import LoadResult, LoadSpec, start_load
from shoplab import REPO_ROOT
from shoplab.runtime.stack import Stack
from tests.support import JOURNEY_ROUTES

pytestmark = pytest.mark.e2e

def _run(stack: Stack, out_dir: Path, **overrides: object) -> LoadResult:
    # few users, short: the 2 cores are shared; think times scaled down to fit the journeys in
    base: dict[str, object] = {"users": 4, "spawn_rate": 4.0, "duration_s": 15.0, "think_scale": 0.3}
    base.update(overrides)
    spec = LoadSpec(host=stack.service_url("gateway"), **base)  # type: ignore[arg-type]
    return start_load(spec, out_dir=out_dir).wait(timeout_s=150)


def _audit(stack: Stack) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shoplab", "audit", "--run-dir", str(stack.run_dir), "--drain-timeout", "60"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )


def test_a_short_run_walks_every_journey_step_pays_its_checkouts_and_leaves_the_audit_clean(
    stack: Stack, tmp_path: Path
) -> None:
    result = _run(stack, tmp_path)
    assert result.exit_code == 0, result.problem or [c for c in result.checks if not c.passed]
    assert {f"{r['method']} {r['name']}" for r in result.routes} == JOURNEY_ROUTES
    assert set(result.journeys) == {"browse", "signup", "checkout", "cart", "login"}
    assert result.totals["failures"] == 0
    assert all(j["failure"] == 0 for j in result.journeys.values())
    # a checkout journey succeeds only once its order was polled to `paid`
    assert result.journeys["checkout"]["success"] > 0
    audit = _audit(stack)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "every invariant holds" in audit.stdout


def test_with_the_gateway_to_orders_edge_down_the_same_run_fails_its_thresholds_and_exits_non_zero(
    stack: Stack, toxiproxy: httpx.Client, tmp_path: Path
) -> None:
    toxiproxy.post("/proxies/gateway__orders", json={"enabled": False}).raise_for_status()
    proc = subprocess.run(
        [sys.executable, "-m", "shoplab", "load", "--host", stack.service_url("gateway"), "--users", "4",
         "--duration", "15s", "--think-scale", "0.3", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED thresholds" in proc.stdout
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["journeys"]["checkout"]["failure"] > 0
    assert result["journeys"]["browse"]["failure"] == 0  # browsing does not need orders


def test_with_recommendations_down_the_run_passes_and_reports_degraded_journeys(stack: Stack, tmp_path: Path) -> None:
    stack.stop_process("recommendations")
    try:
        result = _run(stack, tmp_path, duration_s=10.0)
    finally:
        stack.start_process("recommendations")
    assert result.exit_code == 0, result.problem or [c for c in result.checks if not c.passed]
    assert result.journeys["browse"]["degraded"] > 0
    assert result.journeys["browse"]["success"] == 0
    assert result.degraded_journeys() >= result.journeys["browse"]["degraded"]


def test_two_workers_against_the_shop_both_drive_load_and_the_master_adds_it_up(stack: Stack, tmp_path: Path) -> None:
    result = _run(stack, tmp_path, workers=2, duration_s=10.0)
    assert result.exit_code == 0, result.problem or [c for c in result.checks if not c.passed]
    assert len(result.worker_requests) == 2
    assert all(n > 0 for n in result.worker_requests.values())
    assert sum(result.worker_requests.values()) == result.totals["requests"]


def test_with_an_app_level_fault_failing_every_order_the_run_fails_its_thresholds(
    stack: Stack, admin: httpx.Client, tmp_path: Path
) -> None:
    faults_url = f"{stack.service_url('orders')}/admin/faults"
    admin.put(faults_url, json={"faults": [{"route": "/orders", "method": "POST", "error_rate": 1.0, "status": 503}]}
              ).raise_for_status()
    try:
        result = _run(stack, tmp_path, duration_s=10.0)
    finally:
        admin.delete(faults_url).raise_for_status()
    assert result.exit_code == 1
    assert result.journeys["checkout"]["failure"] > 0
    assert result.journeys["checkout"]["success"] == 0
    assert [c.name for c in result.checks if not c.passed] == ["request failure ratio", "journey failure ratio"]
