"""A poison event in the outbox, against the real notifications app (in-process): issue 16 finding 4."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from shop.notifications import create_app as create_notifications
from shop.orders import create_app as create_orders
from shop.orders.bootstrap import get_deps
from shop.orders.clients import NotificationsClient
from shop.orders.model import Order, OrderItem, OrderStatus, OutboxEvent
from shop.orders.service import Saga, new_event
from shop.orders.store import OrderStore
from shop.orders.worker import Worker, WorkerMetrics
from shoplab.runtime.audit import AuditData, check_events
from tests.unit.orders_fakes import Peers
from tests.unit.peer_fakes import ADMIN_TOKEN, service_env, wsgi_client

pytestmark = pytest.mark.unit

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def notifications_app(tmp_path: Path) -> Flask:
    return create_notifications(env=service_env(tmp_path, "notifications"))


@pytest.fixture
def orders_app(tmp_path: Path, notifications_app: Flask) -> Flask:
    peers = Peers()
    peers.notifications = NotificationsClient(  # type: ignore[assignment]
        wsgi_client("notifications", notifications_app, caller="orders"))
    return create_orders(test_config={"ORDERS_PEERS": peers.as_kwargs()}, env=service_env(tmp_path, "orders"))


def orders_with_a_poison_event(store: OrderStore) -> list[str]:
    """Write three orders' created events with the second one unacceptable to notifications."""
    ids = []
    for n in range(3):
        order = Order(order_id=f"ord_{n}", user_id="u1", status=OrderStatus.PENDING, total_cents=100,
                      items=(OrderItem(1, 1, 100),))
        event = new_event("order.created", order)
        if n == 1:
            # notifications refuses this type for good (422): no retry can ever deliver it.
            event = OutboxEvent(event.event_id, "Not A Type!", event.order_id, event.user_id, event.payload)
        store.create_order(order, event)
        ids.append(event.event_id)
    return ids


def test_a_poison_event_is_dead_lettered_and_never_holds_back_later_events(
        tmp_path: Path, orders_app: Flask, notifications_app: Flask) -> None:
    # Failed before issue 16: the pass stopped at the poison event on every pass, so the third
    # event was never delivered, and nothing capped the attempts.

    deps = get_deps(orders_app)
    store = deps.store
    ids = orders_with_a_poison_event(store)
    now = [0.0]
    metrics = WorkerMetrics()
    saga = Saga(store, cart=deps.clients.cart, catalog=deps.clients.catalog, payments=deps.clients.payments,
                notifications=deps.clients.notifications, clock=lambda: now[0], max_attempts=3)
    worker = Worker(saga, metrics=metrics, clock=lambda: now[0])
    for _ in range(10):
        worker.deliver_outbox()
        now[0] += 3600.0  # past any backoff
    delivered = {e.event_id: e.delivered for e in store.list_outbox()}
    assert delivered == {ids[0]: True, ids[1]: False, ids[2]: True}
    dead = store.list_dead_letters()
    assert [(e.event_id, e.attempts) for e in dead] == [(ids[1], 3)]
    assert metrics.registry.get_sample_value("shoplab_orders_worker_events_dead_lettered_total") == 1.0
    assert store.count_pending_work() == 3  # the three pending orders; the dead event is not waiting work

    admin: FlaskClient = orders_app.test_client()
    listed = admin.get("/admin/outbox/dead-letters", headers=ADMIN).get_json()["items"]
    assert [e["event_id"] for e in listed] == [ids[1]] and "422" in listed[0]["last_error"]
    # The audit names it (event_once) until someone replays or fixes it.
    audit = admin.get("/admin/audit", headers=ADMIN).get_json()
    received = notifications_app.test_client().get("/admin/audit", headers=ADMIN).get_json()
    violations = check_events(AuditData(orders=audit, notifications=received))
    assert any(ids[1] in v.ids and "dead-lettered" in v.message for v in violations)

    replayed = admin.post(f"/admin/outbox/{ids[1]}/replay", headers=ADMIN)
    assert replayed.status_code == 200 and replayed.get_json()["attempts"] == 0
    assert store.list_dead_letters() == [] and store.count_pending_work() == 4
    assert admin.post("/admin/outbox/evt_unknown/replay", headers=ADMIN).status_code == 404


def test_a_failed_event_waits_its_own_backoff_while_later_events_go_out(
        tmp_path: Path, orders_app: Flask) -> None:

    deps = get_deps(orders_app)
    ids = orders_with_a_poison_event(deps.store)
    now = [0.0]
    saga = Saga(deps.store, cart=deps.clients.cart, catalog=deps.clients.catalog, payments=deps.clients.payments,
                notifications=deps.clients.notifications, clock=lambda: now[0], max_attempts=5)
    worker = Worker(saga, clock=lambda: now[0])
    worker.deliver_outbox()
    assert [e.event_id for e in saga.undelivered_events()] == []  # the poison one waits out its backoff
    now[0] += 600.0
    assert [e.event_id for e in saga.undelivered_events()] == [ids[1]]
