"""Measure gateway throughput with full instrumentation against the same shop with it switched off.

Run: ``.venv/bin/python -m bench telemetry`` (results JSON under ``bench/results/``).

Two native stacks run side by side at shifted port offsets: one fully instrumented (every trace
exported to a real Jaeger, RED metrics scraped every 2 s by a real Prometheus, JSON access logs),
one with ``SHOPLAB_TELEMETRY=off`` and no Prometheus/Jaeger. Windows alternate between them,
``BENCH_TELEMETRY_ROUNDS`` rounds of one window each (the order flips every round), so drift on a
shared machine hits both alike; a round's paired ratio is the headline, with a distribution-free
95 % interval for its median, beside the ratio of the median throughputs.

The instrumented stack's Prometheus and Jaeger are paused (SIGSTOP, whole process group) for the
"off" windows and resumed (SIGCONT) before the next instrumented one: a paused program takes no
CPU and resumes without the start-up work (WAL replay, store set-up) that a stop/start cycle put
into the first seconds of every instrumented window. Each window runs ``BENCH_TELEMETRY_WARMUP_S``
of uncounted load before its measured ``BENCH_TELEMETRY_WINDOW_S``, so connections are open and the
span exporter's 2 s batches are flowing when counting starts (the batch left over at a window's end
is balanced by the one carried in from the warm-up); after each window the shop idles
``BENCH_TELEMETRY_GAP_S`` so that batch reaches Jaeger before it is paused.

The load is a product page (gateway -> catalog, recommendations -> catalog): every request crosses
four instrumented hops. Closed-loop httpx clients run in load processes of their own
(``bench.loadgen``). Every window also records the CPU seconds each stack's process tree spent
(Prometheus and Jaeger included) per page served, the load processes' CPU, what the rest of the
machine used (other tenants), and the load average: CPU per page is the cost that throughput shows
only through the noise of the neighbours. ``BENCH_TELEMETRY_PROFILE_S`` > 0 adds one profiled
window per variant after the rounds: ``py-spy record --gil`` on the gateway's and catalog's
workers, top frames in the JSON.
"""

from __future__ import annotations

import gzip
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from bench import RESULTS_DIR, machine, median_interval, paired_ratios, write_result
from bench.loadgen import ClosedLoop
from bench.proc_cpu import (
    group_shares,
    gunicorn_worker,
    machine_cpu_s,
    start_py_spy,
    top_frames,
    tree_cpu_s,
)
from shop.kit.public_api import V1
from shop.topology import Topology
from shoplab.runtime.stack import Stack, running_stack
from shoplab.runtime.supervisord import read_pid
from shoplab.runtime.tools import ensure_tool

# Within this engineer's offset block, clear of the session (+0) and test (+75) stacks; 12 apart, as a
# stack spans 11 proxy ports. Not +20: its Jaeger query port (16685 + offset) is the 6th proxy port of a
# stack at offset - 2300, and a neighbour's shop there made this bench's Jaeger fail to start.
ON_SHIFT, OFF_SHIFT = 47, 35
CLIENTS = int(os.environ.get("BENCH_TELEMETRY_CLIENTS", "8"))
LOAD_PROCS = int(os.environ.get("BENCH_TELEMETRY_LOAD_PROCS", "2"))
WINDOW_S = float(os.environ.get("BENCH_TELEMETRY_WINDOW_S", "8"))
WARMUP_S = float(os.environ.get("BENCH_TELEMETRY_WARMUP_S", "2.5"))
GAP_S = float(os.environ.get("BENCH_TELEMETRY_GAP_S", "2.5"))
ROUNDS = int(os.environ.get("BENCH_TELEMETRY_ROUNDS", "10"))
PROFILE_S = float(os.environ.get("BENCH_TELEMETRY_PROFILE_S", "0"))
FIRST_WARMUP_S = 8.0
# Unset: every trace is recorded and exported (full instrumentation). A ratio such as 0.1
# measures head sampling instead (OTEL_TRACES_SAMPLER=parentbased_traceidratio).
SAMPLE_RATIO = os.environ.get("BENCH_TELEMETRY_SAMPLE_RATIO", "")
# "0" keeps the instrumentation but runs no Prometheus/Jaeger (splits in-process cost from the backends').
WITH_BACKENDS = os.environ.get("BENCH_TELEMETRY_BACKENDS", "1") != "0"
AIM_RATIO = 0.90
BACKENDS = ("prometheus", "jaeger")
PROFILED = ("gateway", "catalog")
# Where the instrumentation's own time shows in a profile (py-spy's file names, site-packages stripped).
TELEMETRY_FRAMES = {
    "kit request hooks (server span, RED, access line)": r"shop/kit/(request_telemetry|logs|telemetry)\.py",
    "span export thread (OTLP encode + POST)": r"_shared_internal|http/trace_exporter|trace_encoder|common/_internal",
    "spans in the resilient client (SDK)": r"^(Tracer\.start_span|_Span|Span\.|BoundedAttributes|use_span)",
    "W3C propagation": r"propagate/|composite\.py|tracecontext|baggage",
    "/metrics scrapes and other metric updates": r"prometheus_client/|shop/kit/metrics\.py",
}


