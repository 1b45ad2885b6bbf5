"""Measure gateway throughput with full instrumentation against the same shop with it switched off.

Run: ``.venv/bin/python -m bench.bench_telemetry`` (results JSON under ``bench/results/``).

Two native stacks run side by side at shifted port offsets: one fully instrumented
(traces exported to a real Jaeger, RED metrics scraped by a real Prometheus, JSON
access logs), one with ``SHOPLAB_TELEMETRY=off`` and no Prometheus/Jaeger. Short
closed-loop load windows alternate between them, so drift on a shared machine hits
both alike; the instrumented stack's Prometheus and Jaeger are stopped during every
"off" window (they would otherwise take CPU from it) and started again before the next
instrumented one, with ``BENCH_TELEMETRY_SETTLE_S`` (3 s) of quiet after each switch so their
start-up is not counted as per-request cost. The headline is the ratio of their median throughputs in this one run
(aim: >= 0.90); each window records the machine's load average. The load is a product page (gateway → catalog, recommendations →
catalog): every request crosses four instrumented hops.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench import machine, paired_ratios, write_result
from shop.kit.public_api import V1
from shop.topology import Topology
from shoplab.runtime.stack import Stack, running_stack
from shoplab.runtime.tools import ensure_tool

# Within this engineer's offset block, clear of the session (+0) and test (+75) stacks; 12 apart, as a
# stack spans 11 proxy ports. Not +20: its Jaeger query port (16685 + offset) is the 6th proxy port of a
# stack at offset - 2300, and a neighbour's shop there made this bench's Jaeger fail to start.
ON_SHIFT, OFF_SHIFT = 47, 35
CLIENTS = int(os.environ.get("BENCH_TELEMETRY_CLIENTS", "8"))
WINDOW_S = float(os.environ.get("BENCH_TELEMETRY_WINDOW_S", "4"))
ROUNDS = int(os.environ.get("BENCH_TELEMETRY_ROUNDS", "6"))
WARMUP_S = 2.0
# After Prometheus and Jaeger start (or stop), wait this long before the window: their start-up
# (Prometheus replays its WAL, Jaeger builds its store) is not the per-request cost being measured.
SETTLE_S = float(os.environ.get("BENCH_TELEMETRY_SETTLE_S", "3"))
# Unset: every trace is recorded and exported (full instrumentation). A ratio such as 0.1
# measures head sampling instead (OTEL_TRACES_SAMPLER=parentbased_traceidratio).
SAMPLE_RATIO = os.environ.get("BENCH_TELEMETRY_SAMPLE_RATIO", "")
# "0" keeps the instrumentation but runs no Prometheus/Jaeger (splits in-process cost from the backends').
WITH_BACKENDS = os.environ.get("BENCH_TELEMETRY_BACKENDS", "1") != "0"
AIM_RATIO = 0.90
BACKENDS = ("prometheus", "jaeger")


def _product_ids(stack: Stack) -> list[int]:
    resp = httpx.get(stack.service_url("gateway") + V1.products, timeout=10)
    resp.raise_for_status()
    return [int(p["id"]) for p in resp.json()["items"]][:8]


def run_window(base_url: str, product_ids: list[int], duration_s: float, clients: int = CLIENTS) -> tuple[int, int]:
    """Drive ``clients`` closed-loop clients for ``duration_s``; return (ok answers, other answers)."""
    deadline = time.monotonic() + duration_s
    counts = [[0, 0] for _ in range(clients)]

    def client(i: int) -> None:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            n = i
            while time.monotonic() < deadline:
                try:
                    status = http.get(V1.product(product_ids[n % len(product_ids)])).status_code
                except httpx.HTTPError:
                    status = 0
                counts[i][0 if status == 200 else 1] += 1
                n += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def _switch_backends(stack: Stack, *, running: bool) -> None:
    """Start or stop the instrumented stack's Prometheus and Jaeger."""
    for name in BACKENDS:
        if running:
            stack.start_process(name, timeout_s=60)
        else:
            stack.stop_process(name)


