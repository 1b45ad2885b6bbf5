"""Measure the trainer's console's CPU while idle: page open (live stream each second) vs no page, interleaved.

One native stack (no Prometheus/Jaeger), one ``shoplab console`` process, one
headless Chromium tab (Debian's chromium through Playwright). Windows of
``WINDOW_S`` alternate between the page open and closed; the console's CPU time
(user + system, psutil) over each window's wall time is its CPU share of one core.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
from playwright.sync_api import sync_playwright

from bench import machine, write_result
from shop.topology import Topology
from shoplab import REPO_ROOT
from shoplab.console.server import CONSOLE_PORT
from shoplab.runtime.polling import poll_until
from shoplab.runtime.stack import running_stack
from shoplab.runtime.tools import ensure_tool

WINDOWS = 6  # per condition
WINDOW_S = 10.0


def _cpu(proc: psutil.Process) -> float:
    """Return the CPU seconds (user + system) of a process and its descendants so far."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def _cpu_shares(procs: dict[str, psutil.Process], seconds: float) -> dict[str, float]:
    """Return each process tree's CPU seconds per wall second over the next ``seconds``."""
    c0, t0 = {k: _cpu(p) for k, p in procs.items()}, time.perf_counter()
    time.sleep(seconds)
    wall = time.perf_counter() - t0
    return {k: (_cpu(p) - c0[k]) / wall for k, p in procs.items()}


def _measure(procs: dict[str, psutil.Process], open_page: Callable[[], object],
             close_page: Callable[[], object]) -> dict[str, dict[str, list[float]]]:
    shares: dict[str, dict[str, list[float]]] = {c: {k: [] for k in procs} for c in ("page_open", "no_page")}
    for i in range(WINDOWS * 2):
        cond = "page_open" if i % 2 == 0 else "no_page"
        (open_page if cond == "page_open" else close_page)()
        time.sleep(2.0)  # let the stream start (or the sampler notice nobody listens)
        for k, v in _cpu_shares(procs, WINDOW_S).items():
            shares[cond][k].append(v)
        print(f"window {i + 1}/{WINDOWS * 2} {cond}: "
              + ", ".join(f"{k} {100 * v[-1]:.2f} %" for k, v in shares[cond].items()), flush=True)
    return shares


def main() -> None:
    """Run the benchmark and print/write its result."""
    offset = int(os.environ.get("SHOPLAB_PORT_OFFSET", "0")) + 70
    topology = Topology(port_offset=offset)
    port = CONSOLE_PORT + offset
    chromium = ensure_tool("chromium")
    with tempfile.TemporaryDirectory(prefix="slbench") as tmp, running_stack(tmp, topology, observability=False):
        supervisord = psutil.Process(int((Path(tmp) / "supervisord.pid").read_text()))
        env = {**os.environ, "SHOPLAB_RUN_DIR": tmp, "SHOPLAB_PORT_OFFSET": str(offset)}
        console = subprocess.Popen([sys.executable, "-m", "shoplab", "console", "--port", str(port)], cwd=REPO_ROOT,
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/"
            poll_until(lambda: httpx.get(url, timeout=1).status_code == 200, timeout_s=30, message="console up")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
                page = browser.new_page()
                shares = _measure({"console": psutil.Process(console.pid), "stack": supervisord},
                                  lambda: page.goto(url) and page.wait_for_selector("body[data-seq]", timeout=10_000),
                                  lambda: page.goto("about:blank"))
                browser.close()
        finally:
            console.terminate()
            console.wait(timeout=20)

    def summary(xs: list[float]) -> dict[str, object]:
        return {"median_pct": round(100 * statistics.median(xs), 2), "min_pct": round(100 * min(xs), 2),
                "max_pct": round(100 * max(xs), 2), "windows_pct": [round(100 * x, 2) for x in xs]}

    result: dict[str, Any] = {
        "window_s": WINDOW_S, "windows_per_condition": WINDOWS, "interleaved": True,
        "unit": "percent of one core (CPU seconds per wall second x 100)",
        **{cond: {k: summary(v) for k, v in per.items()} for cond, per in shares.items()}}
    path = write_result("console", result)
    m = machine()
    for k in ("console", "stack"):
        o, n = result["page_open"][k], result["no_page"][k]
        print(f"{k} CPU: page open median {o['median_pct']} % of one core (min–max {o['min_pct']}–{o['max_pct']}), "
              f"no page median {n['median_pct']} % (min–max {n['min_pct']}–{n['max_pct']})")
    print(f"{WINDOWS}×{WINDOW_S:g} s windows per condition, interleaved; {m['cores']} cores, "
          f"load {m['loadavg_1m']:.1f} (a busy shared machine)")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
