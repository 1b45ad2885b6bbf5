"""The native shop with real Prometheus and Jaeger: every chart and rule query works, traces and logs line up.

One stack for the module (observability on), one round of traffic: checkouts (paid and
declined), product pages, and two faults so the resilience series exist: an app-level
503 fault on catalog's product route (the gateway retries it) and the
gateway→recommendations proxy disabled (fallbacks, breaker opens).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shop.topology import Topology
from shoplab.runtime import observability
from shoplab.runtime.stack import Stack, running_stack
from shoplab.runtime.tools import ToolMissing, ensure_tool
from tests.support import PollTimeout, poll_until

pytestmark = pytest.mark.observability

# Shifted from the session stack's offset, so both can run in one pytest process
# (the integration tier's side stack uses +50, the stack benchmark +60, ours +20/+35).
OBS_SHIFT = 75
DECLINED_CARD = "4000000000000002"
# The stack carries order events over RabbitMQ (up --broker): notifications' consumer continues the trace.
CHECKOUT_SERVICES = {"gateway", "orders", "catalog", "cart", "orders-worker", "payments", "notifications-consumer"}


@dataclass(frozen=True)
class Traffic:
    """What the traffic round left to look for."""

    checkout_request_id: str
    order_id: str
    started_s: float


@pytest.fixture(scope="module")
def obs_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Run the shop with Prometheus and Jaeger (fail, saying how to install, when a tool is missing)."""
    for tool in ("toxiproxy-server", "prometheus", "jaeger", "rabbitmq-server"):
        try:
            ensure_tool(tool)
        except ToolMissing as exc:
            pytest.fail(str(exc))
    base = Topology.from_env()
    topo = base.with_offset(base.port_offset + OBS_SHIFT)
    with running_stack(tmp_path_factory.mktemp("obs"), topo, observability=True, timeout_s=180, broker=True) as stack:
        yield stack


def _signup(gw: httpx.Client) -> str:
    email = f"obs-{uuid.uuid4().hex[:10]}@example.com"
    resp = gw.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse battery", "name": "Obs"})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["access_token"])


def _checkout(gw: httpx.Client, token: str, product_id: int, *, card: str | None = None, request_id: str | None = None) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    resp = gw.post("/api/v1/cart/items", json={"product_id": product_id, "qty": 1}, headers=auth)
    assert resp.status_code == 200, resp.text
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    if request_id:
        headers["X-Request-ID"] = request_id
    resp = gw.post("/api/v1/checkout", json={"card": card} if card else {}, headers=headers)
    assert resp.status_code == 201, resp.text
    order_id = str(resp.json()["order_id"])

    def final_status() -> str | None:
        status = gw.get(f"/api/v1/orders/{order_id}", headers=auth).json().get("status")
        return status if status in ("paid", "payment_failed", "rejected") else None

    poll_until(final_status, timeout_s=30, message=f"order {order_id} to leave pending")
    return order_id


@pytest.fixture(scope="module")
def traffic(obs_stack: Stack) -> Traffic:
    """Drive one bounded round of traffic with two faults, always removing them."""
    stack = obs_stack
    started = time.time()
    admin = httpx.Client(headers=stack.admin_headers(), timeout=10)
    toxi = httpx.Client(base_url=stack.topology.toxiproxy_url, timeout=10)
    with httpx.Client(base_url=stack.service_url("gateway"), timeout=15) as gw:
        products = gw.get("/api/v1/products").json()["items"]
        assert len(products) >= 3
        ids = [p["id"] for p in products]
        token = _signup(gw)
        bad = gw.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "wrong-password"})
        assert bad.status_code == 401
        for pid in ids[:4]:
            assert gw.get(f"/api/v1/products/{pid}").status_code == 200
        rid = f"obs-checkout-{uuid.uuid4().hex[:8]}"
        order_id = _checkout(gw, token, ids[0], request_id=rid)
        _checkout(gw, token, ids[1], card=DECLINED_CARD)
        catalog_faults = stack.service_url("catalog") + "/admin/faults"
        try:
            # App-level fault: half of catalog's product reads fail, so the gateway retries them.
            fault = {"route": "/products/", "method": "GET", "error_rate": 0.5, "status": 503}
            assert admin.put(catalog_faults, json={"faults": [fault]}).status_code == 200
            for i in range(16):
                gw.get(f"/api/v1/products/{ids[i % len(ids)]}")
        finally:
            admin.delete(catalog_faults).raise_for_status()
        # The round of 503s may have opened the gateway's catalog breaker (resilient): wait until it
        # lets product pages through again, so the next round measures recommendations alone.
        poll_until(lambda: gw.get(f"/api/v1/products/{ids[0]}").status_code == 200, timeout_s=30, interval_s=0.5,
                   message="the gateway's catalog breaker to close after the catalog fault")
        try:
            # Network fault: recommendations unreachable; pages degrade and its breaker opens.
            resp = toxi.post("/proxies/gateway__recommendations", json={"enabled": False})
            assert resp.status_code == 200, resp.text
            for i in range(12):
                assert gw.get(f"/api/v1/products/{ids[i % len(ids)]}").status_code == 200
        finally:
            toxi.post("/proxies/gateway__recommendations", json={"enabled": True}).raise_for_status()
    admin.close()
    toxi.close()
    return Traffic(checkout_request_id=rid, order_id=order_id, started_s=started)


