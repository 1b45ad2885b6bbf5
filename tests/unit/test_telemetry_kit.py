"""The telemetry kit: tracing setup and its traps, RED metrics with exemplars, JSON logs without secrets."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator

import httpx
import pytest
import structlog
from flask import Flask
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from shop.kit import logs, metrics, telemetry
from shop.kit.app import create_service_app
from shop.kit.errors import NotFound
from shop.kit.resilience.client import ResilientClient

pytestmark = pytest.mark.unit

ADMIN_TOKEN = "admin-token-0123456789abcdef"
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def _env(**extra: str) -> dict[str, str]:
    return {"SHOPLAB_ADMIN_TOKEN": ADMIN_TOKEN, "SHOPLAB_JWT_SECRET": "jwt-secret-abcdefgh", **extra}


def _make_app(service: str = "catalog", **extra_env: str) -> Flask:
    def setup(app: Flask, _settings: object) -> None:
        @app.get("/things/<int:thing_id>")
        def thing(thing_id: int) -> dict[str, int]:
            if thing_id == 404:
                raise NotFound("no such thing")
            structlog.get_logger("test").info("thing_read", thing_id=thing_id)
            return {"id": thing_id}

    return create_service_app(service, setup=setup, env=_env(**extra_env))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Record the spans this process finishes during one test."""
    telemetry.init_process("catalog", env={})
    provider = telemetry.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.clear()


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# -- tracing ---------------------------------------------------------------------------------


def test_the_traces_endpoint_variable_is_used_verbatim() -> None:
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/custom", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:1"}
    assert telemetry.get_traces_endpoint(env) == "http://127.0.0.1:4318/custom"


def test_the_base_endpoint_gets_the_traces_path_appended() -> None:
    assert telemetry.get_traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/"}) == (
        "http://127.0.0.1:4318/v1/traces"
    )


def test_without_an_endpoint_nothing_is_exported() -> None:
    assert telemetry.get_traces_endpoint({}) is None


def test_the_switch_turns_telemetry_off_and_anything_else_leaves_it_on() -> None:
    assert not telemetry.is_enabled({"SHOPLAB_TELEMETRY": "off"})
    assert not telemetry.is_enabled({"SHOPLAB_TELEMETRY": "0"})
    assert telemetry.is_enabled({"SHOPLAB_TELEMETRY": "on"})
    assert telemetry.is_enabled({})


def test_a_request_is_traced_as_a_server_span_named_by_its_route_and_tagged_with_its_request_id(spans: InMemorySpanExporter) -> None:
    app = _make_app()
    app.test_client().get("/things/7")
    app.test_client().get("/things/8", headers={"X-Request-ID": "req-find-me"})
    server = [s for s in spans.get_finished_spans() if s.name == "GET /things/<int:thing_id>"]
    assert len(server) == 2
    assert server[-1].attributes is not None and server[-1].attributes["shoplab.request_id"] == "req-find-me"


