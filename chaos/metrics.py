"""Scrape every service's ``/metrics`` and read the resilience series per edge.

Per edge ``<caller>__<dependency>``: logical requests and attempts (retry
amplification = Δattempts / Δrequests) and the breaker state. The series names
follow the resilience kit (``shop/kit/resilience.py``). On a stack with the broker
(``shoplab up --broker``) the notifications consumer's gauges too: the order-event
queue's depth and the last delivery lag (``shop/notifications/consumer.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shop.topology import Topology

REQUESTS_SERIES = "shoplab_dependency_requests_total"
ATTEMPTS_SERIES = "shoplab_dependency_attempts_total"
BREAKER_SERIES = "shoplab_breaker_state"
# The kit's gauge encoding (shop/kit/resilience/instruments.py: 0 closed, 1 half-open, 2 open).
BREAKER_STATES = {0: "closed", 1: "half_open", 2: "open"}
QUEUE_DEPTH_SERIES = "shoplab_broker_queue_depth"
LAG_SERIES = "shoplab_notifications_consumer_last_delivery_lag_seconds"
EVENTS_QUEUE = "notifications.order-events"  # shop.kit.broker.QUEUE: the one the consumer drains
CONSUMER = "notifications-consumer"


@dataclass(frozen=True)
class EdgeCounters:
    """The cumulative resilience counters of one edge at one instant."""

    requests: float = 0.0
    attempts: float = 0.0
    breaker: str | None = None  # closed | open | half_open | None (unknown)


@dataclass(frozen=True)
class BrokerGauges:
    """The order-event queue as the consumer last saw it: ready messages, and the last message's delivery lag."""

    queue_depth: float | None = None
    delivery_lag_s: float | None = None


@dataclass(frozen=True)
class MetricsSnapshot:
    """Every edge's counters, the broker's gauges (with the broker), and the processes that did not answer."""

    edges: Mapping[str, EdgeCounters] = field(default_factory=dict)
    unreachable: tuple[str, ...] = ()
    broker: BrokerGauges | None = None


def parse_broker(text: str) -> BrokerGauges:
    """Read the consumer's queue-depth (order-event queue) and last-lag gauges from one exposition text."""
    depth = lag = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == QUEUE_DEPTH_SERIES and sample.labels.get("queue") == EVENTS_QUEUE:
                depth = sample.value
            elif sample.name == LAG_SERIES:
                lag = sample.value
    return BrokerGauges(depth, lag)


def parse_edges(text: str) -> dict[str, EdgeCounters]:
    """Read the resilience series of one exposition text, keyed by ``caller__dependency``."""
    requests: dict[str, float] = {}
    attempts: dict[str, float] = {}
    breaker: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            caller = sample.labels.get("caller")
            dep = sample.labels.get("dependency")
            if not caller or not dep:
                continue
            edge = f"{caller}__{dep}"
            if sample.name == REQUESTS_SERIES:
                requests[edge] = requests.get(edge, 0.0) + sample.value
            elif sample.name == ATTEMPTS_SERIES:
                attempts[edge] = attempts.get(edge, 0.0) + sample.value
            elif sample.name == BREAKER_SERIES:
                state_label = sample.labels.get("state")
                if state_label is not None:
                    # one series per state, value 1 for the current one
                    if sample.value >= 1:
                        breaker[edge] = state_label
                else:
                    breaker[edge] = BREAKER_STATES.get(int(sample.value), str(sample.value))
    return {
        e: EdgeCounters(requests.get(e, 0.0), attempts.get(e, 0.0), breaker.get(e))
        for e in sorted(set(requests) | set(attempts) | set(breaker))
    }


def merge_edges(parts: Iterable[Mapping[str, EdgeCounters]]) -> dict[str, EdgeCounters]:
    """Add up the counters of processes that share a caller name (orders and its worker)."""
    merged: dict[str, EdgeCounters] = {}
    for part in parts:
        for edge, c in part.items():
            prev = merged.get(edge)
            if prev is None:
                merged[edge] = c
                continue
            state = "open" if "open" in (prev.breaker, c.breaker) else (prev.breaker or c.breaker)
            merged[edge] = EdgeCounters(prev.requests + c.requests, prev.attempts + c.attempts, state)
    return merged


class ShopMetrics:
    """Scrape every service (and the orders worker) of one shop in parallel."""

    def __init__(self, topology: Topology, *, timeout_s: float = 0.8, broker: bool = False,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.topology = topology
        self._targets = {s: topology.service_url(s) + "/metrics" for s in topology.service_names}
        self._targets["orders-worker"] = topology.worker_metrics_url + "/metrics"
        self._broker_url = f"http://{topology.host}:{topology.consumer_metrics_port}/metrics" if broker else None
        self._http = httpx.Client(timeout=timeout_s, transport=transport)
        self._pool = ThreadPoolExecutor(max_workers=len(self._targets) + 1, thread_name_prefix="scrape")

    def _scrape_one(self, name: str, url: str) -> dict[str, EdgeCounters] | None:
        try:
            resp = self._http.get(url)
            resp.raise_for_status()
            return parse_edges(resp.text)
        except (httpx.HTTPError, ValueError):
            return None

    def _scrape_broker(self) -> BrokerGauges | None:
        if self._broker_url is None:
            return None
        try:
            resp = self._http.get(self._broker_url)
            resp.raise_for_status()
            return parse_broker(resp.text)
        except (httpx.HTTPError, ValueError):
            return None

    def scrape(self) -> MetricsSnapshot:
        """Return the edges' counters now; a process that does not answer is listed, not fatal."""
        futures = {name: self._pool.submit(self._scrape_one, name, url) for name, url in self._targets.items()}
        broker = self._pool.submit(self._scrape_broker)
        parts, unreachable = [], []
        for name, fut in futures.items():
            result = fut.result()
            if result is None:
                unreachable.append(name)
            else:
                parts.append(result)
        gauges = broker.result()
        if self._broker_url is not None and gauges is None:
            unreachable.append(CONSUMER)
        return MetricsSnapshot(merge_edges(parts), tuple(unreachable), gauges)

    def close(self) -> None:
        """Stop the scrape threads and close the connection pool."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()
