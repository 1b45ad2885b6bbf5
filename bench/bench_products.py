"""Gateway ``GET /api/v1/products`` throughput over a bare Flask app serving the same bytes (aim: >= 0.40).

``python -m bench products`` starts a native stack (port offset ``SHOPLAB_PORT_OFFSET`` + 85, as
shipped: instrumentation on, Prometheus and Jaeger running) and, beside it, under the gateway's
own gunicorn command line (same worker class, workers, threads, timeouts):

- ``bare_flask``: a bare Flask app answering with the gateway's body (the issue's reference);
- ``bare_two_hop``: a bare Flask front that fetches that body per request from a second bare app
  with httpx and hands it on (``bench.bare_flask:create_front``): the floor of any gateway that
  calls its catalog on every request, whatever it does beside.

Closed-loop httpx clients in load processes of their own (``bench.loadgen``, the telemetry bench's
load tool: a client inside the bench's process capped the bare app at what one GIL could send)
drive one window per variant per round, the order rotating each round, ``BENCH_PRODUCTS_ROUNDS``
rounds. Each round gives paired ratios (gateway / bare, two-hop / bare, gateway / two-hop) with a
distribution-free interval for their medians; every window also records the CPU each party spent
per answer (the stack's whole process tree, the gateway's programs one by one, the load
processes), what the rest of the machine used and the load average.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench import machine, median_interval, paired_ratios, write_result
from bench.loadgen import ClosedLoop
from bench.proc_cpu import machine_cpu_s, tree_cpu_s
from loadtests.api import free_port
from shop.kit.public_api import V1
from shop.topology import Topology
from shoplab.runtime.polling import poll_until
from shoplab.runtime.stack import running_stack
from shoplab.runtime.supervisord import read_pid

CLIENTS = int(os.environ.get("BENCH_PRODUCTS_CLIENTS", "8"))
LOAD_PROCS = int(os.environ.get("BENCH_PRODUCTS_LOAD_PROCS", "2"))
WINDOW_S = float(os.environ.get("BENCH_PRODUCTS_WINDOW_S", "6"))
WARMUP_S = float(os.environ.get("BENCH_PRODUCTS_WARMUP_S", "2"))
ROUNDS = int(os.environ.get("BENCH_PRODUCTS_ROUNDS", "8"))
FIRST_WARMUP_S = 5.0
AIM_RATIO = 0.40
VARIANTS = ("gateway", "bare_two_hop", "bare_flask")
GATEWAY_PROGRAMS = ("gateway", "catalog", "toxiproxy", "prometheus", "jaeger")


def run_window(
    url: str, duration_s: float, clients: int = CLIENTS, *, accept: Callable[[httpx.Response], bool] | None = None
) -> tuple[int, int]:
    """Drive ``clients`` closed-loop clients at ``url`` for ``duration_s``; return (accepted answers, others).

    An answer is accepted when ``accept`` says so (default: a 200).
    """
    ok_answer = accept or (lambda resp: resp.status_code == 200)
    deadline = time.monotonic() + duration_s
    counts = [[0, 0] for _ in range(clients)]

    def client(i: int) -> None:
        with httpx.Client(timeout=10) as http:
            while time.monotonic() < deadline:
                try:
                    ok = ok_answer(http.get(url))
                except httpx.HTTPError:
                    ok = False
                counts[i][0 if ok else 1] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def bare_command(gateway_cmd: list[str], port: int, app: str = "bench.bare_flask:create_app()") -> list[str]:
    """Return the gateway's gunicorn command line serving ``app`` on ``port`` instead."""
    cmd = list(gateway_cmd)
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    cmd[-1] = app
    return cmd


