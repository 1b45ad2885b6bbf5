"""Call peer services resiliently: timeouts, deadline, budgeted retries, breaker, bulkhead, fallback.

    client = ResilientClient("catalog", base_url, caller="cart")   # or make_clients(app, settings)
    resp = client.get("/products/1")                  # any 2xx-4xx answer comes back
    resp = client.post("/charges", json=..., idempotency_key=order_id)
    data = client.get("/recommendations/1", fallback=lambda exc: [])

Raises ``DependencyUnavailable`` (503: refused, reset, 5xx, breaker open, bulkhead full)
or ``DependencyTimeout`` (504: timed out, upstream 504, deadline spent), cause kept;
``err.details["reason"]`` says which.

Policy is data (``policy.py``): five profiles ``naive``, ``timeouts``, ``retries`` (unbudgeted:
the retry storm), ``resilient`` and ``adaptive`` (hedged reads, AIMD limits, decorrelated
jitter: ``adaptive.py``; priority load shedding at an entry point: ``shedding.py``); the default comes from ``SHOPLAB_RESILIENCE_PROFILE``;
``PUT /admin/resilience`` switches a running service (``web.py``).

Metrics (labels ``caller``, ``dependency``; retry amplification = attempts / requests):

- ``shoplab_dependency_requests_total{outcome}``: logical calls; outcome is success,
  client_error, server_error, timeout, unavailable, breaker_open, bulkhead_full, deadline_spent
- ``shoplab_dependency_attempts_total{outcome}``: tries; success, client_error,
  server_error, timeout, transport_error, breaker_open
- ``shoplab_dependency_retries_total``: retries scheduled
- ``shoplab_breaker_state``: 0 closed, 1 half-open, 2 open
- ``shoplab_breaker_transitions_total{from_state,to_state}``
- ``shoplab_bulkhead_in_flight``, ``shoplab_bulkhead_rejections_total``
- ``shoplab_retry_budget_exhausted_total``: retries not made for want of a token
- ``shoplab_dependency_fallbacks_total``: failures answered by the caller's fallback
- ``shoplab_deadline_exceeded_requests_total{service}``: incoming work refused, budget spent
- ``shoplab_faults_injected_total{service,route,kind}``: app-level faults (``shop.kit.faults``)
- ``shoplab_hedges_total{result}``: hedged reads sent, won (the copy answered first), skipped
  (no budget); each hedge is also an attempt with outcome ``hedge``
- ``shoplab_adaptive_limit``, ``shoplab_adaptive_limit_rejections_total``: the AIMD limit
  and the calls it refused (request outcome ``limit_reached``)
- ``shoplab_requests_shed_total{service,priority}``: requests refused by priority shedding

Each breaker transition is also a structlog event ``breaker_state_change``. Traces: each
attempt is an OpenTelemetry span (attribute ``shoplab.attempt``; ``breaker_rejected`` event
when the breaker refuses it); the decisions are span events on the caller's current span
(its request span): ``retry``, ``breaker_rejected``, ``bulkhead_rejected``,
``retry_budget_exhausted``, ``fallback``, ``hedge_sent``, ``hedge_won``, ``hedge_skipped``,
``adaptive_limit_changed`` and ``adaptive_limit_rejected``, each naming ``shoplab.dependency``;
a shed request's span has ``request_shed`` naming ``shoplab.priority``.
"""

from __future__ import annotations

from flask import Flask

from shop.kit.config import KitSettings
from shop.kit.resilience.client import Fallback, ResilientClient
from shop.kit.resilience.control import ResilienceControl
from shop.kit.resilience.deadline import DEADLINE_HEADER, deadline_scope
from shop.kit.resilience.policy import PROFILES, DependencyPolicy, Profile
from shop.kit.resilience.upstream import UpstreamStatusError
from shop.kit.resilience.web import get_control, init_app

__all__ = [
    "DEADLINE_HEADER",
    "PROFILES",
    "DependencyPolicy",
    "Fallback",
    "Profile",
    "ResilienceControl",
    "ResilientClient",
    "UpstreamStatusError",
    "deadline_scope",
    "get_control",
    "init_app",
    "make_clients",
]


# Tests hand in-process peers in through ``app.config[PEERS]``: ``{callee: ResilientClient}``.
PEERS = "PEERS"


def make_clients(app: Flask, settings: KitSettings) -> dict[str, ResilientClient]:
    """Build one client per dependency of this service (from ``<CALLEE>_URL``), sharing the app's control.

    A client a test handed in through ``app.config[PEERS]`` replaces the real one.
    """
    control = get_control(app)
    clients = {
        dep: ResilientClient(dep, url, caller=settings.service, control=control)
        for dep, url in settings.dependency_urls.items()
    }
    return {**clients, **app.config.get(PEERS, {})}