# -- Prometheus ---------------------------------------------------------------------------------


def _prom(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=observability.prometheus_url(stack.topology), timeout=10)


def _query(prom: httpx.Client, expr: str) -> tuple[str | None, list[Any]]:
    """Return (error, result) of an instant query."""
    resp = prom.get("/api/v1/query", params={"query": expr})
    body = resp.json()
    if body.get("status") != "success":
        return f"{body.get('errorType')}: {body.get('error')}", []
    return None, body["data"]["result"]


def test_prometheus_scrapes_every_process_of_the_topology(obs_stack: Stack, traffic: Traffic) -> None:
    expected = set(observability.scrape_targets(obs_stack.topology, broker=True))
    with _prom(obs_stack) as prom:

        def all_up() -> set[str] | None:
            targets = prom.get("/api/v1/targets").json()["data"]["activeTargets"]
            up = {t["labels"]["job"] for t in targets if t["health"] == "up"}
            return up if up >= expected else None

        poll_until(all_up, timeout_s=30, message=f"every target ({', '.join(sorted(expected))}) to be up")


def test_every_dashboard_and_rule_query_is_valid_and_returns_series(obs_stack: Stack, traffic: Traffic) -> None:
    queries = observability.get_dashboard_queries() + observability.get_rule_queries()
    with _prom(obs_stack) as prom:
        invalid: dict[str, str] = {}
        for q in queries:
            error, _ = _query(prom, q.expr)
            if error:
                invalid[q.source] = error
        assert not invalid, "invalid PromQL:\n" + "\n".join(f"- {s}: {e}" for s, e in invalid.items())
        # An alert's expression is empty unless it fires (that is its meaning); alerts are
        # checked for validity above and for health below, their inputs by the recording rules.
        pending = {q.source: q.expr for q in queries if q.kind != "alert"}

        def every_query_returns_series() -> bool:
            for source, expr in list(pending.items()):
                if _query(prom, expr)[1]:
                    del pending[source]
            return not pending

        with contextlib.suppress(PollTimeout):  # the assertion below names what is missing
            poll_until(every_query_returns_series, timeout_s=90, interval_s=1.0, message="every query to return series")
        assert not pending, "queries that return no series after the traffic round:\n" + "\n".join(
            f"- {s}: {e}" for s, e in pending.items()
        )
        groups = prom.get("/api/v1/rules").json()["data"]["groups"]
        unhealthy = [
            f"{r['name']}: {r.get('lastError')}" for g in groups for r in g["rules"] if r.get("health") == "err"
        ]
        assert not unhealthy, unhealthy
        loaded = {r["name"] for g in groups for r in g["rules"]}
        assert loaded >= {q.source.rsplit(" ", 1)[1] for q in queries if q.kind in ("record", "alert")}


def test_latency_exemplars_reach_prometheus_with_trace_ids(obs_stack: Stack, traffic: Traffic) -> None:
    with _prom(obs_stack) as prom:

        def exemplars() -> list[Any] | None:
            resp = prom.get(
                "/api/v1/query_exemplars",
                params={
                    "query": 'shoplab_http_request_duration_seconds_bucket{service="gateway"}',
                    "start": traffic.started_s - 60,
                    "end": time.time() + 60,
                },
            )
            found = [e for series in resp.json()["data"] for e in series["exemplars"]]
            return found or None

        found = poll_until(exemplars, timeout_s=30, message="gateway latency exemplars in Prometheus")
    assert all(len(e["labels"]["trace_id"]) == 32 for e in found)