def _window(load: ClosedLoop, url: str, parties: dict[str, int], programs: dict[str, int]) -> dict[str, Any]:
    """Drive ``url`` for one window; return its counts and the CPU each party spent per answer in its measured part."""
    start, end = load.start(url, [V1.products], WARMUP_S, WINDOW_S)
    time.sleep(max(0.0, start - time.monotonic()))
    party0 = {name: tree_cpu_s(pid) for name, pid in parties.items()}
    prog0 = {name: tree_cpu_s(pid) for name, pid in programs.items()}
    (busy0, steal0), t0 = machine_cpu_s(), time.monotonic()
    time.sleep(max(0.0, end - time.monotonic()))
    (busy1, steal1), t1 = machine_cpu_s(), time.monotonic()
    party1 = {name: tree_cpu_s(pid) for name, pid in parties.items()}
    prog1 = {name: tree_cpu_s(pid) for name, pid in programs.items()}
    counts = load.collect()
    spent = {name: party1[name] - party0[name] for name in parties}
    others = (busy1 - busy0) - sum(spent.values()) - counts.client_cpu_s
    per_answer = (lambda cpu_s: round(1000 * cpu_s / counts.ok, 3)) if counts.ok else (lambda _cpu_s: None)
    return {
        "ok": counts.ok, "non_200": counts.bad, "rps": round(counts.ok / WINDOW_S, 1),
        "latency_ms_median": counts.latency_ms_median,
        "cpu_ms_per_answer": per_answer(sum(spent.values())),
        "program_cpu_ms_per_answer": {name: per_answer(prog1[name] - prog0[name]) for name in programs},
        "load_procs_cpu_ms_per_answer": per_answer(counts.client_cpu_s),
        "others_cpu_cores": round(max(0.0, others) / (t1 - t0), 3),
        "stolen_cpu_cores": round((steal1 - steal0) / (t1 - t0), 3),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def _start_app(cmd: list[str], env: dict[str, str], url: str, expect: bytes) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env={**os.environ, **env})
    poll_until(lambda: httpx.get(url, timeout=2).content == expect, timeout_s=30, interval_s=0.2,
               message=f"{cmd[-1]} to answer the gateway's body")
    return proc


def _summary(windows: list[dict[str, Any]]) -> dict[str, Any]:
    rps = {v: [w["rps"] for w in windows if w["variant"] == v] for v in VARIANTS}
    cpu = {v: [w["cpu_ms_per_answer"] for w in windows if w["variant"] == v and w["cpu_ms_per_answer"]]
           for v in VARIANTS}
    gateway_programs = [w["program_cpu_ms_per_answer"] for w in windows if w["variant"] == "gateway"]
    medians = {v: statistics.median(x) for v, x in rps.items()}
    loads = [w["loadavg_1m"] for w in windows]
    others = [w["others_cpu_cores"] for w in windows]
    return {
        "rps_median": {v: round(x, 1) for v, x in medians.items()},
        "rps_windows": rps,
        "ratio_gateway_over_bare_flask": round(medians["gateway"] / medians["bare_flask"], 3),
        "paired_round_ratios": {
            "gateway_over_bare_flask": paired_ratios(rps["gateway"], rps["bare_flask"]),
            "bare_two_hop_over_bare_flask": paired_ratios(rps["bare_two_hop"], rps["bare_flask"]),
            "gateway_over_bare_two_hop": paired_ratios(rps["gateway"], rps["bare_two_hop"]),
        },
        "cpu_ms_per_answer_median": {v: round(statistics.median(x), 3) for v, x in cpu.items() if x},
        "gateway_program_cpu_ms_per_answer_median": {
            name: round(statistics.median(p[name] for p in gateway_programs if p[name] is not None), 3)
            for name in gateway_programs[0]} if gateway_programs else {},
        "load_procs_cpu_ms_per_answer_median": {
            v: round(statistics.median(w["load_procs_cpu_ms_per_answer"] for w in windows
                                       if w["variant"] == v and w["load_procs_cpu_ms_per_answer"]), 3)
            for v in VARIANTS},
        "loadavg_1m_range": [min(loads), max(loads)],
        "others_cpu_cores_median_interval": median_interval(others),
    }