def test_an_incoming_traceparent_continues_the_callers_trace(spans: InMemorySpanExporter) -> None:
    app = _make_app()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    app.test_client().get("/things/1", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
    server = [s for s in spans.get_finished_spans() if s.name.startswith("GET /things")]
    assert server and format(server[-1].context.trace_id, "032x") == trace_id


def test_the_outbox_carrier_carries_the_trace_to_the_worker_span(spans: InMemorySpanExporter) -> None:
    tracer = telemetry.get_tracer("test")
    with tracer.start_as_current_span("checkout") as checkout:
        carrier = telemetry.inject_context()
    assert carrier["traceparent"].startswith("00-")
    with telemetry.start_span_from_carrier("deliver order.created", carrier) as worker_span:
        pass
    assert worker_span.get_span_context().trace_id == checkout.get_span_context().trace_id
    finished = next(s for s in spans.get_finished_spans() if s.name == "deliver order.created")
    assert finished.parent is not None and finished.parent.span_id == checkout.get_span_context().span_id
    assert [link.context.span_id for link in finished.links] == [checkout.get_span_context().span_id]


def test_a_missing_or_garbled_carrier_starts_a_fresh_trace(spans: InMemorySpanExporter) -> None:
    with telemetry.start_span_from_carrier("deliver", {"traceparent": "garbage"}) as span:
        assert span.get_span_context().is_valid
    with telemetry.start_span_from_carrier("deliver", None) as span:
        assert span.get_span_context().is_valid
    assert all(not s.links for s in spans.get_finished_spans() if s.name == "deliver")


def test_the_batch_processor_is_rebuilt_in_a_forked_child_and_exports_there() -> None:
    made: list[tuple[int, InMemorySpanExporter]] = []

    def factory() -> InMemorySpanExporter:
        exporter = InMemorySpanExporter()
        made.append((os.getpid(), exporter))
        return exporter

    processor = telemetry.ForkSafeBatchProcessor(factory)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    assert made == []  # nothing (no thread) until a span ends
    with provider.get_tracer("t").start_as_current_span("in parent"):
        pass
    assert [pid for pid, _ in made] == [os.getpid()]
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        ok = False
        try:
            with provider.get_tracer("t").start_as_current_span("in child"):
                pass
            processor.force_flush(5000)
            pid, exporter = made[-1]
            ok = pid == os.getpid() and [s.name for s in exporter.get_finished_spans()] == ["in child"]
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child did not export its span through its own processor"
    processor.force_flush(5000)
    assert [s.name for s in made[0][1].get_finished_spans()] == ["in parent"]
    processor.shutdown()


# -- metrics -------------------------------------------------------------------------------------


def test_red_metrics_label_the_route_template_not_the_raw_path() -> None:
    app = _make_app()
    before = _sample("shoplab_http_requests_total", service="catalog", method="GET", route="/things/<int:thing_id>", status="200")
    app.test_client().get("/things/12345")
    after = _sample("shoplab_http_requests_total", service="catalog", method="GET", route="/things/<int:thing_id>", status="200")
    assert after == before + 1
    body = app.test_client().get("/metrics").text
    assert "/things/12345" not in body


def test_unknown_paths_share_one_route_label() -> None:
    app = _make_app()
    before = _sample("shoplab_http_requests_total", service="catalog", method="GET", route="unmatched", status="404")
    app.test_client().get("/no/such/path/1")
    app.test_client().get("/no/such/path/2")
    after = _sample("shoplab_http_requests_total", service="catalog", method="GET", route="unmatched", status="404")
    assert after == before + 2


def test_errors_are_counted_with_their_status() -> None:
    app = _make_app()
    labels = {"service": "catalog", "method": "GET", "route": "/things/<int:thing_id>", "status": "404"}
    before = _sample("shoplab_http_requests_total", **labels)
    assert app.test_client().get("/things/404").status_code == 404
    assert _sample("shoplab_http_requests_total", **labels) == before + 1


def test_the_latency_histogram_carries_a_trace_id_exemplar_in_openmetrics(spans: InMemorySpanExporter) -> None:
    app = _make_app()
    client = app.test_client()
    client.get("/things/3")
    resp = client.get("/metrics", headers={"Accept": OPENMETRICS})
    assert resp.content_type.startswith("application/openmetrics-text")
    trace_ids = {format(s.context.trace_id, "032x") for s in spans.get_finished_spans()}
    exemplars = [
        line.split('trace_id="')[1][:32]
        for line in resp.text.splitlines()
        if line.startswith("shoplab_http_request_duration_seconds_bucket") and 'route="/things/<int:thing_id>"' in line and "# {" in line
    ]
    assert exemplars and set(exemplars) & trace_ids
    assert resp.text.rstrip().endswith("# EOF")


def test_metrics_answer_the_classic_text_format_when_openmetrics_is_not_asked_for() -> None:
    resp = _make_app().test_client().get("/metrics")
    assert resp.content_type.startswith("text/plain")
    assert "# EOF" not in resp.text


def test_business_counters_count_by_status() -> None:
    before = _sample("shoplab_charges_total", status="declined")
    metrics.record_charge("succeeded", amount_cents=500)
    metrics.record_charge("declined")
    metrics.record_order("paid")
    metrics.record_notification("order.paid", duplicate=True)
    assert _sample("shoplab_charges_total", status="declined") == before + 1
    assert _sample("shoplab_orders_total", status="paid") >= 1
    assert _sample("shoplab_notifications_total", type="order.paid", outcome="duplicate") >= 1


def test_with_telemetry_off_requests_are_neither_measured_nor_traced(spans: InMemorySpanExporter) -> None:
    app = _make_app("identity", SHOPLAB_TELEMETRY="off")
    app.add_url_rule("/ping", "ping", lambda: {"ok": True})
    labels = {"service": "identity", "method": "GET", "route": "/ping", "status": "200"}
    before = _sample("shoplab_http_requests_total", **labels)
    assert app.test_client().get("/ping").status_code == 200
    assert _sample("shoplab_http_requests_total", **labels) == before
    assert not [s for s in spans.get_finished_spans() if s.name == "GET /ping"]
    assert app.test_client().get("/metrics").status_code == 200


# -- logs ------------------------------------------------------------------------------------------


def _capture_logs(service: str = "catalog") -> io.StringIO:
    stream = io.StringIO()
    logs.configure_logging(service, secrets=(ADMIN_TOKEN,), stream=stream)
    return stream


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_request_logs_json_lines_with_service_request_and_trace_ids(spans: InMemorySpanExporter) -> None:
    app = _make_app()
    stream = _capture_logs()
    app.test_client().get("/things/5", headers={"X-Request-ID": "req-abc"})
    lines = _lines(stream)
    events = {line["event"]: line for line in lines}
    assert {"thing_read", "request"} <= set(events)
    for line in (events["thing_read"], events["request"]):
        assert line["service"] == "catalog"
        assert line["request_id"] == "req-abc"
    server = next(s for s in spans.get_finished_spans() if s.name == "GET /things/<int:thing_id>")
    assert events["thing_read"]["trace_id"] == format(server.context.trace_id, "032x")
    assert len(str(events["thing_read"]["span_id"])) == 16
    assert events["request"]["route"] == "/things/<int:thing_id>" and events["request"]["status"] == 200


def test_secrets_never_reach_the_log() -> None:
    stream = _capture_logs()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    log = structlog.get_logger("test")
    log.info(
        "login",
        password="hunter2-secret",
        headers={"Authorization": f"Bearer {jwt}", "Accept": "application/json"},
        note=f"retrying with token {jwt}",
        admin=f"token is {ADMIN_TOKEN}",
        access_token="abc.def.ghi",
        card="4000000000000002",
    )
    import logging

    logging.getLogger("gunicorn.error").warning("header Authorization: Bearer %s", ADMIN_TOKEN)
    text = stream.getvalue()
    for secret in ("hunter2-secret", jwt, ADMIN_TOKEN, "abc.def.ghi", "4000000000000002"):
        assert secret not in text
    lines = _lines(stream)
    assert len(lines) == 2
    assert lines[0]["headers"] == {"Authorization": "[REDACTED]", "Accept": "application/json"}
    assert lines[1]["logger"] == "gunicorn.error" and lines[1]["service"] == "catalog"


def test_exemplars_only_point_at_sampled_traces_but_logs_keep_the_trace_id() -> None:
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    dropped = SpanContext(trace_id=0xABC, span_id=0xDEF, is_remote=True, trace_flags=TraceFlags(0))
    with trace.use_span(NonRecordingSpan(dropped)):
        assert telemetry.get_trace_ids(sampled_only=True) is None
        assert telemetry.get_trace_ids() == (format(0xABC, "032x"), format(0xDEF, "016x"))


def test_each_attempt_is_one_client_span_whose_context_reaches_the_callee(spans: InMemorySpanExporter) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("traceparent", ""))
        return httpx.Response(503 if len(seen) == 1 else 200, json={})

    client = ResilientClient("catalog", "http://catalog.test", caller="tracetest", profile="resilient",
                             transport=httpx.MockTransport(handler), sleep=lambda _s: None)
    with telemetry.get_tracer("test").start_as_current_span("caller"):
        client.get("/products")
    attempts = [s for s in spans.get_finished_spans() if s.attributes and "shoplab.attempt" in s.attributes]
    assert [s.attributes["shoplab.attempt"] for s in attempts if s.attributes] == [1, 2]
    assert all(s.kind is SpanKind.CLIENT for s in attempts)
    # Each request carries its own attempt span as the parent, and no other span wraps the call.
    assert [h.split("-")[2] for h in seen] == [format(s.context.span_id, "016x") for s in attempts if s.context]
    assert {s.name for s in spans.get_finished_spans()} == {"caller", *(s.name for s in attempts)}


