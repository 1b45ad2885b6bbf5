"""What the edge proxies cost: gateway throughput with Toxiproxy on every edge over ``SHOPLAB_PROXIES=off``.

Two native stacks run side by side, one with a proxy on every edge and one whose callers
call their callees directly; closed-loop clients (``bench_products.run_window``) drive the
product page (``GET /api/v1/products/<id>``: gateway→catalog and gateway→recommendations→catalog,
three proxied hops) on each in turn, interleaved and alternating who goes first, for
``BENCH_PROXIES_ROUNDS`` rounds; only full pages count (a degraded page skips a hop). The ratio of the medians is the figure; each round's own
ratio gives its spread.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import httpx

from bench import machine, write_result
from bench.bench_products import run_window
from shop.kit.public_api import V1
from shop.topology import Topology
from shoplab.runtime.polling import poll_until
from shoplab.runtime.stack import running_stack

CLIENTS = int(os.environ.get("BENCH_PROXIES_CLIENTS", "8"))
WINDOW_S = float(os.environ.get("BENCH_PROXIES_WINDOW_S", "5"))
ROUNDS = int(os.environ.get("BENCH_PROXIES_ROUNDS", "6"))
WARMUP_S = 3.0
PRODUCT_ID = 3
# Port shifts of the two stacks beside the session stack (BENCH_PROXIES_SHIFTS=proxied,direct).
_SHIFTS = [int(x) for x in os.environ.get("BENCH_PROXIES_SHIFTS", "20,30").split(",")]
OFFSETS = {"proxied": _SHIFTS[0], "direct": _SHIFTS[1]}


def is_full_page(resp: httpx.Response) -> bool:
    """Count a 200 with its recommendations; a degraded page is cheaper and would flatter the slower stack."""
    return resp.status_code == 200 and not resp.json().get("degraded")


def main() -> None:
    """Measure both stacks, interleaved, and print and write the ratio."""
    m = machine()
    print(f"machine: {m['cores']} cores, load {m['loadavg_1m']:.2f} (shared: other work may run); "
          f"{CLIENTS} clients, {ROUNDS} rounds of {WINDOW_S:.0f} s windows per stack", flush=True)
    base = Topology.from_env()
    with tempfile.TemporaryDirectory(prefix="slbprox") as tmp, ExitStack() as stacks:
        urls: dict[str, str] = {}
        for name, shift in OFFSETS.items():
            topology = replace(base.with_offset(base.port_offset + shift), proxies=name == "proxied")
            stack = stacks.enter_context(
                running_stack(Path(tmp) / name, topology, observability=False, timeout_s=180)
            )
            urls[name] = stack.service_url("gateway") + V1.product(PRODUCT_ID)
        for name, url in urls.items():
            poll_until(lambda url=url: is_full_page(httpx.get(url, timeout=10)), timeout_s=60, interval_s=0.5,
                       message=f"the {name} stack to serve a full product page")
        for url in urls.values():
            run_window(url, WARMUP_S, accept=is_full_page)
        rps: dict[str, list[float]] = {n: [] for n in urls}
        loads: dict[str, list[float]] = {n: [] for n in urls}
        errors = dict.fromkeys(urls, 0)
        for r in range(ROUNDS):
            for name in (list(urls) if r % 2 == 0 else list(reversed(urls))):
                ok, bad = run_window(urls[name], WINDOW_S, accept=is_full_page)
                rps[name].append(ok / WINDOW_S)
                loads[name].append(round(os.getloadavg()[0], 2))
                errors[name] += bad
            print(f"round {r + 1}/{ROUNDS}: proxied {rps['proxied'][-1]:.0f} req/s, "
                  f"direct {rps['direct'][-1]:.0f} req/s", flush=True)
    medians = {n: statistics.median(v) for n, v in rps.items()}
    ratio = medians["proxied"] / medians["direct"] if medians["direct"] else 0.0
    per_round = [p / d for p, d in zip(rps["proxied"], rps["direct"], strict=True) if d]
    result = {
        "route": V1.product("[id]"), "port_shifts": OFFSETS, "clients": CLIENTS, "window_s": WINDOW_S, "rounds": ROUNDS,
        "rps_median": {k: round(v, 1) for k, v in medians.items()},
        "rps_windows": {k: [round(x, 1) for x in v] for k, v in rps.items()},
        "loadavg_1m_per_window": loads, "degraded_or_failed_answers": errors,
        "ratio_proxied_over_direct": round(ratio, 3),
        "ratio_per_round": [round(x, 3) for x in per_round],
        "ratio_per_round_min_max": [round(min(per_round), 3), round(max(per_round), 3)] if per_round else None,
    }
    path = write_result("proxies", result)
    print(f"product page with proxies {medians['proxied']:.0f} req/s vs direct {medians['direct']:.0f} req/s "
          f"→ ratio {ratio:.3f} (per round {min(per_round):.3f}–{max(per_round):.3f}) on {m['cores']} cores")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
