"""Safe chaos on the native stack: abort_if guards, fault leases after interrupted runs, manual faults that expire."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from bench.bench_interrupts import count_leftovers, run_interrupts
from chaos.admin import ShopAdmin
from chaos.toxiproxy import ToxiproxyClient
from shoplab import REPO_ROOT
from shoplab.runtime.stack import Stack
from tests.support import poll_until

pytestmark = pytest.mark.e2e


def env_for(stack: Stack, reports: Path) -> dict[str, str]:
    return {**os.environ, "SHOPLAB_RUN_DIR": str(stack.run_dir), "SHOPLAB_PORT_OFFSET": str(stack.topology.port_offset),
            "SHOPLAB_REPORTS_DIR": str(reports), "COLUMNS": "200"}


def shoplab(stack: Stack, reports: Path, *args: str, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shoplab", *args], cwd=REPO_ROOT, env=env_for(stack, reports),
                          capture_output=True, text=True, timeout=timeout_s, check=False)


def leftovers(stack: Stack) -> int:
    urls = {s: stack.service_url(s) for s in stack.topology.service_names}
    return count_leftovers(stack.topology.toxiproxy_url, urls, stack.admin_token).total


@pytest.fixture
def clean_afterwards(stack: Stack) -> object:
    """Leave the shared stack resilient and fault-free, whatever the test did."""
    yield None
    with ShopAdmin(stack.topology, stack.admin_token) as admin:
        admin.set_profile("resilient")
        admin.clear_all_faults()
    with ToxiproxyClient(stack.topology.toxiproxy_url) as tp:
        tp.reset()
    (stack.run_dir / "leases.json").unlink(missing_ok=True)


class EdgeWatch:
    """Poll Toxiproxy from a thread: when was gateway__catalog last seen down, and first seen up again."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen_down = False
        self.up_again_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        with httpx.Client(timeout=2) as http:
            while not self._stop.is_set() and self.up_again_at is None:
                try:
                    enabled = http.get(f"{self.url}/proxies/gateway__catalog").json()["enabled"]
                except (httpx.HTTPError, ValueError, KeyError):
                    enabled = None
                if enabled is False:
                    self.seen_down = True
                elif enabled is True and self.seen_down:
                    self.up_again_at = time.time()
                self._stop.wait(0.05)

    def __enter__(self) -> EdgeWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def test_a_success_ratio_guard_rolls_every_fault_back_within_2_s_and_names_itself(
        stack: Stack, tmp_path: Path, clean_afterwards: object) -> None:
    data = {
        "title": "guarded",
        "profiles": ["naive"],
        "load": {"users": 4, "spawn_rate": 4},
        "settle_s": 1,
        "phases": [
            {"name": "baseline", "duration_s": 3},
            {"name": "fault", "duration_s": 60, "faults": [
                {"kind": "down", "edge": "gateway__catalog"},
                {"kind": "toxic", "edge": "gateway__cart", "type": "latency", "attributes": {"latency_ms": 50}},
            ]},
            {"name": "recovery", "duration_s": 3},
        ],
        "abort_if": [{"probe": "success_ratio", "window_s": 3, "tolerance": {"min": 0.5}}],
        "hypothesis": [{"probe": "success_ratio", "tolerance": {"min": 0.0}}],
    }
    experiment = tmp_path / "guarded.yaml"
    experiment.write_text(yaml.safe_dump(data))
    reports = tmp_path / "reports"
    with EdgeWatch(stack.topology.toxiproxy_url) as watch:
        proc = shoplab(stack, reports, "run", str(experiment))
        poll_until(lambda: watch.up_again_at is not None or not watch.seen_down, timeout_s=5,
                   message="the edge watch to see the edge up again")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    (folder,) = [p for p in reports.iterdir() if p.is_dir()]
    journal = json.loads((folder / "journal.json").read_text())
    (profile,) = journal["profiles"]
    aborted = profile["aborted"]
    assert aborted["guard"] == "success_ratio" and aborted["value"] < 0.5 and aborted["phase"] == "fault"
    assert any(e["action"] == "guard_fired" and e["fault"] == "success_ratio" for e in profile["fault_events"])
    assert not profile["held"] and journal["passed"] is False
    # the fault phase was 60 s long: the guard ended it early, and the edge came back within 2 s of the breach
    fault = next(w for w in profile["phases"] if w["name"] == "fault")
    assert fault["end_s"] - fault["start_s"] < 30
    assert watch.seen_down and watch.up_again_at is not None
    assert watch.up_again_at - aborted["at"] <= 2.0, (watch.up_again_at, aborted["at"])
    assert leftovers(stack) == 0


def test_interrupted_shipped_runs_leave_nothing_after_the_lease_ttl(
        stack: Stack, tmp_path: Path, clean_afterwards: object) -> None:
    """The CI form: one SIGINT, one SIGTERM, one SIGKILL (``python -m bench interrupts`` runs 20)."""
    urls = {s: stack.service_url(s) for s in stack.topology.service_names}
    results = run_interrupts(env_for(stack, tmp_path), tmp_path / "reports", ["SIGINT", "SIGTERM", "SIGKILL"],
                             seed=3, toxiproxy_url=stack.topology.toxiproxy_url, service_urls=urls,
                             admin_token=stack.admin_token, ttl_s=15.0)
    assert [r.left_after_ttl for r in results] == [dict.fromkeys(
        ("toxics", "disabled_proxies", "app_faults", "changed_profiles"), 0)] * 3, results
    killed = next(r for r in results if r.signal == "SIGKILL")
    assert killed.exit_code == -9
    assert killed.left_right_after > 0  # the kill did leave faults behind: the reaper removed them
    assert killed.seconds_until_clean is not None and killed.seconds_until_clean >= 5  # nothing else did
    for r in results:
        if r.signal != "SIGKILL":
            assert r.left_right_after == 0 and r.exit_code in (130, 143), r


def test_status_shows_a_manual_fault_with_its_time_left_until_it_expires(
        stack: Stack, tmp_path: Path, clean_afterwards: object) -> None:
    # the fault without a TTL first: each command is a Python start-up, and on a busy machine (CI saw it under
    # load 20) two of them took so long that a 20 s toxic had expired before `status` could show it
    forever = shoplab(stack, tmp_path, "fault", "down", "cart__catalog")
    assert forever.returncode == 0, forever.stderr
    added = shoplab(stack, tmp_path, "fault", "add", "orders__payments", "latency", "latency_ms=200", "--ttl", "30s")
    assert added.returncode == 0, added.stderr
    status = shoplab(stack, tmp_path, "status")
    line = next((x for x in status.stdout.splitlines() if "orders__payments" in x), None)
    assert line is not None, status.stdout
    assert "manual" in line and " s " in line.split("manual")[1], status.stdout
    left = int(line.split("│")[-2].strip().removesuffix(" s"))
    assert 0 < left <= 30
    assert "never expire" in status.stderr and "cart__catalog" in status.stderr
    assert "profiles: gateway=resilient" in " ".join(status.stdout.split())

    with ToxiproxyClient(stack.topology.toxiproxy_url) as tp:
        poll_until(lambda: not tp.list_toxics("orders__payments"), timeout_s=30 + 4,
                   message="the reaper to remove the expired toxic")
        assert not tp.get_proxy("cart__catalog").enabled  # the manual fault without --ttl stays
    later = shoplab(stack, tmp_path, "status")
    assert "orders__payments" not in later.stdout and "cart__catalog" in later.stdout
    cleared = shoplab(stack, tmp_path, "fault", "clear")
    assert cleared.returncode == 0, cleared.stderr
    assert leftovers(stack) == 0