def test_the_access_line_has_the_structlog_shape_and_scrubs_a_token_in_the_path() -> None:
    app = _make_app()
    stream = _capture_logs()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    app.test_client().get(f"/things/404/{jwt}", headers={"X-Request-ID": "req-path"})
    app.test_client().get("/things/7", headers={"X-Request-ID": "req-ok"})
    lines = [line for line in _lines(stream) if line["event"] == "request"]
    assert [line["request_id"] for line in lines] == ["req-path", "req-ok"]
    assert jwt not in json.dumps(lines[0]) and "[REDACTED]" in str(lines[0]["path"])
    assert list(lines[1])[:9] == ["method", "route", "path", "status", "duration_ms", "event", "level",
                                  "timestamp", "service"]
    assert lines[1]["level"] == "info" and str(lines[1]["timestamp"]).endswith("Z")


def test_a_server_span_records_the_status_and_marks_failures_as_errors(spans: InMemorySpanExporter) -> None:
    app = _make_app()

    @app.get("/boom")
    def boom() -> dict[str, int]:
        raise RuntimeError("kaboom")

    client = app.test_client()
    assert client.get("/things/404").status_code == 404
    assert client.get("/boom").status_code == 500
    assert client.get("/no/such/route").status_code == 404
    finished = {s.name: s for s in spans.get_finished_spans()}
    missing = finished["GET /things/<int:thing_id>"]
    assert missing.kind == SpanKind.SERVER and missing.attributes is not None
    assert missing.attributes["http.response.status_code"] == 404 and missing.attributes["http.route"] == "/things/<int:thing_id>"
    assert missing.status.is_ok  # a 4xx is the caller's mistake, not the server's
    assert not finished["GET /boom"].status.is_ok
    assert finished["GET"].attributes is not None and finished["GET"].attributes["url.path"] == "/no/such/route"
