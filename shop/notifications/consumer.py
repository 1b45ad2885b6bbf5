"""Consume order events from RabbitMQ (``SHOPLAB_EVENTS=amqp``) and apply each once.

``python -m shop.notifications.consumer`` reads the notifications env (``RABBITMQ_URL``:
the way to the broker, through the broker→consumer proxy; ``RABBITMQ_ADMIN_URL``: the
broker directly, for queue depths), serves Prometheus metrics on
``NOTIFICATIONS_CONSUMER_METRICS_PORT`` and consumes until SIGTERM/SIGINT:

- manual acks, at most ``NOTIFICATIONS_PREFETCH`` (default 16) unacked messages;
- the handler is the HTTP API's (``NotificationService.receive``), idempotent by event id,
  so a redelivery after a lost ack takes effect once;
- a message that cannot be parsed is recorded, rejected without requeue and so routed to
  the dead-letter queue by the broker: set aside once, never retried forever;
- the checkout's trace continues here: the message headers carry the relay's context;
- when the broker goes away, it reconnects with a capped backoff.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pika
import structlog
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from shop.kit import broker
from shop.kit.metrics import record_notification, start_worker_metrics_server
from shop.kit.process import start_process, stop_on_signals
from shop.kit.telemetry import start_span_from_carrier
from shop.notifications.bootstrap import build_service
from shop.notifications.config import Settings
from shop.notifications.model import UnparseableEvent
from shop.notifications.service import NotificationService, parse_event

log = structlog.get_logger(__name__)

CONSUMER_NAME = "notifications-consumer"
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)


class ConsumerMetrics:
    """The consumer's instruments (queue depth, delivery lag, outcomes)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.consumed = Counter("shoplab_notifications_consumer_messages",
                                "Messages the consumer handled, by outcome (applied, duplicate, dead_lettered, "
                                "requeued).", ["outcome"], registry=self.registry)
        self.lag = Histogram("shoplab_notifications_consumer_delivery_lag_seconds",
                             "From the relay's publish to the consumer's handling of a message.",
                             buckets=LAG_BUCKETS, registry=self.registry)
        self.last_lag = Gauge("shoplab_notifications_consumer_last_delivery_lag_seconds",
                              "Delivery lag of the last message handled.", registry=self.registry)
        self.queue_depth = Gauge("shoplab_broker_queue_depth",
                                 "Ready messages in a queue, as the broker reports them.", ["queue"],
                                 registry=self.registry)
        self.connected = Gauge("shoplab_notifications_consumer_connected",
                               "1 while the consumer holds a channel to the broker.", registry=self.registry)


