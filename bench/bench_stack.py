"""Time `shoplab up -d` to all-ready (median of 5) and the idle stack's resident memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import machine, write_result
from shoplab import REPO_ROOT
from shoplab.runtime.stack import Stack

RUNS = 5


def _tree_rss_kib(root_pid: int) -> int:
    """Sum VmRSS over a process and all its descendants."""
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        children.setdefault(int(fields["PPid"].strip()), []).append(int(fields["Pid"].strip()))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
        todo.extend(children.get(pid, []))
    return total


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
