"""Measure each process's memory and CPU, idle and under steady load: the Helm chart's resources come from here.

Starts a native stack (no observability), samples every program's resident memory (the
process and its children) and CPU once a second for IDLE_S idle, then while
``shoplab load --shape steady`` runs, and writes per-program medians, p95s and peaks
with the sample counts, the machine and its load average.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import psutil

from bench import machine, write_result
from shoplab import REPO_ROOT
from shoplab.runtime.stack import Stack

IDLE_S = 15
LOAD_USERS = 20
LOAD_S = 60


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _sample(procs: dict[str, list[psutil.Process]], out: dict[str, list[tuple[float, float]]]) -> None:
    """Append ``(rss MiB, CPU millicores since the last call)`` per program."""
    for name, tree in procs.items():
        rss, cpu = 0, 0.0
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                rss += proc.memory_info().rss
                cpu += proc.cpu_percent(None)  # % of one core since the previous call
        out.setdefault(name, []).append((rss / 2**20, cpu * 10))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _summary(samples: list[tuple[float, float]]) -> dict[str, Any]:
    rss, cpu = [s[0] for s in samples], [s[1] for s in samples]
    return {"n": len(samples), "rss_mib_median": round(statistics.median(rss), 1), "rss_mib_max": round(max(rss), 1),
            "cpu_millicores_median": round(statistics.median(cpu)), "cpu_millicores_p95": round(_p95(cpu)),
            "cpu_millicores_max": round(max(cpu))}


def _measure(procs: dict[str, list[psutil.Process]], seconds: float, stop: threading.Event | None = None
             ) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    _sample(procs, {})  # prime cpu_percent
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        time.sleep(1.0)
        _sample(procs, out)
    return out


def main() -> None:
    """Run the benchmark and print/write its result."""
    offset = int(os.environ.get("SHOPLAB_PORT_OFFSET", "0")) + 60
    start_load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="slfoot") as tmp:
        env = {**os.environ, "SHOPLAB_RUN_DIR": tmp, "SHOPLAB_PORT_OFFSET": str(offset)}
        subprocess.run([sys.executable, "-m", "shoplab", "up", "-d", "--no-observability"],
                       cwd=REPO_ROOT, env=env, check=True, capture_output=True)
        stack = Stack.attach(tmp)
        try:
            procs = {s.name: _tree(s.pid) for s in stack.status() if s.pid}
            idle = _measure(procs, IDLE_S)
            load = subprocess.Popen(
                [sys.executable, "-m", "shoplab", "load", "--shape", "steady", "--users", str(LOAD_USERS),
                 "--duration", f"{LOAD_S}s"], cwd=REPO_ROOT, env=env,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            done, output = threading.Event(), []

            def wait_for_load() -> None:
                output.append(load.communicate()[0])
                done.set()

            threading.Thread(target=wait_for_load, daemon=True).start()
            loaded = _measure(procs, LOAD_S + 60, done)
        finally:
            stack.down(purge=True)
    programs = {name: {"idle": _summary(idle[name]), "load": _summary(loaded[name])} for name in procs}
    result: dict[str, Any] = {
        "programs": programs,
        # exit 1 = the load's own latency thresholds missed (a busy machine); the load still ran
        "load": {"shape": "steady", "users": LOAD_USERS, "duration_s": LOAD_S, "exit_code": load.returncode,
                 "summary_tail": "".join(output).splitlines()[-12:]},
        "sample_interval_s": 1.0,
        "loadavg_1m_at_start": start_load,
    }
    path = write_result("footprint", result)
    m = machine()
    print(f"per program, idle ({IDLE_S} s) and under steady load ({LOAD_USERS} users, {LOAD_S} s), "
          f"1 sample/s, {m['cores']} cores, load average {m['loadavg_1m']}:")
    for name, parts in programs.items():
        i, ld = parts["idle"], parts["load"]
        print(f"  {name:18} RSS idle {i['rss_mib_median']:6.1f} MiB, load median {ld['rss_mib_median']:6.1f} "
              f"max {ld['rss_mib_max']:6.1f}; CPU load median {ld['cpu_millicores_median']:4d}m "
              f"p95 {ld['cpu_millicores_p95']:4d}m (n={ld['n']})")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
