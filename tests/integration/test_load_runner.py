"""The load runner's own machinery with real Locust processes, against a small fake gateway.

The fake stands in for the shop so these runs are quick and can switch a fault on
and off; ``tests/e2e/test_load_e2e.py`` runs the same journeys against the real stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loadtests.api import LoadSpec, free_port, start_load
from loadtests.raw_samples import UNSERVED, merge_lines
from shoplab import REPO_ROOT
from tests.support import JOURNEY_ROUTES, poll_until

pytestmark = pytest.mark.integration

@pytest.fixture(scope="module")
def fake_gateway() -> Iterator[str]:
    """Serve the fake gateway on a free port for this module."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.fake_gateway"],
        env={**os.environ, "FAKE_PORT": str(port)},
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        poll_until(lambda: httpx.get(f"{url}/healthz").status_code == 200, timeout_s=20, message="fake gateway up")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def knobs(fake_gateway: str) -> Iterator[httpx.Client]:
    """Give a client on the fake's knobs; every knob is reset after the test."""
    with httpx.Client(base_url=fake_gateway) as client:
        try:
            yield client
        finally:
            client.put("/_fake/knobs", json={"degrade_recs": False, "fail_checkout": False, "latency_ms": 0})


def _spec(host: str, **overrides: object) -> LoadSpec:
    base: dict[str, object] = {"users": 4, "spawn_rate": 4.0, "duration_s": 6.0, "think_scale": 0.1}
    base.update(overrides)
    return LoadSpec(host=host, **base)  # type: ignore[arg-type]


def test_a_short_run_walks_every_journey_and_writes_locusts_reports(fake_gateway: str, tmp_path: Path) -> None:
    run = start_load(_spec(fake_gateway), out_dir=tmp_path)
    result = run.wait(timeout_s=60)
    assert result.exit_code == 0, result.problem or result.checks
    assert set(result.journeys) == {"browse", "signup", "checkout", "cart", "login"}
    assert {f"{r['method']} {r['name']}" for r in result.routes} == JOURNEY_ROUTES
    assert result.totals["failures"] == 0
    for name in ("html", "json", "csv_stats", "csv_history", "samples", "summary", "result"):
        assert result.outputs[name].exists(), name
    samples = run.samples()
    assert len(samples) >= 5
    assert [s.t for s in samples] == sorted(s.t for s in samples)
    assert samples[-1].journeys["checkout"]["success"] == result.journeys["checkout"]["success"]


def test_two_workers_both_drive_requests_and_the_master_adds_them_up(fake_gateway: str, tmp_path: Path) -> None:
    run = start_load(_spec(fake_gateway, workers=2), out_dir=tmp_path)
    result = run.wait(timeout_s=90)
    assert result.exit_code == 0, result.problem or result.checks
    assert len(result.worker_requests) == 2
    assert all(n > 0 for n in result.worker_requests.values())
    assert sum(result.worker_requests.values()) == result.totals["requests"]
    assert sum(int(j["total"]) for j in result.journeys.values()) > 0


