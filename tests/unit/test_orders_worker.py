"""Unit tests of the saga and the worker loop: each step idempotent, faults only delay."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from shop.kit.db import make_engine
from shop.kit.resilience import ResilienceControl
from shop.orders.model import CartLine, Order
from shop.orders.service import OrderService, Saga
from shop.orders.store import OrderStore
from shop.orders.worker import ProfileFollower, Worker
from tests.support import poll_until
from tests.unit.orders_fakes import Crash, Peers

pytestmark = pytest.mark.unit

DECLINE = "4000000000000002"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "orders.sqlite3"


@pytest.fixture
def store(db_path: Path) -> OrderStore:
    s = OrderStore(make_engine(db_path))
    s.create_schema()
    return s


@pytest.fixture
def peers() -> Peers:
    p = Peers()
    p.catalog.add(1, 500, 5)
    p.catalog.add(2, 300, 1)
    p.cart.carts["u1"] = [CartLine(1, 2)]
    return p


def checkout(store: OrderStore, peers: Peers, user: str = "u1", card: str | None = None) -> Order:
    order, _ = OrderService(store, cart=peers.cart, catalog=peers.catalog).checkout(user, card=card)
    return order


def make_worker(store: OrderStore, peers: Peers) -> Worker:
    return Worker(Saga(store, **peers.as_kwargs()), poll_interval_s=0.01, idle_max_s=0.02)  # type: ignore[arg-type]


def status_of(store: OrderStore, order: Order) -> str:
    current = store.get_order(order.order_id)
    assert current is not None
    return current.status


def test_a_paid_order_is_reserved_charged_committed_its_cart_cleared_and_both_events_sent(
    store: OrderStore, peers: Peers
) -> None:
    order = checkout(store, peers)
    result = make_worker(store, peers).run_pass()
    assert status_of(store, order) == "paid"
    assert peers.catalog.state(order.order_id) == "committed" and peers.catalog.stock[1] == 3
    assert peers.payments.ledger[order.order_id].status == "succeeded"
    assert peers.cart.cleared == ["u1"]
    assert peers.notifications.types_for(order.order_id) == ["order.created", "order.paid"]
    assert result.remaining == 0 and store.count_pending_work() == 0


def test_a_declined_charge_releases_the_stock_and_ends_payment_failed(store: OrderStore, peers: Peers) -> None:
    order = checkout(store, peers, card=DECLINE)
    make_worker(store, peers).run_pass()
    current = store.get_order(order.order_id)
    assert current is not None and current.status == "payment_failed" and current.reason == "declined"
    assert peers.catalog.state(order.order_id) == "released" and peers.catalog.stock[1] == 5
    assert peers.cart.cleared == []
    assert peers.notifications.types_for(order.order_id) == ["order.created", "order.payment_failed"]


def test_insufficient_stock_rejects_the_order_without_charging(store: OrderStore, peers: Peers) -> None:
    peers.cart.carts["u1"] = [CartLine(2, 3)]
    order = checkout(store, peers)
    make_worker(store, peers).run_pass()
    current = store.get_order(order.order_id)
    assert current is not None and current.status == "rejected" and current.reason == "insufficient_stock"
    assert order.order_id not in peers.payments.ledger and peers.catalog.stock[2] == 1
    assert peers.notifications.types_for(order.order_id) == ["order.created", "order.rejected"]


def test_an_unavailable_payments_service_delays_the_order_but_charges_it_once_later(
    store: OrderStore, peers: Peers
) -> None:
    order = checkout(store, peers)
    worker = make_worker(store, peers)
    peers.payments.down = True
    result = worker.run_pass()
    assert result.failed == 1 and status_of(store, order) == "pending"
    assert store.count_pending_work() >= 1
    peers.payments.down = False
    worker.run_pass()
    assert status_of(store, order) == "paid"
    assert len(peers.payments.ledger) == 1 and peers.catalog.stock[1] == 3


def test_a_crash_between_charge_and_mark_paid_then_a_rerun_charges_once(
    store: OrderStore, peers: Peers, db_path: Path
) -> None:
    order = checkout(store, peers)
    peers.catalog.crash_next = False
    # The charge is recorded, then the process dies while committing the reservation.
    original_commit = peers.catalog.commit

    def commit_then_die(order_id: str) -> None:
        peers.catalog.commit = original_commit  # type: ignore[method-assign]
        raise Crash("killed after the charge")

    peers.catalog.commit = commit_then_die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        make_worker(store, peers).run_pass()
    assert status_of(store, order) == "pending" and order.order_id in peers.payments.ledger

    # A new process: a fresh engine and worker over the same database file.
    restarted = OrderStore(make_engine(db_path))
    make_worker(restarted, peers).run_pass()
    assert status_of(restarted, order) == "paid"
    assert len(peers.payments.ledger) == 1 and peers.payments.charge_calls == 2
    assert peers.catalog.stock[1] == 3 and peers.catalog.state(order.order_id) == "committed"
    assert peers.notifications.types_for(order.order_id) == ["order.created", "order.paid"]


def test_a_crash_after_marking_paid_never_writes_a_second_paid_event(store: OrderStore, peers: Peers) -> None:
    order = checkout(store, peers)
    saga = Saga(store, **peers.as_kwargs())  # type: ignore[arg-type]
    assert saga.advance(order) == "paid"
    # A stale copy of the order (read before the crash) is advanced again.
    assert saga.advance(order) == "paid"
    assert [e.type for e in store.list_outbox()].count("order.paid") == 1
    assert len(peers.payments.ledger) == 1


def test_a_crash_after_delivery_before_marking_it_redelivers_but_applies_once(
    store: OrderStore, peers: Peers
) -> None:
    checkout(store, peers)
    saga = Saga(store, **peers.as_kwargs())  # type: ignore[arg-type]
    event = store.list_outbox()[0]
    peers.notifications.deliver(event)  # delivered, then the worker died before mark_delivered
    make_worker(store, peers).run_pass()
    assert peers.notifications.received[event.event_id] == 2
    assert len([e for e in peers.notifications.applied.values() if e.event_id == event.event_id]) == 1
    assert saga.undelivered_events() == []


def test_events_wait_in_the_outbox_while_notifications_is_down(store: OrderStore, peers: Peers) -> None:
    order = checkout(store, peers)
    worker = make_worker(store, peers)
    peers.notifications.down = True
    worker.run_pass()
    assert status_of(store, order) == "paid"
    assert [e.delivered for e in store.list_outbox()] == [False, False]
    assert store.count_pending_work() == 2
    peers.notifications.down = False
    # The event that failed waits its own backoff (issue 16): look a minute ahead.
    later = time.time() + 60.0
    worker.saga.clock = lambda: later
    worker.run_pass()
    assert [e.delivered for e in store.list_outbox()] == [True, True]
    assert store.count_pending_work() == 0


def test_a_bug_on_one_order_does_not_block_the_others(store: OrderStore, peers: Peers) -> None:
    first = checkout(store, peers)
    peers.cart.carts["u2"] = [CartLine(1, 1)]
    second = checkout(store, peers, user="u2")
    original = peers.payments.charge

    def broken_for_first(order_id: str, amount_cents: int, card: str | None):  # type: ignore[no-untyped-def]
        if order_id == first.order_id:
            raise KeyError("charge_id")
        return original(order_id, amount_cents, card)

    peers.payments.charge = broken_for_first  # type: ignore[method-assign]
    result = make_worker(store, peers).run_pass()
    assert result.failed == 1
    assert status_of(store, first) == "pending" and status_of(store, second) == "paid"


def test_the_worker_loop_drains_work_and_stops_when_asked(store: OrderStore, peers: Peers) -> None:
    order = checkout(store, peers)
    worker = make_worker(store, peers)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        poll_until(lambda: status_of(store, order) == "paid" and store.count_pending_work() == 0,
                   timeout_s=10, message="the worker drains the order")
    finally:
        worker.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert worker.metrics.finished.labels(status="paid")._value.get() == 1


def test_concurrent_advancing_never_sells_more_than_the_stock(store: OrderStore, peers: Peers) -> None:
    peers.catalog.add(9, 100, 3)
    orders = []
    for n in range(6):
        peers.cart.carts[f"c{n}"] = [CartLine(9, 1)]
        orders.append(checkout(store, peers, user=f"c{n}"))
    worker = Worker(Saga(store, **peers.as_kwargs()), concurrency=4)  # type: ignore[arg-type]
    try:
        result = worker.run_pass()
    finally:
        worker.close()
    statuses = sorted(status_of(store, o) for o in orders)
    assert statuses == ["paid"] * 3 + ["rejected"] * 3
    assert peers.catalog.stock[9] == 0 and len(peers.payments.ledger) == 3
    assert result.progressed >= 6 and result.remaining == 0


def test_the_worker_follows_the_orders_services_resilience_profile() -> None:
    control = ResilienceControl("orders", "resilient", ["payments"])
    answers: list[object] = [{"profile": "naive", "overrides": {}}, RuntimeError("orders restarting"),
                             {"profile": "naive", "overrides": {}}]
    now = [0.0]

    def fetch() -> dict[str, object]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    follower = ProfileFollower(control, fetch, every_s=1.0, clock=lambda: now[0])
    assert follower.maybe_sync() is True and control.profile.name == "naive"
    assert follower.maybe_sync() is False and len(answers) == 2  # throttled: not asked again yet
    now[0] = 1.5
    assert follower.maybe_sync() is False and control.profile.name == "naive"  # an error keeps the policy
    now[0] = 3.0
    assert follower.maybe_sync() is False and answers == []  # unchanged: no switch


@pytest.mark.parametrize("card", ["4242 4242 4242 4242", DECLINE])
def test_an_ended_order_keeps_only_the_last_four_digits_of_its_card(store: OrderStore, peers: Peers,
                                                                    db_path: Path, card: str) -> None:
    # Failed before issue 16: orders kept the full card number for good.
    order = checkout(store, peers, card=card)
    make_worker(store, peers).run_pass()
    assert status_of(store, order) in ("paid", "payment_failed")
    ended = store.get_order(order.order_id)
    assert ended is not None and ended.card is None and ended.card_last4 == card[-4:]
    # The database file itself (secure_delete); the WAL keeps old frames until SQLite recycles them.
    raw = db_path.read_bytes()
    assert card.encode() not in raw and card.replace(" ", "").encode() not in raw
