"""Run the orders worker: drive pending orders through the saga and deliver the outbox.

``python -m shop.orders.worker`` reads the orders env (``<PEER>_URL``,
``SHOPLAB_DATA_DIR``, ...), serves Prometheus metrics on ``ORDERS_WORKER_METRICS_PORT``
(default: topology's worker metrics port at the orders port's offset; 0 disables) and
loops until SIGTERM/SIGINT, advancing up to ``ORDERS_WORKER_CONCURRENCY`` (default 4)
orders at once and following the orders service's resilience profile. All state lives in the database and every step is
idempotent, so the worker can be killed at any point and restarted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

from shop.kit.broker import ConfirmingPublisher
from shop.kit.errors import DependencyError
from shop.kit.metrics import start_worker_metrics_server
from shop.kit.plants import load_env_plants, set_plants
from shop.kit.process import start_process, stop_on_signals
from shop.kit.resilience import ResilienceControl
from shop.kit.resilience.policy import get_default_profile_name
from shop.orders.bootstrap import build_clients, build_store
from shop.orders.clients import EventPublisher
from shop.orders.config import Settings
from shop.orders.model import EventRejected, NotificationsPort, Order, OrderStatus
from shop.orders.service import Saga

log = structlog.get_logger(__name__)

WORKER_NAME = "orders-worker"


class WorkerMetrics:
    """The worker's instruments, in their own registry (the worker is not a Flask app)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.passes = Counter("shoplab_orders_worker_passes", "Worker loop passes.", registry=self.registry)
        self.finished = Counter("shoplab_orders_worker_orders_finished", "Orders the worker ended, by status.",
                                ["status"], registry=self.registry)
        self.step_failures = Counter("shoplab_orders_worker_step_failures",
                                     "Saga steps that failed and wait for the next pass, by dependency.",
                                     ["dependency"], registry=self.registry)
        self.delivered = Counter("shoplab_orders_worker_events_delivered",
                                 "Outbox events delivered to notifications (over AMQP: confirmed by the broker).",
                                 registry=self.registry)
        self.dead_lettered = Counter("shoplab_orders_worker_events_dead_lettered",
                                     "Outbox events notifications refused too often, set aside for an admin.",
                                     registry=self.registry)
        self.dead_letters = Gauge("shoplab_orders_worker_dead_letters",
                                  "Outbox events in the dead-letter state now.", registry=self.registry)
        self.pending_work = Gauge("shoplab_orders_worker_pending_work",
                                  "Pending orders plus undelivered outbox events.", registry=self.registry)


