"""How much load one Locust process drives, against a trivial endpoint and the gateway, and the shop's checkout knee.

``python -m bench.bench_load`` starts its own native stack (port offset
``SHOPLAB_PORT_OFFSET`` + 70), then:

1. one Locust process, no think time, against a trivial asyncio endpoint: the generator's ceiling;
2. the same against the gateway (``GET /healthz`` and ``GET /api/v1/products``): when this is far
   below (1) and the Locust process is not at 100% CPU, the shop is the limit, not the generator;
3. a step run of checkout-only shoppers with no think time: paid checkouts per second per
   stair; the knee is the last stair before throughput stops growing by at least 10%.

The machine has few cores shared with whatever else runs: the load average is printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench import machine, write_result
from loadtests.api import LoadSample, LoadSpec, free_port, start_load
from loadtests.thresholds import Thresholds
from shop.kit.public_api import V1
from shop.topology import Topology
from shoplab import REPO_ROOT
from shoplab.runtime.polling import poll_until
from shoplab.runtime.stack import running_stack

PING_USERS = 20
PING_S = 10
STEP_USERS = 12
STEPS = 6
STEP_S = 10.0
KNEE_GAIN = 0.10


def _cpu_s(pid: int) -> float:
    """Return the user+system CPU seconds of a process and its live descendants (gunicorn's worker)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def run_ping_with_cpu(host: str, path: str, *, watch_pid: int | None = None) -> dict[str, Any]:
    """Like run_ping, and also report the Locust process's CPU (cores busy) while it ran."""
    env = {**os.environ, "BENCH_PATH": path}
    cmd = [
        sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("ping_locustfile.py")),
        "--headless", "--host", host, "-u", str(PING_USERS), "-r", str(PING_USERS), "-t", f"{PING_S}s",
        "--json", "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    watch_start = _cpu_s(watch_pid) if watch_pid else 0.0
    last_cpu = 0.0
    t0 = time.monotonic()
    while proc.poll() is None:
        try:
            last_cpu = _cpu_s(proc.pid)
        except psutil.Error:
            break
        time.sleep(0.2)  # sampling the child's CPU; not a test
    out, _ = proc.communicate(timeout=PING_S + 60)
    wall = time.monotonic() - t0
    entries = json.loads(out)
    requests = sum(e["num_requests"] for e in entries)
    failures = sum(e["num_failures"] for e in entries)
    span = max(max(e["last_request_timestamp"] for e in entries) - min(e["start_time"] for e in entries), 1e-6)
    result: dict[str, Any] = {
        "path": path,
        "requests": requests,
        "failures": failures,
        "rps": round(requests / span, 1),
        # cores the Locust process kept busy; near 1.0 means the generator itself was the limit
        "locust_cpu_cores": round(last_cpu / wall, 2),
    }
    if watch_pid:
        result["gateway_cpu_cores"] = round((_cpu_s(watch_pid) - watch_start) / wall, 2)
    return result


def step_knee(samples: list[LoadSample], *, steps: int, step_s: float) -> list[dict[str, Any]]:
    """Per stair: users, paid checkouts per second and median per-second p95 over its second half."""
    stairs = []
    for k in range(steps):
        lo, hi = k * step_s + step_s / 2, (k + 1) * step_s
        window = [s for s in samples if lo <= s.t <= hi]
        if len(window) < 2:
            continue
        first, last = window[0], window[-1]
        paid = last.journeys.get("checkout", {}).get("success", 0) - first.journeys.get("checkout", {}).get("success", 0)
        failed = last.journeys.get("checkout", {}).get("failure", 0) - first.journeys.get("checkout", {}).get("failure", 0)
        stairs.append({
            "users": max(s.users for s in window),
            "paid_per_s": round(paid / max(last.t - first.t, 1e-6), 2),
            "failed_checkouts": failed,
            "p95_ms_median": statistics.median(s.p95_ms for s in window),
            "rps": round(statistics.mean(s.rps for s in window), 1),
        })
    return stairs


def find_knee(stairs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Return the last stair before paid/s stops growing by KNEE_GAIN, or None if it kept growing."""
    for prev, cur in zip(stairs, stairs[1:], strict=False):
        if cur["paid_per_s"] < prev["paid_per_s"] * (1 + KNEE_GAIN):
            return prev
    return None


def main() -> None:
    """Run the three measurements and print/write the result."""
    m = machine()
    print(f"machine: {m['cores']} cores, load average {m['loadavg_1m']:.2f} (shared: other work may run)", flush=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "bench.trivial_server", str(port)], cwd=REPO_ROOT)
    try:
        trivial_url = f"http://127.0.0.1:{port}"
        poll_until(lambda: httpx.get(trivial_url + "/") is not None, timeout_s=10, interval_s=0.1,
                   message="the trivial server to answer")
        trivial = run_ping_with_cpu(trivial_url, "/", watch_pid=server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"one Locust process -> trivial endpoint: {trivial['rps']} req/s (Locust at {trivial['locust_cpu_cores']} cores)", flush=True)

    offset = int(os.environ.get("SHOPLAB_PORT_OFFSET", "0")) + 70
    with tempfile.TemporaryDirectory(prefix="slbenchload") as tmp, running_stack(
        Path(tmp) / "stack", Topology().with_offset(offset), observability=False
    ) as stack:
        gateway = stack.service_url("gateway")
        gw_pid = next(p.pid for p in stack.status() if p.name == "gateway")
        health = run_ping_with_cpu(gateway, "/healthz", watch_pid=gw_pid)
        print(f"one Locust process -> gateway /healthz: {health['rps']} req/s "
              f"(Locust {health['locust_cpu_cores']} cores, gateway {health['gateway_cpu_cores']} cores)", flush=True)
        products = run_ping_with_cpu(gateway, V1.products, watch_pid=gw_pid)
        print(f"one Locust process -> gateway {V1.products}: {products['rps']} req/s "
              f"(Locust {products['locust_cpu_cores']} cores, gateway {products['gateway_cpu_cores']} cores)", flush=True)

        spec = LoadSpec(
            host=gateway, shape="step", users=STEP_USERS, spawn_rate=float(STEP_USERS), duration_s=STEPS * STEP_S,
            steps=STEPS, think_scale=0.0, user_classes=("BuyingShopper",), buyer_mix="checkout=1",
            thresholds=Thresholds(max_fail_ratio=None, max_journey_failure_ratio=None),
        )
        run = start_load(spec, out_dir=Path(tmp) / "step")
        run.wait(timeout_s=STEPS * STEP_S + 120)
        stairs = step_knee(run.samples(), steps=STEPS, step_s=STEP_S)
    print("checkout step run (checkout-only shoppers, no think time):")
    for s in stairs:
        print(f"  {s['users']:3d} users: {s['paid_per_s']:6.2f} paid checkouts/s, {s['rps']:6.1f} req/s, "
              f"median per-second p95 {s['p95_ms_median']:.0f} ms, {s['failed_checkouts']} failed")
    knee = find_knee(stairs)
    if knee:
        print(f"knee: ~{knee['paid_per_s']} paid checkouts/s at {knee['users']} users (the next stair added < 10%)")
    else:
        print(f"no knee up to {STEP_USERS} users: throughput still rising")
    result = {
        "trivial": trivial,
        "gateway_healthz": health,
        "gateway_products": products,
        "checkout_stairs": stairs,
        "checkout_knee": knee,
        "generator_headroom_vs_gateway": round(trivial["rps"] / max(products["rps"], 1e-6), 1),
    }
    path = write_result("load", result)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
