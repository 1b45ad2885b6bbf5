"""Chaos experiments on the native stack, through `shoplab run` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos.admin import ShopAdmin
from chaos.browser import render_page
from chaos.experiment import EXPERIMENTS_DIR
from chaos.toxiproxy import ToxiproxyClient
from shoplab import REPO_ROOT
from shoplab.runtime.stack import Stack
from tests.support import poll_until

pytestmark = pytest.mark.e2e


def shoplab_env(stack: Stack, reports: Path) -> dict[str, str]:
    return {**os.environ, "SHOPLAB_RUN_DIR": str(stack.run_dir),
            "SHOPLAB_PORT_OFFSET": str(stack.topology.port_offset), "SHOPLAB_REPORTS_DIR": str(reports),
            "COLUMNS": "140"}


def run_shoplab(stack: Stack, reports: Path, *args: str, timeout_s: float = 420) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shoplab", *args], cwd=REPO_ROOT, env=shoplab_env(stack, reports),
                          capture_output=True, text=True, timeout=timeout_s, check=False)


def the_report(reports: Path) -> Path:
    (folder,) = [p for p in reports.iterdir() if p.is_dir()]
    return folder


def write_experiment(tmp_path: Path, shipped: str, *, durations: list[float], **changes: Any) -> Path:
    """Copy a shipped experiment with shorter phases (the shipped faults and hypothesis stay)."""
    data = yaml.safe_load((EXPERIMENTS_DIR / f"{shipped}.yaml").read_text())
    for phase, duration in zip(data["phases"], durations, strict=True):
        phase["duration_s"] = duration
    data.update(settle_s=1, **changes)
    path = tmp_path / f"{shipped}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def resilient_afterwards(stack: Stack) -> Iterator[None]:
    """Leave the shared stack as the next test expects it: profile resilient, no fault."""
    yield
    with ShopAdmin(stack.topology, stack.admin_token) as admin:
        admin.set_profile("resilient")
        admin.clear_all_faults()
    with ToxiproxyClient(stack.topology.toxiproxy_url) as tp:
        tp.reset()


@pytest.fixture(scope="module")
def reset_peer_run(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the catalog reset_peer experiment once (naive, then resilient) for the tests below."""
    tmp = tmp_path_factory.mktemp("reset-peer")
    # 16 s of baseline at 5 journeys/s: 80 journeys, enough for a clean baseline to be met at >= 0.95
    experiment = write_experiment(tmp, "catalog-reset-peer", durations=[16, 24, 8])
    reports = tmp / "reports"
    proc = run_shoplab(stack, reports, "run", str(experiment))
    with ShopAdmin(stack.topology, stack.admin_token) as admin:
        admin.set_profile("resilient")
    return proc, the_report(reports)


