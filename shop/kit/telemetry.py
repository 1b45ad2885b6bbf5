"""Set up tracing once per process: OpenTelemetry SDK, one server span per request, W3C propagation.

Business code never touches the SDK: it calls ``get_tracer()`` to open spans, and the
orders worker carries a checkout's context across the outbox with::

    carrier = inject_context()                 # in the request that writes the outbox row
    ...store carrier (a dict with "traceparent") with the row...
    with start_span_from_carrier("deliver order.created", carrier):   # in the worker
        ...calls through ResilientClient (its attempt spans nest under this one)...

Switches (read once, at ``init_app``/``init_process``):

- ``SHOPLAB_TELEMETRY=off`` turns every instrumentation off (the benchmark's baseline);
- ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used verbatim, so it must end in ``/v1/traces``)
  or ``OTEL_EXPORTER_OTLP_ENDPOINT`` (``/v1/traces`` is appended) turns OTLP/HTTP export on;
- ``OTEL_SERVICE_NAME`` names the process (defaults to the service);
- ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` (read by the SDK) sample traces,
  e.g. ``parentbased_traceidratio`` and ``0.1``; the default records every trace.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shop.kit.state import set_component

TELEMETRY_SWITCH = "SHOPLAB_TELEMETRY"
_OFF_VALUES = frozenset({"off", "0", "false", "no", "disabled"})
# Probes and scrapes would drown the traces that matter.
EXCLUDED_PATHS = ("/metrics", "/healthz", "/readyz")


@dataclass(frozen=True)
class TelemetrySettings:
    """What the environment says about tracing in this process."""

    service: str
    enabled: bool
    traces_endpoint: str | None

    @classmethod
    def from_env(cls, service: str, env: Mapping[str, str] | None = None) -> TelemetrySettings:
        """Read the switch, the service name and the OTLP endpoint."""
        source = os.environ if env is None else env
        return cls(
            service=source.get("OTEL_SERVICE_NAME") or service,
            enabled=is_enabled(source),
            traces_endpoint=get_traces_endpoint(source),
        )


def is_enabled(env: Mapping[str, str] | None = None) -> bool:
    """Say whether instrumentation is on (it is unless ``SHOPLAB_TELEMETRY=off``)."""
    source = os.environ if env is None else env
    return (source.get(TELEMETRY_SWITCH) or "on").strip().lower() not in _OFF_VALUES


def get_traces_endpoint(env: Mapping[str, str] | None = None) -> str | None:
    """Return the OTLP/HTTP traces URL, or None when export is not configured."""
    source = os.environ if env is None else env
    verbatim = (source.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or "").strip()
    if verbatim:
        # The signal-specific variable is used as is by the spec: no path is appended.
        return verbatim
    base = (source.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip()
    if base:
        return base.rstrip("/") + "/v1/traces"
    return None


class ForkSafeBatchProcessor(SpanProcessor):
    """Create the BatchSpanProcessor (and its thread) lazily, in the process that ends spans.

    The batch processor's worker thread does not survive ``fork()``: a processor made
    in a gunicorn master before forking would queue spans nobody exports. Building it
    on the first finished span of each pid keeps setup free of threads and fork-safe.
    """

    def __init__(self, exporter_factory: Any) -> None:
        self._exporter_factory = exporter_factory
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._delegate: BatchSpanProcessor | None = None

    def _get_delegate(self) -> BatchSpanProcessor:
        pid = os.getpid()
        delegate = self._delegate
        if delegate is not None and self._pid == pid:
            return delegate
        with self._lock:
            if self._delegate is None or self._pid != pid:
                exporter: SpanExporter = self._exporter_factory()
                # Fewer, larger exports (one POST per 2 s or per 1,024 spans) cost less CPU per
                # span; the queue holds ~8 s of a busy checkout load, so bursts are not dropped.
                self._delegate = BatchSpanProcessor(
                    exporter, schedule_delay_millis=2000, max_queue_size=16_384, max_export_batch_size=1024
                )
                self._pid = pid
            return self._delegate

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Queue the finished span for export."""
        self._get_delegate().on_end(span)

    def shutdown(self) -> None:
        """Flush and stop the exporter of this process, if one was started."""
        if self._delegate is not None and self._pid == os.getpid():
            self._delegate.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export every queued span now."""
        if self._delegate is not None and self._pid == os.getpid():
            return self._delegate.force_flush(timeout_millis)
        return True


_lock = threading.Lock()
_provider: TracerProvider | None = None
_provider_pid: int | None = None


def _make_exporter(endpoint: str) -> Any:
    def factory() -> SpanExporter:
        return OTLPSpanExporter(endpoint=endpoint, timeout=5)

    return factory


def init_process(service: str, env: Mapping[str, str] | None = None) -> TelemetrySettings:
    """Install this process's tracer provider and W3C propagation (ResilientClient injects it per attempt).

    Idempotent per process: the first call names the process's resource. Returns
    the settings it read (``enabled`` False means nothing was installed).
    """
    global _provider, _provider_pid
    settings = TelemetrySettings.from_env(service, env)
    if not settings.enabled:
        return settings
    with _lock:
        if _provider is not None and _provider_pid == os.getpid():
            return settings
        provider = TracerProvider(resource=Resource.create({"service.name": settings.service}))
        if settings.traces_endpoint:
            provider.add_span_processor(ForkSafeBatchProcessor(_make_exporter(settings.traces_endpoint)))
        _provider, _provider_pid = provider, os.getpid()
        # The API refuses to replace a global provider; ours is passed explicitly instead.
        if not isinstance(trace.get_tracer_provider(), TracerProvider):
            trace.set_tracer_provider(provider)
        propagate.set_global_textmap(
            CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
        )
    return settings


def init_app(app: Flask, env: Mapping[str, str] | None = None) -> TelemetrySettings:
    """Set up tracing for ``app``'s process and record the settings on the app.

    The per-request part (server span, RED metrics, access line) is ``shop.kit.request_telemetry``.
    """
    settings = init_process(app.name, env)
    set_component(app, settings)
    return settings


def get_tracer_provider() -> TracerProvider | None:
    """Return this process's tracer provider, or None when telemetry is off or not set up."""
    if _provider is not None and _provider_pid == os.getpid():
        return _provider
    return None