def _product_paths(stack: Stack) -> list[str]:
    resp = httpx.get(stack.service_url("gateway") + V1.products, timeout=10)
    resp.raise_for_status()
    return [V1.product(int(p["id"])) for p in resp.json()["items"]][:8]


class Backends:
    """Pause and resume the instrumented stack's Prometheus and Jaeger (whole process groups)."""

    def __init__(self, stack: Stack, enabled: bool) -> None:
        self.stack, self.enabled, self.running = stack, enabled, True

    def set(self, running: bool) -> None:
        if not self.enabled or running == self.running:
            return
        for name in BACKENDS:
            self.stack.signal_process(name, "CONT" if running else "STOP")
        self.running = running


def _pids(stack: Stack) -> dict[str, int]:
    return {s.name: s.pid for s in stack.status() if s.pid}


def run_window(load: ClosedLoop, stack: Stack, paths: list[str], stacks: dict[str, int],
               programs: dict[str, int] | None = None, measure_s: float = WINDOW_S,
               warmup_s: float = WARMUP_S) -> dict[str, Any]:
    """Drive one window at ``stack``; return its counts and the CPU every party spent in the measured part.

    ``stacks``: each stack's supervisord pid (its whole tree is counted); ``programs``: the measured
    stack's programs by name, whose CPU per page is also broken down.
    """
    programs = programs or {}
    start, end = load.start(stack.service_url("gateway"), paths, warmup_s, measure_s)
    time.sleep(max(0.0, start - time.monotonic()))
    prog0 = {name: tree_cpu_s(pid) for name, pid in programs.items()}
    cpu0 = {name: tree_cpu_s(pid) for name, pid in stacks.items()}
    (busy0, steal0), t0 = machine_cpu_s(), time.monotonic()
    time.sleep(max(0.0, end - time.monotonic()))
    cpu1 = {name: tree_cpu_s(pid) for name, pid in stacks.items()}
    (busy1, steal1), t1 = machine_cpu_s(), time.monotonic()
    prog1 = {name: tree_cpu_s(pid) for name, pid in programs.items()}
    counts = load.collect()
    spent = {name: cpu1[name] - cpu0[name] for name in stacks}
    others = (busy1 - busy0) - sum(spent.values()) - counts.client_cpu_s
    return {
        "ok": counts.ok, "non_200": counts.bad, "rps": round(counts.ok / measure_s, 1),
        "latency_ms_median": counts.latency_ms_median,
        "stack_cpu_cores": {name: round(v / (t1 - t0), 3) for name, v in spent.items()},
        "load_procs_cpu_cores": round(counts.client_cpu_s / (t1 - t0), 3),
        "others_cpu_cores": round(max(0.0, others) / (t1 - t0), 3),
        "stolen_cpu_cores": round((steal1 - steal0) / (t1 - t0), 3),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "program_cpu_ms_per_page": {name: round(1000 * (prog1[name] - prog0[name]) / counts.ok, 3)
                                    for name in programs} if counts.ok else {},
        "_spent": spent,
    }


