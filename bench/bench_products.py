"""Gateway ``GET /api/v1/products`` throughput over a bare Flask app serving the same bytes (aim: >= 0.40).

``python -m bench products`` starts a native stack (port offset ``SHOPLAB_PORT_OFFSET`` + 85, as
shipped: instrumentation on, Prometheus and Jaeger running) and, beside it, a bare Flask app
under the gateway's own gunicorn command line (same worker class, workers, threads,
timeouts) answering with the gateway's body. The same closed-loop httpx clients drive
short windows that alternate between the two, ``BENCH_PRODUCTS_ROUNDS`` times; the figure
is the ratio of the median throughputs, with every window's load average recorded.
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

import httpx

from bench import machine, paired_ratios, write_result
from loadtests.api import free_port
from shop.kit.public_api import V1
from shop.topology import Topology
from shoplab.runtime.polling import poll_until
from shoplab.runtime.stack import running_stack

CLIENTS = int(os.environ.get("BENCH_PRODUCTS_CLIENTS", "8"))
WINDOW_S = float(os.environ.get("BENCH_PRODUCTS_WINDOW_S", "4"))
ROUNDS = int(os.environ.get("BENCH_PRODUCTS_ROUNDS", "5"))
WARMUP_S = 2.0
AIM_RATIO = 0.40


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


def bare_command(gateway_cmd: list[str], port: int) -> list[str]:
    """Return the gateway's gunicorn command line serving the bare app on ``port`` instead."""
    cmd = list(gateway_cmd)
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    cmd[-1] = "bench.bare_flask:create_app()"
    return cmd


def main() -> None:
    """Measure both, interleaved, and print and write the ratio."""
    m = machine()
    print(f"machine: {m['cores']} cores, load {m['loadavg_1m']:.2f} (shared: other work may run); "
          f"{CLIENTS} clients, {ROUNDS} x {WINDOW_S:.0f} s windows each", flush=True)
    base = Topology.from_env()
    with tempfile.TemporaryDirectory(prefix="slbprod") as tmp, running_stack(
        Path(tmp) / "stack", base.with_offset(base.port_offset + 85), observability=True, timeout_s=120
    ) as stack:
        gateway = stack.service_url("gateway") + V1.products
        body = httpx.get(gateway, timeout=10)
        body.raise_for_status()
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body.content)
        gw_prog = next(p for p in stack.programs() if p.name == "gateway")
        port = free_port()
        bare = subprocess.Popen(bare_command(list(gw_prog.command), port),
                                env={**os.environ, "BARE_BODY_FILE": str(body_file)})
        try:
            bare_url = f"http://127.0.0.1:{port}{V1.products}"
            poll_until(lambda: httpx.get(bare_url, timeout=2).content == body.content, timeout_s=30,
                       interval_s=0.2, message="the bare Flask app to answer the gateway's body")
            urls = {"gateway": gateway, "bare_flask": bare_url}
            for url in urls.values():
                run_window(url, WARMUP_S)
            rps: dict[str, list[float]] = {n: [] for n in urls}
            loads: dict[str, list[float]] = {n: [] for n in urls}
            errors = dict.fromkeys(urls, 0)
            for r in range(ROUNDS):
                for name in (list(urls) if r % 2 == 0 else list(reversed(urls))):
                    ok, bad = run_window(urls[name], WINDOW_S)
                    rps[name].append(ok / WINDOW_S)
                    loads[name].append(round(os.getloadavg()[0], 2))
                    errors[name] += bad
                print(f"round {r + 1}/{ROUNDS}: gateway {rps['gateway'][-1]:.0f} req/s, "
                      f"bare Flask {rps['bare_flask'][-1]:.0f} req/s", flush=True)
        finally:
            bare.terminate()
            bare.wait(timeout=15)
    medians = {n: statistics.median(v) for n, v in rps.items()}
    ratio = medians["gateway"] / medians["bare_flask"] if medians["bare_flask"] else 0.0
    result = {
        "clients": CLIENTS, "window_s": WINDOW_S, "rounds": ROUNDS, "body_bytes": len(body.content),
        "gunicorn": bare_command(list(gw_prog.command), port)[2:-1],
        "rps_median": {k: round(v, 1) for k, v in medians.items()},
        "rps_windows": {k: [round(x, 1) for x in v] for k, v in rps.items()},
        "loadavg_1m_per_window": loads, "non_200_answers": errors,
        "ratio_gateway_over_bare_flask": round(ratio, 3),
        "paired_round_ratios": paired_ratios(rps["gateway"], rps["bare_flask"]), "aim_ratio": AIM_RATIO,
    }
    path = write_result("products", result)
    print(f"gateway GET {V1.products} {medians['gateway']:.0f} req/s vs bare Flask {medians['bare_flask']:.0f} req/s "
          f"→ ratio {ratio:.3f} (aim >= {AIM_RATIO}) on {m['cores']} cores, {len(body.content)}-byte body")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