class Consumer:
    """Apply messages with ``service``; ack, dead-letter or requeue each one."""

    def __init__(self, service: NotificationService, metrics: ConsumerMetrics, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self.metrics = metrics
        self.clock = clock

    def handle(self, body: bytes, message_id: str, headers: Mapping[str, Any]) -> str:
        """Handle one message body; return its outcome (``applied``, ``duplicate`` or ``dead_lettered``).

        Raises whatever the store raises (the caller requeues the message then).
        """
        published_ms = headers.get(broker.PUBLISHED_AT_HEADER)
        if isinstance(published_ms, str | bytes) and published_ms.isdigit():
            lag = max(0.0, self.clock() - int(published_ms) / 1000)
            self.metrics.lag.observe(lag)
            self.metrics.last_lag.set(lag)
        try:
            event = parse_event(body)
        except UnparseableEvent as exc:
            self.service.set_aside(message_id or "(no message id)", str(exc), body)
            log.error("event_dead_lettered", message_id=message_id, reason=str(exc))
            return "dead_lettered"
        carrier = {k: v for k, v in headers.items() if isinstance(v, str)}
        with start_span_from_carrier(f"notifications.consume {event['type']}", carrier,
                                     attributes={"shoplab.event_id": event["event_id"],
                                                 "messaging.system": "rabbitmq",
                                                 "messaging.destination.name": broker.QUEUE}):
            _record, applied = self.service.receive(**event)
        record_notification(event["type"], duplicate=not applied)
        return "applied" if applied else "duplicate"

    def on_message(self, channel: BlockingChannel, method: Basic.Deliver, props: BasicProperties,
                   body: bytes) -> None:
        """pika's callback: handle, then ack (or reject to the dead-letter queue, or requeue)."""
        try:
            outcome = self.handle(body, props.message_id or "", props.headers or {})
        except Exception:
            # A locked database or a bug: the message stays, it is redelivered and applied once.
            log.exception("event_handling_failed", message_id=props.message_id)
            channel.basic_nack(method.delivery_tag, requeue=True)
            self.metrics.consumed.labels(outcome="requeued").inc()
            return
        if outcome == "dead_lettered":
            channel.basic_reject(method.delivery_tag, requeue=False)
        else:
            channel.basic_ack(method.delivery_tag)
        self.metrics.consumed.labels(outcome=outcome).inc()


class Runner:
    """Keep one consuming connection up until stopped; watch the queue depths beside it."""

    def __init__(self, consumer: Consumer, url: str, admin_url: str, *, prefetch: int) -> None:
        self.consumer = consumer
        self.url = url
        self.admin_url = admin_url
        self.prefetch = prefetch
        self.stop_event = threading.Event()
        self._conn: pika.BlockingConnection | None = None

    def run(self) -> None:
        """Consume, reconnecting with a capped backoff whenever the broker goes away."""
        threading.Thread(target=self._watch_depths, name="queue-depths", daemon=True).start()
        backoff = 0.2
        while not self.stop_event.is_set():
            try:
                self._consume()
                backoff = 0.2
            except broker.RECONNECT_ERRORS as exc:
                log.warning("consumer_disconnected", error=f"{type(exc).__name__}: {exc}")
            self.consumer.metrics.connected.set(0)
            self.stop_event.wait(backoff)
            backoff = min(2.0, backoff * 2)

    def _consume(self) -> None:
        conn = broker.connect(self.url)
        self._conn = conn
        try:
            channel = conn.channel()
            broker.declare(channel)
            channel.basic_qos(prefetch_count=self.prefetch)
            channel.basic_consume(broker.QUEUE, self.consumer.on_message, auto_ack=False)
            self.consumer.metrics.connected.set(1)
            log.info("consumer_connected", queue=broker.QUEUE, prefetch=self.prefetch)
            while not self.stop_event.is_set():
                conn.process_data_events(time_limit=0.5)
        finally:
            self._conn = None
            if conn.is_open:
                try:
                    conn.close()
                except broker.BROKER_ERRORS:
                    pass

    def _watch_depths(self) -> None:
        conn: pika.BlockingConnection | None = None
        channel: BlockingChannel | None = None
        while not self.stop_event.is_set():
            try:
                if conn is None or not conn.is_open or channel is None or not channel.is_open:
                    conn = broker.connect(self.admin_url)
                    channel = conn.channel()
                for queue, depth in broker.queue_depths(channel).items():
                    self.consumer.metrics.queue_depth.labels(queue=queue).set(depth)
                conn.process_data_events(time_limit=0)  # answer the broker's heartbeats
            except broker.RECONNECT_ERRORS as exc:
                log.debug("queue_depth_unavailable", error=f"{type(exc).__name__}: {exc}")
                conn = channel = None
            self.stop_event.wait(1.0)

    def stop(self) -> None:
        """Ask the loop to end after the current message."""
        self.stop_event.set()


def build_runner(settings: Settings, *, metrics: ConsumerMetrics | None = None) -> Runner:
    """Wire the real store and service into a consumer runner."""
    if not settings.amqp_url:
        raise SystemExit("the notifications consumer needs RABBITMQ_URL")
    consumer = Consumer(build_service(settings), metrics or ConsumerMetrics())
    return Runner(consumer, settings.amqp_url, settings.amqp_admin_url or settings.amqp_url,
                  prefetch=settings.prefetch)


def main() -> None:
    """Start the consumer process: metrics server, signal handlers, loop."""
    settings = Settings.from_env()
    start_process(CONSUMER_NAME, settings.kit.admin_token)
    runner = build_runner(settings, metrics=ConsumerMetrics(REGISTRY))
    if settings.consumer_metrics_port:
        start_worker_metrics_server(settings.consumer_metrics_port)
    stop_on_signals(CONSUMER_NAME, runner.stop)
    runner.run()


if __name__ == "__main__":
    main()
