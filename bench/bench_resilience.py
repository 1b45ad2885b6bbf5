"""Measure the resilient client's overhead against a bare httpx.Client, and a rejected call's cost.

Run: ``.venv/bin/python -m bench.bench_resilience`` (results JSON under ``bench/results/``).

One local gunicorn process answers a tiny JSON route with no faults. Bare and resilient
calls alternate, so drift on a shared machine hits both alike; the headline is the ratio
of their medians in this one run (aim: <= 1.10). Then the breaker is opened and the cost
of a call it rejects (no network) is measured against the same bare call.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
from flask import Flask, jsonify

from bench import machine, write_result
from shop.kit.errors import DependencyUnavailable
from shop.kit.resilience import ResilienceControl, ResilientClient
from shoplab.runtime.polling import poll_until

HOST = "127.0.0.1"
WARMUP = 200
ROUNDS = int(os.environ.get("BENCH_RESILIENCE_ROUNDS", "2000"))
REJECTED_ROUNDS = 5000


def create_target() -> Flask:
    """Build the tiny app the benchmark calls (gunicorn imports this)."""
    app = Flask("bench_target")

    @app.get("/products/1")
    def product() -> Any:
        return jsonify(id=1, name="bench", price_cents=100)

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _time_us(fn: Callable[[], Any]) -> float:
    started = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - started) / 1000.0


def _in_process_overhead() -> tuple[float, float]:
    """Return the median bare and resilient call times on a MockTransport: the kit's pure CPU cost."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"id": 1}))
    bare = httpx.Client(base_url="http://bench.local", transport=transport)
    control = ResilienceControl("bench_mock", "resilient", ["catalog"])
    resilient = ResilientClient("catalog", "http://bench.local", caller="bench_mock", control=control,
                                transport=transport)
    for _ in range(WARMUP):
        bare.get("/products/1")
        resilient.get("/products/1")
    bare_us, resilient_us = [], []
    for _ in range(ROUNDS):
        bare_us.append(_time_us(lambda: bare.get("/products/1")))
        resilient_us.append(_time_us(lambda: resilient.get("/products/1")))
    return statistics.median(bare_us), statistics.median(resilient_us)


def main() -> None:
    """Run the benchmark, print a summary and write the JSON result."""
    port = _free_port()
    cmd = [
        sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1", "--threads", "4",
        "--bind", f"{HOST}:{port}", "--log-level", "warning", "bench.bench_resilience:create_target()",
    ]
    server = subprocess.Popen(cmd)
    base_url = f"http://{HOST}:{port}"
    try:
        url = base_url + "/products/1"
        poll_until(lambda: httpx.get(url, timeout=1).status_code == 200, timeout_s=30,
                   message=f"the benchmark target at {url} to start")
        control = ResilienceControl("bench", "resilient", ["catalog"])
        bare = httpx.Client(base_url=base_url, timeout=httpx.Timeout(1.0, connect=0.5))
        resilient = ResilientClient("catalog", base_url, caller="bench", control=control)
        for _ in range(WARMUP):
            bare.get("/products/1")
            resilient.get("/products/1")
        bare_us, resilient_us = [], []
        for _ in range(ROUNDS):
            bare_us.append(_time_us(lambda: bare.get("/products/1")))
            resilient_us.append(_time_us(lambda: resilient.get("/products/1")))

        breaker = control.runtime("catalog").breaker
        assert breaker is not None
        breaker.reset_timeout = 3600
        breaker.open()

        def rejected() -> None:
            try:
                resilient.get("/products/1")
            except DependencyUnavailable:
                return
            raise RuntimeError("the open breaker let a call through")

        rejected_us = [_time_us(rejected) for _ in range(REJECTED_ROUNDS)]
        bare.close()
        resilient.close()
    finally:
        server.terminate()
        server.wait(timeout=10)

    cpu_bare, cpu_res = _in_process_overhead()
    med_bare, med_res, med_rej = (statistics.median(x) for x in (bare_us, resilient_us, rejected_us))
    result = {
        "rounds": ROUNDS,
        "profile": "resilient",
        "bare_httpx_median_us": round(med_bare, 1),
        "resilient_median_us": round(med_res, 1),
        "overhead_ratio_of_medians": round(med_res / med_bare, 3),
        "overhead_median_us": round(med_res - med_bare, 1),
        "rejected_open_breaker_median_us": round(med_rej, 1),
        "rejected_vs_bare_call_ratio": round(med_rej / med_bare, 3),
        "in_process_bare_median_us": round(cpu_bare, 1),
        "in_process_resilient_median_us": round(cpu_res, 1),
        "in_process_overhead_us": round(cpu_res - cpu_bare, 1),
        "aim": "overhead_ratio_of_medians <= 1.10",
    }
    path = write_result("resilience", result)
    cores = machine()["cores"]
    print(f"cores: {cores}  load(1m): {os.getloadavg()[0]:.2f}  rounds: {ROUNDS}")
    print(f"bare httpx median:        {med_bare:8.1f} us")
    print(f"resilient client median:  {med_res:8.1f} us   ratio {med_res / med_bare:.3f} (aim <= 1.10)")
    print(f"rejected (breaker open):  {med_rej:8.1f} us   = {med_rej / med_bare:.3f} of a bare call")
    print(f"in-process (MockTransport, no network): bare {cpu_bare:.1f} us, resilient {cpu_res:.1f} us, "
          f"overhead {cpu_res - cpu_bare:.1f} us")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