def get_tracer(name: str = "shoplab") -> trace.Tracer:
    """Return a tracer for business code (a no-op tracer when telemetry is off)."""
    provider = get_tracer_provider()
    if provider is None:
        return trace.NoOpTracer()
    return provider.get_tracer(name)


def get_trace_ids(*, sampled_only: bool = False) -> tuple[str, str] | None:
    """Return the current ``(trace_id, span_id)`` as hex, or None outside a span.

    ``sampled_only`` also answers None for a trace the sampler dropped (an exemplar
    must point at a trace Jaeger has; a log line may still carry it for correlation).
    """
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid or (sampled_only and not ctx.trace_flags.sampled):
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def inject_context() -> dict[str, str]:
    """Return the current trace context as W3C headers (``traceparent``, maybe ``tracestate``).

    Store the dict with an outbox row; it is empty when there is no active span.
    """
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(carrier: Mapping[str, str] | None) -> Context:
    """Return the context stored in ``carrier`` (an empty context for None or garbage)."""
    return propagate.extract(dict(carrier or {}))


@contextmanager
def start_span_from_carrier(
    name: str,
    carrier: Mapping[str, str] | None,
    *,
    kind: SpanKind = SpanKind.CONSUMER,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[trace.Span]:
    """Run the block in a span that continues the trace stored in ``carrier``.

    The span is a child of the stored context (one checkout = one trace) and also
    links to it, so the hop through the outbox stays visible in Jaeger. Calls made
    inside the block (httpx) become its children. Without a carrier it starts a new trace.
    """
    parent = extract_context(carrier)
    parent_span_ctx = trace.get_current_span(parent).get_span_context()
    links = [Link(parent_span_ctx, {"shoplab.link": "outbox"})] if parent_span_ctx.is_valid else []
    tracer = get_tracer("shoplab.worker")
    with tracer.start_as_current_span(
        name, context=parent, kind=kind, links=links, attributes=dict(attributes or {})
    ) as span:
        yield span
