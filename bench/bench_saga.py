"""Time the orders worker draining queued checkouts with a slow payment simulator: concurrency 1 vs 4.

Each run starts its own native stack with ``PAYMENTS_LATENCY_MS=100``, queues ``ORDERS``
checkouts while the worker is stopped, then starts the worker and times until no work is
pending. The ratio of the two drain times is the claim; absolute times depend on the machine.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid

import httpx

from bench import machine, write_result
from shop.topology import Topology
from shoplab.runtime.polling import poll_until
from shoplab.runtime.stack import running_stack

ORDERS = 40
PAYMENTS_LATENCY_MS = 100
PRODUCT_ID = 1


def run_once(concurrency: int, offset: int) -> dict[str, float]:
    """Queue ``ORDERS`` checkouts, start the worker, and time the drain."""
    env = {"PAYMENTS_LATENCY_MS": str(PAYMENTS_LATENCY_MS), "ORDERS_WORKER_CONCURRENCY": str(concurrency)}
    with tempfile.TemporaryDirectory(prefix="slbench") as tmp, \
            running_stack(tmp, Topology(port_offset=offset), observability=False, env=env) as stack, \
            httpx.Client(timeout=30) as http:
        cart, orders = stack.service_url("cart"), stack.service_url("orders")
        admin = stack.admin_headers()
        stack.stop_process("orders-worker")
        for _ in range(ORDERS):
            user = f"bench-{uuid.uuid4().hex[:12]}"
            http.post(f"{cart}/carts/{user}/items", json={"product_id": PRODUCT_ID, "qty": 1}).raise_for_status()
            http.post(f"{orders}/orders", json={"user_id": user}, headers={"X-User-ID": user}).raise_for_status()
        started = time.perf_counter()
        stack.start_process("orders-worker")
        poll_until(lambda: not http.get(f"{orders}/admin/pending", headers=admin).json()["pending_work"],
                   timeout_s=300, message="the worker to drain")
        drain_s = time.perf_counter() - started
        paid = sum(o["status"] == "paid" for o in http.get(f"{orders}/admin/audit", headers=admin).json()["orders"])
    print(f"concurrency {concurrency}: {ORDERS} orders drained in {drain_s:.2f} s ({paid} paid)", flush=True)
    return {"drain_s": round(drain_s, 2), "paid": paid}


def main() -> None:
    """Run both settings side by side and write the ratio."""
    offset = int(os.environ.get("SHOPLAB_PORT_OFFSET", "0")) + 70
    serial = run_once(1, offset)
    parallel = run_once(4, offset)
    result = {
        "orders": ORDERS,
        "payments_latency_ms": PAYMENTS_LATENCY_MS,
        "concurrency_1": serial,
        "concurrency_4": parallel,
        "speedup": round(serial["drain_s"] / parallel["drain_s"], 2),
    }
    path = write_result("saga", result)
    print(f"worker drain with {PAYMENTS_LATENCY_MS} ms payments: concurrency 4 is {result['speedup']}x faster "
          f"than 1 ({serial['drain_s']} s vs {parallel['drain_s']} s, {ORDERS} orders, "
          f"{machine()['cores']} cores)")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