def _profile(load: ClosedLoop, variants: dict[str, Stack], paths: dict[str, list[str]], backends: Backends,
             stacks: dict[str, int], out_dir: Path) -> dict[str, Any]:
    profiles: dict[str, Any] = {}
    for name, stack in variants.items():
        backends.set(name == "instrumented")
        pids = _pids(stack)
        workers = {svc: gunicorn_worker(pids[svc]) for svc in PROFILED}
        start, _end = load.start(stack.service_url("gateway"), paths[name], WARMUP_S, PROFILE_S)
        time.sleep(max(0.0, start - time.monotonic()))
        spies = {svc: (start_py_spy(pid, PROFILE_S, out_dir / f"{name}-{svc}.txt")) for svc, pid in workers.items()}
        for spy in spies.values():
            spy.wait(timeout=PROFILE_S + 60)
        counts = load.collect()
        profiles[name] = {"rps": round(counts.ok / PROFILE_S, 1), "loadavg_1m": round(os.getloadavg()[0], 2),
                          **{svc: top_frames(out_dir / f"{name}-{svc}.txt", 25) for svc in PROFILED}}
        for svc in PROFILED:  # the collapsed stacks stay beside the result, compressed (~20x)
            raw = out_dir / f"{name}-{svc}.txt"
            profiles[name][svc]["telemetry_groups_pct"] = group_shares(raw, TELEMETRY_FRAMES)
            raw.with_suffix(".txt.gz").write_bytes(gzip.compress(raw.read_bytes()))
            raw.unlink()
        time.sleep(GAP_S)
    return profiles


def _summary(windows: list[dict[str, Any]]) -> dict[str, Any]:
    rps: dict[str, list[float]] = {"instrumented": [], "off": []}
    cpu_ms: dict[str, list[float]] = {"instrumented": [], "off": []}
    for w in windows:
        rps[w["variant"]].append(w["rps"])
        cpu_ms[w["variant"]].append(w["stack_cpu_ms_per_page"])
    medians = {k: statistics.median(v) for k, v in rps.items()}
    cpu_medians = {k: statistics.median(v) for k, v in cpu_ms.items()}
    # Cost ratio: off's CPU per page over instrumented's, so it reads like the throughput ratio.
    cost = paired_ratios(cpu_ms["off"], cpu_ms["instrumented"])
    per_program: dict[str, dict[str, float]] = {}
    for variant in rps:
        mine = [w["program_cpu_ms_per_page"] for w in windows if w["variant"] == variant]
        per_program[variant] = {prog: round(statistics.median(x[prog] for x in mine), 3) for prog in mine[0]}
    loads = [w["loadavg_1m"] for w in windows]
    others = [w["others_cpu_cores"] for w in windows]
    return {
        "rps_median": {k: round(v, 1) for k, v in medians.items()},
        "rps_windows": rps,
        "ratio_of_medians": round(medians["instrumented"] / medians["off"], 3) if medians["off"] else None,
        "paired_round_ratios": paired_ratios(rps["instrumented"], rps["off"]),
        "stack_cpu_ms_per_page_median": {k: round(v, 3) for k, v in cpu_medians.items()},
        "cpu_cost_ratio_off_over_instrumented": cost,
        "program_cpu_ms_per_page_median": per_program,
        "loadavg_1m_range": [min(loads), max(loads)],
        "others_cpu_cores_range": [min(others), max(others)],
        "others_cpu_cores_median_interval": median_interval(others),
    }