def main() -> None:
    """Run the benchmark and print/write its result."""
    for tool in ("toxiproxy-server", "prometheus", "jaeger"):
        ensure_tool(tool)
    base = Topology.from_env()
    m = machine()
    print(f"machine: {m['cores']} cores, load {m['loadavg_1m']:.2f}; {CLIENTS} clients, "
          f"{ROUNDS} x {WINDOW_S:.0f} s windows per variant", flush=True)
    on_env = {}
    if SAMPLE_RATIO:
        on_env = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": SAMPLE_RATIO}
    sampling = f"{float(SAMPLE_RATIO):.0%} of traces" if SAMPLE_RATIO else "every trace"
    backends = "with Prometheus and Jaeger" if WITH_BACKENDS else "without Prometheus and Jaeger"
    print(f"instrumented stack records {sampling}, {backends}", flush=True)
    with tempfile.TemporaryDirectory(prefix="slbtel") as tmp, ExitStack() as stacks:
        on = stacks.enter_context(
            running_stack(Path(tmp) / "on", base.with_offset(base.port_offset + ON_SHIFT), observability=WITH_BACKENDS,
                          env=on_env, timeout_s=120)
        )
        off = stacks.enter_context(
            running_stack(Path(tmp) / "off", base.with_offset(base.port_offset + OFF_SHIFT), observability=False,
                          env={"SHOPLAB_TELEMETRY": "off"}, timeout_s=120)
        )
        variants = {"instrumented": on, "off": off}
        ids = {name: _product_ids(stack) for name, stack in variants.items()}
        for name, stack in variants.items():
            run_window(stack.service_url("gateway"), ids[name], WARMUP_S)
        rps: dict[str, list[float]] = {name: [] for name in variants}
        loads: dict[str, list[float]] = {name: [] for name in variants}
        errors = dict.fromkeys(variants, 0)
        for r in range(ROUNDS):
            # Alternate which variant goes first, so neither always gets the fresher machine.
            order = list(variants) if r % 2 == 0 else list(reversed(variants))
            for name in order:
                if WITH_BACKENDS:
                    _switch_backends(on, running=name == "instrumented")
                    time.sleep(SETTLE_S)  # the same pause before both variants' windows
                ok, bad = run_window(variants[name].service_url("gateway"), ids[name], WINDOW_S)
                rps[name].append(ok / WINDOW_S)
                loads[name].append(round(os.getloadavg()[0], 2))
                errors[name] += bad
            if WITH_BACKENDS:
                _switch_backends(on, running=True)
            print(f"round {r + 1}/{ROUNDS}: instrumented {rps['instrumented'][-1]:.0f} req/s, "
                  f"off {rps['off'][-1]:.0f} req/s", flush=True)
    medians = {name: statistics.median(values) for name, values in rps.items()}
    ratio = medians["instrumented"] / medians["off"] if medians["off"] else 0.0
    result = {
        "clients": CLIENTS,
        "sampled": sampling,
        "backends": backends,
        "window_s": WINDOW_S,
        "rounds": ROUNDS,
        "rps_median": {k: round(v, 1) for k, v in medians.items()},
        "rps_windows": {k: [round(x, 1) for x in v] for k, v in rps.items()},
        "non_200_answers": errors,
        "loadavg_1m_per_window": loads,
        "backends_stopped_during_off_windows": WITH_BACKENDS,
        "settle_s_after_switching_backends": SETTLE_S if WITH_BACKENDS else 0.0,
        "ratio_instrumented_over_off": round(ratio, 3),
        "paired_round_ratios": paired_ratios(rps["instrumented"], rps["off"]),
        "aim_ratio": AIM_RATIO,
    }
    path = write_result("telemetry", result)
    print(
        f"gateway product page throughput: instrumented {medians['instrumented']:.0f} req/s vs off "
        f"{medians['off']:.0f} req/s → ratio {ratio:.3f} (aim >= {AIM_RATIO}) on {m['cores']} cores, "
        f"{sampling} recorded"
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
