"""Declare the shop's Prometheus instruments and serve ``/metrics``.

RED per service and route (the route *template*, never the raw path, so ids do not
explode cardinality), latency histograms carrying trace-id exemplars, and the business
counters services record through the ``record_*`` helpers. One registry per process
(prometheus-client's default): gunicorn runs one worker process per service, and
multiprocess mode would drop exemplars.

Exemplars only exist in the OpenMetrics exposition, so ``/metrics`` answers
OpenMetrics when the scraper asks for it (Prometheus does) and the classic text
format otherwise (what ``promtool check metrics`` reads).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.exposition import choose_encoder

# Seconds; the public API's latency SLO threshold (0.5 s) must be a bucket bound.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED_ROUTE = "unmatched"


@dataclass(frozen=True)
class ShopInstruments:
    """RED and business instruments of one process."""

    http_requests: Counter
    http_duration: Histogram
    http_in_flight: Gauge
    orders: Counter
    charges: Counter
    charged_cents: Counter
    notifications: Counter


@functools.cache
def get_instruments() -> ShopInstruments:
    """Return the process-wide instruments, registering them on first call."""
    return ShopInstruments(
        http_requests=Counter(
            "shoplab_http_requests",
            "HTTP requests served, by route template and status code.",
            ["service", "method", "route", "status"],
        ),
        http_duration=Histogram(
            "shoplab_http_request_duration_seconds",
            "Time to serve an HTTP request, by route template.",
            ["service", "method", "route"],
            buckets=LATENCY_BUCKETS_S,
        ),
        http_in_flight=Gauge("shoplab_http_requests_in_flight", "HTTP requests being served right now.", ["service"]),
        orders=Counter("shoplab_orders", "Orders reaching a status (created, paid, payment_failed, rejected).", ["status"]),
        charges=Counter("shoplab_charges", "Charges made by the payment simulator, by outcome.", ["status"]),
        charged_cents=Counter("shoplab_charged_cents", "Money charged successfully, in cents."),
        notifications=Counter(
            "shoplab_notifications", "Events taken in by notifications (sent or duplicate).", ["type", "outcome"]
        ),
    )


def record_order(status: str) -> None:
    """Count an order reaching ``status`` (call once per transition, after the commit).

    Pass the orders service's own status enum (a ``StrEnum``) or its value.
    """
    get_instruments().orders.labels(status=str(status)).inc()


def record_charge(status: str, amount_cents: int = 0) -> None:
    """Count a new charge's outcome (``succeeded`` or ``declined``); repeats of a key are not new."""
    inst = get_instruments()
    inst.charges.labels(status=status).inc()
    if status == "succeeded" and amount_cents > 0:
        inst.charged_cents.inc(amount_cents)


def record_notification(event_type: str, *, duplicate: bool = False) -> None:
    """Count an event taken in by notifications (``duplicate`` when it was seen before)."""
    get_instruments().notifications.labels(type=event_type, outcome="duplicate" if duplicate else "sent").inc()


def render_metrics(
    accept: str | None, registry: CollectorRegistry = REGISTRY
) -> tuple[bytes, str]:
    """Return the exposition body and content type the ``Accept`` header asks for."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def init_app(app: Flask) -> None:
    """Add ``/metrics`` to ``app`` (the RED hooks are ``shop.kit.request_telemetry``'s)."""
    # ``_created`` samples would double the series Prometheus stores for no chart we draw.
    disable_created_metrics()
    if "metrics" not in app.view_functions:

        @app.get("/metrics")
        def metrics() -> Response:
            """Expose this process's metrics (OpenMetrics when asked, for exemplars)."""
            body, content_type = render_metrics(request.headers.get("Accept"))
            return Response(body, content_type=content_type)


def start_worker_metrics_server(port: int, host: str = "127.0.0.1") -> Any:
    """Serve this process's metrics on ``host:port`` from a thread (the orders worker)."""
    server, _thread = start_http_server(port, addr=host)
    return server
