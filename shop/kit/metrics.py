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
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request
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

from shop.kit.telemetry import EXCLUDED_PATHS, get_trace_ids, is_enabled

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


def _route_of_request() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED_ROUTE


def init_app(app: Flask, env: Mapping[str, str] | None = None) -> None:
    """Add ``/metrics`` to ``app`` and, unless telemetry is off, measure every request (RED)."""
    # ``_created`` samples would double the series Prometheus stores for no chart we draw.
    disable_created_metrics()
    if "metrics" not in app.view_functions:

        @app.get("/metrics")
        def metrics() -> Response:
            """Expose this process's metrics (OpenMetrics when asked, for exemplars)."""
            body, content_type = render_metrics(request.headers.get("Accept"))
            return Response(body, content_type=content_type)

    if not is_enabled(env):
        return
    service = app.name
    inst = get_instruments()
    # Label sets resolved once per (method, route, status): .labels() hashes and locks on every call.
    in_flight = inst.http_in_flight.labels(service=service)
    counters: dict[tuple[str, str, int], Any] = {}
    histograms: dict[tuple[str, str], Any] = {}

    @app.before_request
    def _start_timer() -> None:
        if request.path in EXCLUDED_PATHS:
            return
        g.metrics_started = time.perf_counter()
        in_flight.inc()

    @app.after_request
    def _observe(resp: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is None:
            return resp
        in_flight.dec()
        elapsed = time.perf_counter() - started
        route, method, status = _route_of_request(), request.method, resp.status_code
        counter = counters.get((method, route, status))
        if counter is None:
            counter = counters[(method, route, status)] = inst.http_requests.labels(
                service=service, method=method, route=route, status=str(status))
        counter.inc()
        histogram = histograms.get((method, route))
        if histogram is None:
            histogram = histograms[(method, route)] = inst.http_duration.labels(
                service=service, method=method, route=route)
        ids = get_trace_ids(sampled_only=True)
        exemplar: dict[str, Any] | None = {"trace_id": ids[0]} if ids else None
        histogram.observe(elapsed, exemplar)
        return resp

    @app.teardown_request
    def _forget(_exc: BaseException | None) -> None:
        # after_request did not run (an error escaped the handlers): still leave in-flight.
        if g.pop("metrics_started", None) is not None:
            in_flight.dec()


def start_worker_metrics_server(port: int, host: str = "127.0.0.1") -> Any:
    """Serve this process's metrics on ``host:port`` from a thread (the orders worker)."""
    server, _thread = start_http_server(port, addr=host)
    return server