def test_every_processes_metrics_pass_promtool_check_metrics(obs_stack: Stack, traffic: Traffic) -> None:
    try:
        promtool = ensure_tool("promtool")
    except ToolMissing as exc:
        pytest.fail(str(exc))
    urls = {name: obs_stack.service_url(name) for name in obs_stack.topology.service_names}
    urls["orders-worker"] = f"http://{obs_stack.topology.host}:{obs_stack.topology.worker_metrics_port}"
    failures = {}
    for name, url in urls.items():
        body = httpx.get(url + "/metrics", timeout=10).text
        assert "shoplab_" in body, f"{name} exposes none of the shop's metrics"
        result = subprocess.run([str(promtool), "check", "metrics"], input=body, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            failures[name] = (result.stdout + result.stderr).strip()
    assert not failures, "promtool check metrics failed:\n" + "\n".join(f"- {n}: {o}" for n, o in failures.items())


def test_status_lists_prometheus_and_jaeger_with_their_urls(obs_stack: Stack) -> None:
    status = {s.name: s for s in obs_stack.status()}
    assert status["prometheus"].url == observability.prometheus_url(obs_stack.topology)
    assert status["jaeger"].url == observability.jaeger_url(obs_stack.topology)
    assert status["prometheus"].is_up and status["jaeger"].is_up


# -- Jaeger and logs -------------------------------------------------------------------------------


def _jaeger(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=observability.jaeger_url(stack.topology), timeout=10)


def _services_of(trace: dict[str, Any]) -> set[str]:
    return {p["serviceName"] for p in trace["processes"].values()}


def _find_checkout_trace(stack: Stack, traffic: Traffic) -> dict[str, Any]:
    tags = json.dumps({"shoplab.request_id": traffic.checkout_request_id})
    with _jaeger(stack) as jaeger:

        def complete_trace() -> dict[str, Any] | None:
            found = jaeger.get("/api/traces", params={"service": "gateway", "tags": tags, "limit": 5}).json()["data"]
            if not found:
                return None
            trace = jaeger.get(f"/api/traces/{found[0]['traceID']}").json()["data"][0]
            return trace if _services_of(trace) >= CHECKOUT_SERVICES else None

        return poll_until(
            complete_trace, timeout_s=45, interval_s=0.5,
            message=f"the checkout trace in Jaeger with spans from {sorted(CHECKOUT_SERVICES)}",
        )


def test_a_checkout_is_one_trace_from_the_gateway_through_the_worker(obs_stack: Stack, traffic: Traffic) -> None:
    trace = _find_checkout_trace(obs_stack, traffic)
    processes = trace["processes"]
    by_service: dict[str, list[str]] = {}
    for span in trace["spans"]:
        by_service.setdefault(processes[span["processID"]]["serviceName"], []).append(span["operationName"])
    assert "POST /api/v1/checkout" in by_service["gateway"]
    # The worker's calls to payments are server spans of payments in this trace; its events reach
    # notifications through RabbitMQ, and the consumer's span is a child of the relay's publishing span.
    assert any(op.startswith("POST /charges") for op in by_service["payments"]), by_service["payments"]
    # The relay's span ends after the broker's confirm, so its batch may reach Jaeger after the consumer's.
    trace_id = trace["traceID"]

    def consumer_span_with_parent() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
        with _jaeger(obs_stack) as jaeger:
            full = jaeger.get(f"/api/traces/{trace_id}").json()["data"][0]
        spans = {s["spanID"]: s for s in full["spans"]}
        for span in full["spans"]:
            if span["operationName"] != "notifications.consume order.paid":
                continue
            # The span's parent is the relay's span, which it also links to (like the worker's own
            # spans): Jaeger then shows that one reference as FOLLOWS_FROM instead of CHILD_OF.
            for ref in span["references"][:1]:
                if ref["spanID"] in spans:
                    return full, span, spans[ref["spanID"]]
        return None

    trace, consumed, parent = poll_until(consumer_span_with_parent, timeout_s=30, interval_s=1.0,
                                         message="the consumer's span and its parent in the checkout trace")
    processes = trace["processes"]
    assert processes[consumed["processID"]]["serviceName"] == "notifications-consumer"
    assert parent["operationName"] == "orders.outbox.deliver order.paid"
    assert processes[parent["processID"]]["serviceName"] == "orders-worker"
    span_ids = {s["spanID"] for s in trace["spans"]}
    orphans = [s["operationName"] for s in trace["spans"] if any(r["spanID"] not in span_ids for r in s["references"] if r["refType"] == "CHILD_OF")]
    assert not orphans, f"spans whose parent is missing from the trace: {orphans}"


def test_a_log_line_of_the_checkout_carries_its_trace_id(obs_stack: Stack, traffic: Traffic) -> None:
    trace = _find_checkout_trace(obs_stack, traffic)
    log_file = Path(obs_stack.log_dir) / "gateway.log"
    lines = []
    for raw in log_file.read_text().splitlines():
        if not raw.startswith("{"):
            continue
        line = json.loads(raw)
        if line.get("request_id") == traffic.checkout_request_id:
            lines.append(line)
    assert lines, f"no gateway log line with request_id {traffic.checkout_request_id}"
    assert {line.get("trace_id") for line in lines} == {trace["traceID"]}
    assert all(line["service"] == "gateway" and len(line.get("span_id", "")) == 16 for line in lines)


def _tag(span: dict[str, Any], key: str) -> Any:
    return next((t["value"] for t in span["tags"] if t["key"] == key), None)


def test_a_retried_call_shows_each_attempt_as_a_span(obs_stack: Stack, traffic: Traffic) -> None:
    with _jaeger(obs_stack) as jaeger:

        def retried_calls() -> list[list[int]] | None:
            traces = jaeger.get(
                "/api/traces", params={"service": "gateway", "limit": 300, "start": int(traffic.started_s * 1e6)}
            ).json()["data"]
            calls: dict[tuple[str, str, str], list[int]] = {}
            for trace in traces:
                for span in trace["spans"]:
                    attempt = _tag(span, "shoplab.attempt")
                    if attempt is None or not span["references"]:
                        continue
                    key = (trace["traceID"], span["references"][0]["spanID"], str(_tag(span, "shoplab.dependency")))
                    calls.setdefault(key, []).append(int(attempt))
            found = [sorted(attempts) for attempts in calls.values() if max(attempts) >= 2]
            return found or None

        found = poll_until(retried_calls, timeout_s=30, interval_s=0.5, message="a gateway call retried into several attempt spans")
    # Each retried call shows every attempt, numbered from 1, as its own span.
    assert all(attempts == list(range(1, len(attempts) + 1)) for attempts in found), found


def test_a_slow_consumer_edge_shows_as_queue_depth_and_delivery_lag_in_prometheus(obs_stack: Stack,
                                                                                 traffic: Traffic) -> None:
    # Last in the module: it slows the consumer edge, then removes the toxics.
    edge = next(e for e in obs_stack.topology.broker_edges if e.callee == "notifications")
    depth = 'max(shoplab_broker_queue_depth{queue="notifications.order-events"})'
    lag = "max(shoplab_notifications_consumer_last_delivery_lag_seconds)"
    assert {depth.split("{")[0].removeprefix("max("), lag.removeprefix("max(").rstrip(")")} <= {
        name for q in observability.get_dashboard_queries() for name in re.findall(r"shoplab_[a-z_]+", q.expr)}
    toxi = httpx.Client(base_url=obs_stack.topology.toxiproxy_url, timeout=10)
    try:
        for stream in ("downstream", "upstream"):
            toxi.post(f"/proxies/{edge.proxy_name}/toxics", json={
                "name": f"slow_{stream}", "type": "latency", "stream": stream,
                "attributes": {"latency": 2000}}).raise_for_status()
        with httpx.Client(base_url=obs_stack.service_url("gateway"), timeout=15) as gw:
            auth = {"Authorization": f"Bearer {_signup(gw)}"}
            for _ in range(30):  # a burst: 60 events against a consumer that acks 2 s late
                assert gw.post("/api/cart/items", json={"product_id": 1, "qty": 1}, headers=auth).status_code == 200
                resp = gw.post("/api/checkout", json={}, headers={**auth, "Idempotency-Key": uuid.uuid4().hex})
                assert resp.status_code == 201, resp.text
        # the highest value of the last minute: a backlog can drain between two scrapes
        depth = 'max(max_over_time(shoplab_broker_queue_depth{queue="notifications.order-events"}[1m]))'
        lag = "max(max_over_time(shoplab_notifications_consumer_last_delivery_lag_seconds[1m]))"
        with _prom(obs_stack) as prom:
            def above(expr: str, bound: float) -> bool:
                _error, result = _query(prom, expr)
                return bool(result) and float(result[0]["value"][1]) > bound

            poll_until(lambda: above(depth, 0), timeout_s=60, interval_s=1.0,
                       message="Prometheus to see the queue back up behind the slow consumer")
            poll_until(lambda: above(lag, 1.99), timeout_s=60, interval_s=1.0,
                       message="Prometheus to see a delivery lag of at least the edge's 2 s")
    finally:
        toxi.post("/reset").raise_for_status()
        toxi.close()