def test_under_catalog_resets_resilient_holds_its_hypothesis_and_naive_measurably_does_not(
        reset_peer_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, report = reset_peer_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    journal = json.loads((report / "journal.json").read_text())
    naive, resilient = journal["profiles"]
    assert (naive["profile"], resilient["profile"]) == ("naive", "resilient")
    assert resilient["held"], resilient["probes"]
    assert not naive["held"]

    def fault_success(profile: dict[str, Any]) -> float:
        return next(p["value"] for p in profile["probes"] if p["label"] == "success_ratio@fault")

    assert fault_success(naive) < 0.9 <= fault_success(resilient)
    assert all(e["action"] != "rollback_failed" for p in journal["profiles"] for e in p["fault_events"])
    summary = (report / "summary.md").read_text()
    assert f"{fault_success(naive) * 100:.1f}%" in summary and f"{fault_success(resilient) * 100:.1f}%" in summary
    assert "hypothesis" in proc.stdout and "report:" in proc.stdout


def test_the_real_report_renders_in_headless_chromium_with_its_charts_and_no_console_error(
        reset_peer_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, report = reset_peer_run
    result = render_page(report / "index.html")
    assert result.rendered
    assert result.charts == 2 + 3 * 2
    assert result.dom.count('class="fault-window"') >= 2
    assert 'class="series"' in result.dom  # lines were drawn, not just axes
    assert result.console == ()
    assert (report / "samples.csv").read_text().count("\n") > 20
    assert (report / "junit.xml").read_text().count("<testcase") >= 10


def test_killing_the_orders_worker_mid_run_ends_with_a_clean_audit(stack: Stack, tmp_path: Path,
                                                                    resilient_afterwards: None) -> None:
    experiment = write_experiment(tmp_path, "orders-worker-killed", durations=[16, 10, 14])
    reports = tmp_path / "reports"
    proc = run_shoplab(stack, reports, "run", str(experiment))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    journal = json.loads((the_report(reports) / "journal.json").read_text())
    (profile,) = journal["profiles"]
    actions = [(e["action"], e["fault"]) for e in profile["fault_events"] if e["action"] != "sweep"]
    assert actions == [("applied", "kill process orders-worker"), ("rolled_back", "kill process orders-worker")]
    assert profile["audit"]["clean"] is True
    assert [s.state for s in stack.status() if s.name == "orders-worker"] == ["RUNNING"]
    audit = run_shoplab(stack, reports, "audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_sigterm_to_the_runner_mid_fault_phase_leaves_no_toxic_and_no_app_fault(stack: Stack, tmp_path: Path,
                                                                                 resilient_afterwards: None) -> None:
    data = {
        "title": "interrupted",
        "profiles": ["resilient", "naive"],
        "load": {"users": 2, "spawn_rate": 2},
        "settle_s": 1,
        "phases": [
            {"name": "baseline", "duration_s": 2},
            {"name": "fault", "duration_s": 120, "faults": [
                {"kind": "toxic", "edge": "gateway__catalog", "type": "latency", "attributes": {"latency_ms": 50}},
                {"kind": "down", "edge": "gateway__recommendations"},
                {"kind": "app", "service": "payments", "route": "/charges", "method": "POST", "error_rate": 0.2},
            ]},
        ],
        "hypothesis": [{"probe": "audit_clean", "tolerance": True}],
    }
    experiment = tmp_path / "interrupted.yaml"
    experiment.write_text(yaml.safe_dump(data))
    reports = tmp_path / "reports"
    proc = subprocess.Popen([sys.executable, "-m", "shoplab", "run", str(experiment)], cwd=REPO_ROOT,
                            env=shoplab_env(stack, reports), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    topology = stack.topology
    try:
        with ToxiproxyClient(topology.toxiproxy_url) as tp, ShopAdmin(topology, stack.admin_token) as admin:
            def every_fault_is_in() -> bool:
                proxies = tp.list_proxies()
                return (bool(proxies["gateway__catalog"].toxics) and not proxies["gateway__recommendations"].enabled
                        and bool(admin.get_faults("payments")))

            poll_until(every_fault_is_in, timeout_s=120, message="the fault phase to start")
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=120)
            assert proc.returncode == 143, output[-3000:]
            proxies = tp.list_proxies()
            assert all(not p.toxics for p in proxies.values()), {n: p.toxics for n, p in proxies.items() if p.toxics}
            assert all(p.enabled for p in proxies.values())
            assert {s: admin.get_faults(s) for s in topology.service_names} == {s: [] for s in topology.service_names}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    journal = json.loads((the_report(reports) / "journal.json").read_text())
    assert journal["interrupted"] == "SIGTERM" and len(journal["profiles"]) == 1
    rolled = [e["fault"] for e in journal["profiles"][0]["fault_events"] if e["action"] == "rolled_back"]
    assert len(rolled) == 3
    # the load stopped with the runner: no Locust process writing into this report is left
    assert locust_processes_writing_to(reports) == []


def locust_processes_writing_to(folder: Path) -> list[int]:
    """Return the pids whose command line names ``folder`` (Locust gets its output paths there)."""
    pids = []
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        try:
            cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "locust" in cmdline and str(folder) in cmdline:
            pids.append(int(proc_dir.name))
    return pids


def test_faults_injected_by_hand_show_in_the_list_and_reset_removes_them_all(stack: Stack, tmp_path: Path,
                                                                            resilient_afterwards: None) -> None:
    topology = stack.topology
    added = run_shoplab(stack, tmp_path, "fault", "add", "orders__payments", "latency", "latency_ms=300",
                        "jitter_ms=20", "--toxicity", "0.5")
    assert added.returncode == 0, added.stdout + added.stderr
    assert run_shoplab(stack, tmp_path, "fault", "down", "gateway__recommendations").returncode == 0
    app = run_shoplab(stack, tmp_path, "fault", "app", "payments", "--route", "/charges", "--method", "POST",
                      "--error-rate", "0.5", "--status", "503")
    assert app.returncode == 0, app.stdout + app.stderr
    with ToxiproxyClient(topology.toxiproxy_url) as tp, ShopAdmin(topology, stack.admin_token) as admin:
        (toxic,) = tp.list_toxics("orders__payments")
        assert (toxic.type, toxic.toxicity, toxic.attributes) == ("latency", 0.5, {"latency": 300, "jitter": 20})
        assert tp.get_proxy("gateway__recommendations").enabled is False
        assert [(f["route"], f["error_rate"], f["status"]) for f in admin.get_faults("payments")] == [
            ("/charges", 0.5, 503)]
        listing = run_shoplab(stack, tmp_path, "fault", "list")
        assert listing.returncode == 0 and "latency_downstream" in listing.stdout and "DOWN" in listing.stdout

        reset = run_shoplab(stack, tmp_path, "fault", "reset")
        assert reset.returncode == 0, reset.stdout + reset.stderr
        assert all(p.enabled and not p.toxics for p in tp.list_proxies().values())
        assert admin.get_faults("payments") == []


def test_a_bad_fault_by_hand_is_refused_naming_what_was_expected(stack: Stack, tmp_path: Path) -> None:
    wrong_edge = run_shoplab(stack, tmp_path, "fault", "add", "gateway__payments", "latency", "latency_ms=1")
    assert wrong_edge.returncode == 2 and "unknown edge 'gateway__payments'" in wrong_edge.stderr
    wrong_attr = run_shoplab(stack, tmp_path, "fault", "add", "gateway__catalog", "latency", "delay=1")
    assert wrong_attr.returncode == 2 and "key one of latency_ms, jitter_ms" in wrong_attr.stderr
    missing = run_shoplab(stack, tmp_path, "fault", "add", "gateway__catalog", "bandwidth")
    assert missing.returncode == 2 and "bandwidth needs rate_kbps=..." in missing.stderr
