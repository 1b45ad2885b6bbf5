"""Time `shoplab up -d` to all-ready (median of 5) and the idle stack's resident memory."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench import machine, write_result
from shoplab import REPO_ROOT
from shoplab.runtime.stack import Stack

RUNS = 5


def _tree_rss_kib(root_pid: int) -> int:
    """Sum the resident memory (KiB) of a process and all its descendants."""
    root = psutil.Process(root_pid)
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += proc.memory_info().rss
    return total // 1024


def main() -> None:
    """Run the benchmark and print/write its result."""
    offset = int(os.environ.get("SHOPLAB_PORT_OFFSET", "0")) + 60
    times, rss = [], []
    for i in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="slbench") as tmp:
            env = {**os.environ, "SHOPLAB_RUN_DIR": tmp, "SHOPLAB_PORT_OFFSET": str(offset)}
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "shoplab", "up", "-d", "--no-observability"],
                cwd=REPO_ROOT, env=env, check=True, capture_output=True,
            )
            times.append(time.perf_counter() - started)
            stack = Stack.attach(tmp)
            pid = int((Path(tmp) / "supervisord.pid").read_text())
            rss.append(_tree_rss_kib(pid) / 1024)
            stack.down(purge=True)
        print(f"run {i + 1}/{RUNS}: up to all-ready {times[-1]:.2f} s, idle RSS {rss[-1]:.0f} MiB", flush=True)
    result = {
        "up_to_ready_s_median": round(statistics.median(times), 2),
        "up_to_ready_s_runs": [round(t, 2) for t in times],
        "idle_rss_mib_median": round(statistics.median(rss), 1),
        "aims": {"up_to_ready_s": 10, "idle_rss_mib": 1024},
    }
    path = write_result("stack", result)
    m = machine()
    print(
        f"shoplab up -d → all ready: median {result['up_to_ready_s_median']} s over {RUNS} runs "
        f"on {m['cores']} cores (aim < 10 s); idle RSS {result['idle_rss_mib_median']} MiB (aim < 1024 MiB)"
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
