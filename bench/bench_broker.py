"""The cost of `shoplab up -d --broker`: start time to all-ready and idle resident memory, with and without.

Rounds interleave the two (without, then with the broker), each on a fresh run folder, so a
busy machine's drift hits both alike; every round records the load average it ran at.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import machine, write_result
from bench.bench_stack import _tree_rss_kib
from shoplab import REPO_ROOT
from shoplab.runtime.stack import Stack

ROUNDS = int(os.environ.get("BENCH_BROKER_ROUNDS", "3"))
BROKER_PROGRAMS = ("rabbitmq", "rabbitmq-epmd", "notifications-consumer")


def _one(offset: int, broker: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="slbroker") as tmp:
        env = {**os.environ, "SHOPLAB_RUN_DIR": tmp, "SHOPLAB_PORT_OFFSET": str(offset)}
        env.pop("SHOPLAB_EVENTS", None)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "shoplab", "up", "-d", "--no-observability",
                        *(["--broker"] if broker else [])], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
        up_s = time.perf_counter() - started
        stack = Stack.attach(tmp)
        try:
            pid = int((Path(tmp) / "supervisord.pid").read_text())
            rss_mib = _tree_rss_kib(pid) / 1024
            broker_rss = 0.0
            for status in stack.status():
                if status.name in BROKER_PROGRAMS and status.pid:
                    broker_rss += _tree_rss_kib(status.pid) / 1024
        finally:
            stack.down(purge=True)
        return {"broker": broker, "up_to_ready_s": round(up_s, 2), "idle_rss_mib": round(rss_mib, 1),
                "broker_programs_rss_mib": round(broker_rss, 1), "loadavg_1m_before": load_before}


def main() -> None:
    """Run the interleaved rounds and print/write the result."""
    offset = int(os.environ.get("SHOPLAB_PORT_OFFSET", "0")) + 60
    runs: list[dict[str, Any]] = []
    for i in range(ROUNDS):
        for broker in (False, True):
            runs.append(_one(offset, broker))
            r = runs[-1]
            print(f"round {i + 1}/{ROUNDS} broker={broker}: up {r['up_to_ready_s']} s, RSS {r['idle_rss_mib']} MiB "
                  f"(broker programs {r['broker_programs_rss_mib']} MiB), load {r['loadavg_1m_before']:.1f}", flush=True)

    def summary(broker: bool) -> dict[str, Any]:
        mine = [r for r in runs if r["broker"] is broker]
        ups = [r["up_to_ready_s"] for r in mine]
        rss = [r["idle_rss_mib"] for r in mine]
        return {"n": len(mine), "up_to_ready_s_median": round(statistics.median(ups), 2),
                "up_to_ready_s_range": [min(ups), max(ups)], "idle_rss_mib_median": round(statistics.median(rss), 1),
                "idle_rss_mib_range": [min(rss), max(rss)],
                "broker_programs_rss_mib_median": round(statistics.median(r["broker_programs_rss_mib"] for r in mine), 1)}

    without, with_broker = summary(False), summary(True)
    result = {"rounds": ROUNDS, "without_broker": without, "with_broker": with_broker, "runs": runs,
              "loadavg_1m_range": [min(r["loadavg_1m_before"] for r in runs), max(r["loadavg_1m_before"] for r in runs)]}
    path = write_result("broker", result)
    m = machine()
    print(f"up -d: median {without['up_to_ready_s_median']} s without, {with_broker['up_to_ready_s_median']} s with "
          f"--broker; idle RSS {without['idle_rss_mib_median']} vs {with_broker['idle_rss_mib_median']} MiB "
          f"({ROUNDS} interleaved rounds, {m['cores']} cores, load {result['loadavg_1m_range']})")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