def main() -> None:
    """Run the benchmark and print/write its result."""
    for tool in ("toxiproxy-server", "prometheus", "jaeger"):
        ensure_tool(tool)
    base = Topology.from_env()
    m = machine()
    print(f"machine: {m['cores']} cores, load {m['loadavg_1m']:.2f}; {CLIENTS} clients in {LOAD_PROCS} processes, "
          f"{ROUNDS} rounds of {WARMUP_S:g} s warm-up + {WINDOW_S:g} s measured per variant", flush=True)
    on_env = {}
    if SAMPLE_RATIO:
        on_env = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": SAMPLE_RATIO}
    sampling = f"{float(SAMPLE_RATIO):.0%} of traces" if SAMPLE_RATIO else "every trace"
    backends_text = "with Prometheus and Jaeger" if WITH_BACKENDS else "without Prometheus and Jaeger"
    print(f"instrumented stack records {sampling}, {backends_text}", flush=True)
    windows: list[dict[str, Any]] = []
    profiles: dict[str, Any] = {}
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="slbtel") as tmp, ExitStack() as stacks_cm:
        on = stacks_cm.enter_context(
            running_stack(Path(tmp) / "on", base.with_offset(base.port_offset + ON_SHIFT), observability=WITH_BACKENDS,
                          env=on_env, timeout_s=120)
        )
        off = stacks_cm.enter_context(
            running_stack(Path(tmp) / "off", base.with_offset(base.port_offset + OFF_SHIFT), observability=False,
                          env={"SHOPLAB_TELEMETRY": "off"}, timeout_s=120)
        )
        variants = {"instrumented": on, "off": off}
        roots = {name: read_pid(s.run_dir / "supervisord.pid") for name, s in variants.items()}
        stacks = {name: pid for name, pid in roots.items() if pid}
        paths = {name: _product_paths(stack) for name, stack in variants.items()}
        programs = {name: _pids(stack) for name, stack in variants.items()}
        load = stacks_cm.enter_context(ClosedLoop(LOAD_PROCS, max(1, CLIENTS // LOAD_PROCS)))
        backends = Backends(on, WITH_BACKENDS)
        for name, stack in variants.items():  # first requests: imports, pools, caches
            run_window(load, stack, paths[name], stacks, measure_s=1.0, warmup_s=FIRST_WARMUP_S)
        for r in range(ROUNDS):
            # Alternate which variant goes first, so neither always gets the fresher machine.
            order = list(variants) if r % 2 == 0 else list(reversed(variants))
            for name in order:
                backends.set(name == "instrumented")
                w = run_window(load, variants[name], paths[name], stacks, programs[name])
                spent = w.pop("_spent")
                w.update(variant=name, round=r + 1, stack_cpu_ms_per_page=round(1000 * spent[name] / w["ok"], 3)
                         if w["ok"] else None)
                windows.append(w)
                time.sleep(GAP_S)
            now = windows[-2:] if windows[-1]["variant"] == "off" else windows[-1:-3:-1]
            print(f"round {r + 1}/{ROUNDS}: instrumented {now[0]['rps']:.0f} req/s "
                  f"({now[0]['stack_cpu_ms_per_page']} ms CPU/page), off {now[1]['rps']:.0f} req/s "
                  f"({now[1]['stack_cpu_ms_per_page']} ms CPU/page); load {now[1]['loadavg_1m']}, "
                  f"others {now[1]['others_cpu_cores']} cores", flush=True)
        if PROFILE_S > 0:
            out_dir = RESULTS_DIR / f"telemetry-profile-{stamp}"
            out_dir.mkdir(parents=True, exist_ok=True)
            profiles = _profile(load, variants, paths, backends, stacks, out_dir)
        backends.set(True)
    result: dict[str, Any] = {
        "workers": base.workers, "threads": base.threads,
        "clients": CLIENTS, "load_processes": LOAD_PROCS, "sampled": sampling, "backends": backends_text,
        "backends_paused_during_off_windows": WITH_BACKENDS, "window_s": WINDOW_S, "warmup_s": WARMUP_S,
        "gap_s": GAP_S, "rounds": ROUNDS, "aim_ratio": AIM_RATIO,
    }
    if windows:
        result.update(_summary(windows))
        result["windows"] = windows
    if profiles:
        result["profiles"] = profiles
    path = write_result("telemetry", result, path=RESULTS_DIR / f"telemetry-{stamp}.json")
    if windows:
        pr = result["paired_round_ratios"]
        interval = pr["median_interval"] or {}
        print(f"gateway product page throughput: instrumented {result['rps_median']['instrumented']:.0f} req/s vs "
              f"off {result['rps_median']['off']:.0f} req/s; paired ratio median {pr['median']} "
              f"(95 % interval {interval.get('low')}-{interval.get('high')}, range {pr['min']}-{pr['max']}, "
              f"n={len(pr['per_round'])}); ratio of medians {result['ratio_of_medians']} (aim >= {AIM_RATIO}); "
              f"CPU per page off/instrumented {result['cpu_cost_ratio_off_over_instrumented']['median']}; "
              f"load {result['loadavg_1m_range']}; {sampling} recorded")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