class ProfileFollower:
    """Keep the worker's resilience profile equal to the orders service's.

    Experiments switch a profile through ``PUT /admin/resilience`` on the orders
    service; the saga's calls run here, so the worker reads that setting (at most once
    per ``every_s``) and switches its own clients to match.
    """

    def __init__(self, control: ResilienceControl, fetch: Callable[[], dict[str, Any]], *,
                 every_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.control = control
        self.fetch = fetch
        self.every_s = every_s
        self.clock = clock
        self._next_at = 0.0

    def maybe_sync(self) -> bool:
        """Follow the orders service's profile and overrides when due; say whether they changed."""
        now = self.clock()
        if now < self._next_at:
            return False
        self._next_at = now + self.every_s
        try:
            described = self.fetch()
            profile = str(described["profile"])
            overrides = dict(described.get("overrides") or {})
        except Exception as exc:  # orders down or restarting: keep the current policy
            log.debug("resilience_follow_failed", error=f"{type(exc).__name__}: {exc}")
            return False
        if profile == self.control.profile.name and overrides == self.control.overrides:
            return False
        self.control.switch(profile, overrides)
        log.info("resilience_followed", profile=profile, overrides=overrides)
        return True


@dataclass(frozen=True)
class PassResult:
    """What one pass did."""

    progressed: int
    failed: int
    remaining: int


class Worker:
    """Loop over pending orders and undelivered events until told to stop."""

    def __init__(self, saga: Saga, *, metrics: WorkerMetrics | None = None,
                 poll_interval_s: float = 0.1, idle_max_s: float = 1.0, concurrency: int = 1,
                 profile_follower: ProfileFollower | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.saga = saga
        self.clock = clock
        # Order id -> clock time before which a peer asked us (Retry-After) not to try it again.
        self._not_before: dict[str, float] = {}
        self._not_before_lock = threading.Lock()
        self.profile_follower = profile_follower
        self.metrics = metrics or WorkerMetrics()
        self.poll_interval_s = poll_interval_s
        self.idle_max_s = max(idle_max_s, poll_interval_s)
        self.concurrency = max(1, concurrency)
        self.stop_event = threading.Event()
        self._pool: ThreadPoolExecutor | None = None

    def _advance_one(self, order: Order) -> tuple[str, bool]:
        """Advance one order; return (status, failed) and never raise an Exception."""
        if self.stop_event.is_set():
            return order.status, False
        try:
            return self.saga.advance(order), False
        except DependencyError as exc:
            # Retried on the next pass: the order stays pending, its steps are idempotent.
            self.metrics.step_failures.labels(dependency=exc.dependency).inc()
            retry_after = exc.details.get("retry_after_s") if isinstance(exc.details, dict) else None
            if isinstance(retry_after, int | float) and retry_after > 0:
                with self._not_before_lock:
                    self._not_before[order.order_id] = self.clock() + float(retry_after)
            log.warning("saga_step_failed", order_id=order.order_id, dependency=exc.dependency, error=exc.message)
        except Exception:
            # A bug on one order must not block the others; it stays pending and is logged.
            log.exception("saga_step_crashed", order_id=order.order_id)
        return order.status, True

    def _due(self, orders: list[Order]) -> list[Order]:
        """Drop the orders whose Retry-After has not passed yet (and forget the ones that have)."""
        now = self.clock()
        with self._not_before_lock:
            for order_id in [oid for oid, at in self._not_before.items() if at <= now]:
                del self._not_before[order_id]
            return [o for o in orders if o.order_id not in self._not_before]

    def run_pass(self) -> PassResult:
        """Advance every pending order once, then deliver what the outbox holds."""
        progressed = failed = 0
        if self.profile_follower is not None:
            self.profile_follower.maybe_sync()
        orders = self._due(self.saga.pending_orders())
        if self.concurrency > 1 and len(orders) > 1:
            # Orders are independent; a slow payments simulator should not serialise them.
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="saga")
            outcomes = list(self._pool.map(self._advance_one, orders))
        else:
            outcomes = [self._advance_one(order) for order in orders]
        for status, step_failed in outcomes:
            failed += step_failed
            if status != OrderStatus.PENDING:
                progressed += 1
                self.metrics.finished.labels(status=status).inc()
        delivered, delivery_failed = self.deliver_outbox()
        progressed += delivered
        failed += delivery_failed
        remaining = self.saga.store.count_pending_work()
        self.metrics.dead_letters.set(len(self.saga.store.list_dead_letters()))
        self.metrics.passes.inc()
        self.metrics.pending_work.set(remaining)
        return PassResult(progressed=progressed, failed=failed, remaining=remaining)

    def deliver_outbox(self) -> tuple[int, int]:
        """Deliver the due outbox events; return (delivered, failed)."""
        delivered = failed = 0
        for event in self.saga.undelivered_events():
            if self.stop_event.is_set():
                break
            try:
                self.saga.deliver(event)
            except EventRejected as exc:
                # This one event is refused: it waits its backoff (or is dead-lettered), the rest go on.
                failed += 1
                self.metrics.step_failures.labels(dependency=exc.dependency).inc()
                if exc.dead_lettered:
                    self.metrics.dead_lettered.inc()
                log.warning("event_rejected", event_id=event.event_id, error=exc.message)
                continue
            except DependencyError as exc:
                failed += 1
                self.metrics.step_failures.labels(dependency=exc.dependency).inc()
                log.warning("event_delivery_failed", event_id=event.event_id, error=exc.message)
                break  # notifications is down for all of them; try again next pass
            delivered += 1
            self.metrics.delivered.inc()
        return delivered, failed

    def run(self) -> None:
        """Run passes until ``stop()``; wait longer while idle or failing, short while progressing."""
        wait_s = self.poll_interval_s
        log.info("orders_worker_started")
        while not self.stop_event.is_set():
            try:
                result = self.run_pass()
            except Exception:
                # A bug or a locked database must not kill the worker: log it, back off, go on.
                log.exception("worker_pass_crashed")
                result = PassResult(progressed=0, failed=1, remaining=1)
            if result.progressed and not result.failed:
                wait_s = self.poll_interval_s
            else:
                wait_s = min(self.idle_max_s, wait_s * 2)
            self.stop_event.wait(wait_s)
        self.close()
        log.info("orders_worker_stopped")

    def close(self) -> None:
        """Let the saga threads finish their current order and end."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def stop(self) -> None:
        """Ask the loop to end after the current step."""
        self.stop_event.set()


def build_worker(settings: Settings, *, metrics: WorkerMetrics | None = None) -> Worker:
    """Wire the real store, peer clients and profile follower into a worker."""
    store = build_store(settings)
    # The worker has no app: its own control, switched to the orders service's profile by the follower.
    control = ResilienceControl("orders", get_default_profile_name(), settings.kit.dependency_urls)
    clients = build_clients(settings, control)
    notifications: NotificationsPort = clients.notifications
    if settings.events == "amqp" and settings.amqp_url:
        # The outbox relay publishes to RabbitMQ instead (confirmed); the consumer applies them.
        notifications = EventPublisher(ConfirmingPublisher(settings.amqp_url))
    saga = Saga(store, cart=clients.cart, catalog=clients.catalog, payments=clients.payments,
                notifications=notifications, max_attempts=settings.outbox_max_attempts)
    follower = None
    if settings.orders_url:
        admin = httpx.Client(base_url=settings.orders_url, timeout=2.0,
                             headers={"Authorization": f"Bearer {settings.kit.admin_token}"})

        def fetch() -> dict[str, Any]:
            resp = admin.get("/admin/resilience")
            resp.raise_for_status()
            body: dict[str, Any] = resp.json()
            # The saga's planted bugs follow the orders service's too (shop.kit.plants).
            planted = admin.get("/admin/plants")
            planted.raise_for_status()
            set_plants(planted.json().get("plants", []))
            return body

        follower = ProfileFollower(control, fetch)
    return Worker(saga, metrics=metrics, poll_interval_s=settings.poll_interval_s, idle_max_s=settings.idle_max_s,
                  concurrency=settings.concurrency, profile_follower=follower)


def main() -> None:
    """Start the worker process: metrics server, signal handlers, loop."""
    settings = Settings.from_env()
    start_process(WORKER_NAME, settings.kit.admin_token)
    load_env_plants()
    # The process-wide registry: the kit's business counters (orders by status) live there too.
    worker = build_worker(settings, metrics=WorkerMetrics(REGISTRY))
    if settings.worker_metrics_port:
        start_worker_metrics_server(settings.worker_metrics_port, host=settings.worker_metrics_host)
    stop_on_signals(WORKER_NAME, worker.stop)
    worker.run()


if __name__ == "__main__":
    main()