def main() -> None:
    """Measure the three, interleaved, and print and write the ratios."""
    m = machine()
    print(f"machine: {m['cores']} cores, load {m['loadavg_1m']:.2f}; {CLIENTS} clients in {LOAD_PROCS} load processes, "
          f"{ROUNDS} rounds of {WARMUP_S:g} s warm-up + {WINDOW_S:g} s measured per variant", flush=True)
    base = Topology.from_env()
    windows: list[dict[str, Any]] = []
    apps: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="slbprod") as tmp, running_stack(
        Path(tmp) / "stack", base.with_offset(base.port_offset + 85), observability=True, timeout_s=120
    ) as stack:
        gateway = stack.service_url("gateway")
        body = httpx.get(gateway + V1.products, timeout=10)
        body.raise_for_status()
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body.content)
        gw_cmd = list(next(p for p in stack.programs() if p.name == "gateway").command)
        ports = {name: free_port() for name in ("bare", "origin", "front")}
        urls = {"gateway": gateway, **{name: f"http://127.0.0.1:{port}" for name, port in ports.items()}}
        try:
            apps.append(_start_app(bare_command(gw_cmd, ports["bare"]), {"BARE_BODY_FILE": str(body_file)},
                                   urls["bare"] + V1.products, body.content))
            apps.append(_start_app(bare_command(gw_cmd, ports["origin"]), {"BARE_BODY_FILE": str(body_file)},
                                   urls["origin"] + V1.products, body.content))
            apps.append(_start_app(bare_command(gw_cmd, ports["front"], "bench.bare_flask:create_front()"),
                                   {"BARE_ORIGIN_URL": urls["origin"]}, urls["front"] + V1.products, body.content))
            status = {s.name: s.pid for s in stack.status() if s.pid}
            root = read_pid(stack.run_dir / "supervisord.pid")
            parties = {"gateway": root or status["gateway"], "bare_flask": apps[0].pid,
                       "origin": apps[1].pid, "front": apps[2].pid}
            programs = {name: status[name] for name in GATEWAY_PROGRAMS if name in status}
            targets = {"gateway": urls["gateway"], "bare_two_hop": urls["front"], "bare_flask": urls["bare"]}
            party_of = {"gateway": ("gateway",), "bare_two_hop": ("front", "origin"), "bare_flask": ("bare_flask",)}
            with ClosedLoop(LOAD_PROCS, max(1, CLIENTS // LOAD_PROCS)) as load:
                for variant in VARIANTS:  # first requests: imports, pools, caches
                    load.start(targets[variant], [V1.products], FIRST_WARMUP_S, 1.0)
                    load.collect()
                for r in range(ROUNDS):
                    order = VARIANTS[r % 3:] + VARIANTS[:r % 3]
                    for variant in order:
                        mine = {p: parties[p] for p in party_of[variant]}
                        w = _window(load, targets[variant], mine, programs if variant == "gateway" else {})
                        w.update(variant=variant, round=r + 1)
                        windows.append(w)
                    now = {w["variant"]: w for w in windows[-3:]}
                    print(f"round {r + 1}/{ROUNDS}: " + ", ".join(
                        f"{v} {now[v]['rps']:.0f} req/s ({now[v]['cpu_ms_per_answer']} ms CPU/answer)" for v in VARIANTS)
                        + f"; load {now[order[-1]]['loadavg_1m']}", flush=True)
        finally:
            for app in apps:
                app.terminate()
            for app in apps:
                app.wait(timeout=15)
    result: dict[str, Any] = {
        "workers": base.workers, "threads": base.threads, "clients": CLIENTS, "load_processes": LOAD_PROCS, "window_s": WINDOW_S, "warmup_s": WARMUP_S,
        "rounds": ROUNDS, "body_bytes": len(body.content), "gunicorn": bare_command(gw_cmd, 0)[2:-1],
        "aim_ratio": AIM_RATIO, **_summary(windows), "windows": windows,
    }
    path = write_result("products", result)
    pr = result["paired_round_ratios"]

    def text(key: str) -> str:
        r = pr[key]
        iv = r["median_interval"] or {}
        return f"{r['median']} (95 % interval {iv.get('low')}-{iv.get('high')}, n={len(r['per_round'])})"

    med = result["rps_median"]
    print(f"GET {V1.products}: gateway {med['gateway']:.0f}, bare two-hop {med['bare_two_hop']:.0f}, "
          f"bare Flask {med['bare_flask']:.0f} req/s on {m['cores']} cores, {len(body.content)}-byte body")
    print(f"paired ratios: gateway / bare Flask {text('gateway_over_bare_flask')} (aim >= {AIM_RATIO}); "
          f"bare two-hop / bare Flask {text('bare_two_hop_over_bare_flask')}; "
          f"gateway / bare two-hop {text('gateway_over_bare_two_hop')}")
    print(f"CPU per answer (ms): {result['cpu_ms_per_answer_median']}; gateway's programs "
          f"{result['gateway_program_cpu_ms_per_answer_median']}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