def test_a_broken_checkout_fails_the_thresholds_and_the_command_exits_non_zero(
    fake_gateway: str, knobs: httpx.Client, tmp_path: Path
) -> None:
    knobs.put("/_fake/knobs", json={"fail_checkout": True}).raise_for_status()
    proc = subprocess.run(
        [sys.executable, "-m", "shoplab", "load", "--host", fake_gateway, "--users", "3", "--duration", "5s",
         "--think-scale", "0.1", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAILED thresholds" in proc.stdout
    assert "t=1s" in proc.stdout  # a progress line per second
    assert (tmp_path / "locust.html").exists()


def test_product_pages_without_recommendations_pass_as_degraded_journeys(
    fake_gateway: str, knobs: httpx.Client, tmp_path: Path
) -> None:
    knobs.put("/_fake/knobs", json={"degrade_recs": True}).raise_for_status()
    result = start_load(_spec(fake_gateway, duration_s=5.0), out_dir=tmp_path).wait(timeout_s=60)
    assert result.exit_code == 0, result.checks
    assert result.journeys["browse"]["degraded"] > 0
    assert result.journeys["browse"]["success"] == 0
    assert result.journeys["login"]["success"] > 0  # no product page, nothing degraded


def test_open_loop_arrivals_keep_their_rate_and_count_what_a_slow_shop_drops(
    fake_gateway: str, knobs: httpx.Client, tmp_path: Path
) -> None:
    knobs.put("/_fake/knobs", json={"latency_ms": 300}).raise_for_status()
    spec = _spec(fake_gateway, users=1, rate_per_s=20.0, duration_s=5.0, user_classes=("BrowsingShopper",))
    result = start_load(spec, out_dir=tmp_path).wait(timeout_s=60)
    arrivals = result.arrivals
    assert arrivals is not None
    started = arrivals["on_time"] + arrivals["late"]
    # one user, every journey >= 0.3 s: the shop cannot keep up with 20 arrivals a second
    assert arrivals["late"] > 0
    assert arrivals["dropped"] > 0
    assert arrivals["scheduled"] >= started + arrivals["dropped"]
    assert result.journeys["browse"]["total"] <= started
    # what the CLI reports as "journeys ended: N of M scheduled"
    assert result.ended_of_scheduled() == (sum(j["total"] for j in result.journeys.values()), arrivals["scheduled"])
    # every arrival a claim skipped is in the raw samples as a failed "unserved" journey at its due second
    # (those still unclaimed when the run ends are only counted: they are due after the last sample)
    unserved = [b for (_s, journey), b in merge_lines(
        json.loads(line) for line in (tmp_path / "raw.jsonl").read_text().splitlines()).items() if journey == UNSERVED]
    recorded = sum(b.counts["failure"] for b in unserved)
    assert 0 < recorded <= arrivals["dropped"]
    assert all(b.total == b.counts["failure"] and not b.latency.count for b in unserved)


def test_stop_ends_every_locust_process_and_is_idempotent(fake_gateway: str, tmp_path: Path) -> None:
    run = start_load(_spec(fake_gateway, duration_s=120.0, workers=1), out_dir=tmp_path)
    try:
        poll_until(run.latest, timeout_s=60, message="first per-second sample")
    finally:
        run.stop()
    run.stop()
    assert all(p.poll() is not None for p in run.processes)
    result = run.wait(timeout_s=1)
    assert result.totals["requests"] > 0


def test_open_loop_with_two_workers_splits_the_rate_and_the_master_adds_their_arrivals(
    fake_gateway: str, tmp_path: Path
) -> None:
    spec = _spec(fake_gateway, users=4, workers=2, rate_per_s=10.0, duration_s=6.0, user_classes=("BrowsingShopper",))
    result = start_load(spec, out_dir=tmp_path).wait(timeout_s=90)
    assert result.exit_code == 0, result.problem or result.checks
    arrivals = result.arrivals
    assert arrivals is not None
    started = arrivals["on_time"] + arrivals["late"]
    # loose bound: 10/s for 6 s is 60 arrivals, half from each worker
    assert 30 <= arrivals["scheduled"] <= 90
    assert result.journeys["browse"]["total"] <= started
    assert len(result.worker_requests) == 2 and all(n > 0 for n in result.worker_requests.values())


def test_a_spike_run_jumps_to_the_peak_and_falls_back_to_its_baseline(fake_gateway: str, tmp_path: Path) -> None:
    run = start_load(_spec(fake_gateway, shape="spike", users=5, duration_s=10.0), out_dir=tmp_path)
    result = run.wait(timeout_s=60)
    assert result.exit_code == 0, result.problem or result.checks
    users = [s.users for s in run.samples() if s.t < 10.0]
    peak_at = users.index(5)
    assert users[0] == 1  # the baseline is a fifth of the peak
    assert 1 in users[peak_at:]  # ...and the run falls back to it after the spike


def test_a_step_run_climbs_its_stairs_in_order(fake_gateway: str, tmp_path: Path) -> None:
    run = start_load(_spec(fake_gateway, shape="step", users=3, steps=3, duration_s=9.0), out_dir=tmp_path)
    result = run.wait(timeout_s=60)
    assert result.exit_code == 0, result.problem or result.checks
    users = [s.users for s in run.samples() if s.t < 9.0]
    assert users == sorted(users)
    assert {1, 2, 3} <= set(users)
