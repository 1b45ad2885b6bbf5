"""Poll payments' busy threads and the orders worker's pending work twice a second, while an experiment runs.

    python -m bench.watch_payments OUT.csv        # with the stack's SHOPLAB_PORT_OFFSET; Ctrl-C ends it

Each line: unix time, ``shoplab_http_requests_in_flight{service="payments"}`` (requests
being served by payments' threads; the scrape itself is not counted) and
``shoplab_orders_worker_pending_work`` (pending orders plus undelivered events), empty when
a scrape failed (a stack between runs). ``metastable-retry-storm``'s README figures (at most
6 of payments' 8 threads busy, at most 9 orders pending) come from such a file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

from shop.topology import Topology


def _gauge(text: str, name: str, label: str = "") -> float | None:
    for line in text.splitlines():
        if line.startswith(name) and label in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def _read(http: httpx.Client, url: str, name: str, label: str = "") -> str:
    try:
        value = _gauge(http.get(url).text, name, label)
    except httpx.HTTPError:
        return ""
    return "" if value is None else f"{value:g}"


def main(out: Path, every_s: float = 0.5) -> None:
    """Append one line per ``every_s`` to ``out`` until interrupted."""
    topology = Topology.from_env()
    payments = topology.service_url("payments") + "/metrics"
    worker = topology.worker_metrics_url + "/metrics"
    with httpx.Client(timeout=2.0) as http, out.open("a") as f:
        if f.tell() == 0:
            f.write("unix_time,payments_in_flight,worker_pending_work\n")
        while True:
            t = time.time()
            busy = _read(http, payments, "shoplab_http_requests_in_flight", 'service="payments"')
            pending = _read(http, worker, "shoplab_orders_worker_pending_work")
            f.write(f"{t:.1f},{busy},{pending}\n")
            f.flush()
            time.sleep(max(0.0, every_s - (time.time() - t)))


if __name__ == "__main__":
    try:
        main(Path(sys.argv[1]))
    except KeyboardInterrupt:
        pass
