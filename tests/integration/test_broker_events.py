"""Order events over a real RabbitMQ (``shoplab up --broker``): restart, poison, slow consumer.

One stack with the broker per module (RabbitMQ takes seconds to start), beside the
session stack (+25 in the worker's port band). Every check reads the shop's own audit
data, the broker (a direct AMQP connection) or the consumer's /metrics.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pika
import psutil
import pytest

from chaos.admin import ShopAdmin
from chaos.experiment import ProcessAction, ProcessFaultSpec
from chaos.faults import LeasedFaults, ShopFaults
from chaos.leases import LeaseTable
from chaos.metrics import BrokerGauges, ShopMetrics
from chaos.toxiproxy import ToxiproxyClient
from shop.kit import broker
from shop.topology import BROKER, Topology
from shoplab.runtime.audit import fetch_audit_data, run_audit
from shoplab.runtime.stack import Stack, running_stack
from tests.e2e.shop_client import ShopClient
from tests.support import poll_until

pytestmark = pytest.mark.integration

BROKER_SHIFT = 25  # a side stack in the worker's band (tests/parallel.py)
USERS = 40
ORDERS_PER_USER = 5  # 200 checkouts
PRODUCT = 1


@pytest.fixture(scope="module")
def broker_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = Topology.from_env()
    with running_stack(tmp_path_factory.mktemp("broker"), base.with_offset(base.port_offset + BROKER_SHIFT),
                       observability=False, broker=True, timeout_s=180) as stack:
        yield stack


@pytest.fixture(scope="module")
def shop(broker_stack: Stack) -> Iterator[ShopClient]:
    client = ShopClient(broker_stack)
    client.set_stock(PRODUCT, 100_000)
    try:
        yield client
    finally:
        client.close()


def _metrics(stack: Stack) -> str:
    return httpx.get(f"http://{stack.topology.host}:{stack.topology.consumer_metrics_port}/metrics", timeout=5).text


def _sample(text: str, name: str) -> float:
    """Return the value of the first sample line named exactly ``name`` (with its labels)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the consumer's metrics")


def _pending(stack: Stack, http: httpx.Client) -> int:
    resp = http.get(stack.service_url("orders") + "/admin/pending", headers=stack.admin_headers())
    return int(resp.json()["pending_work"])


def test_killing_the_broker_mid_burst_loses_and_doubles_no_notification(broker_stack: Stack,
                                                                          shop: ShopClient) -> None:
    with ThreadPoolExecutor(8) as pool:
        users = list(pool.map(lambda _i: shop.signup(), range(USERS)))
    placed: list[tuple[str, str]] = []
    lock = threading.Lock()
    enough_placed = threading.Event()

    def buy(user: str) -> None:
        for _ in range(ORDERS_PER_USER):
            shop.add_to_cart(user, PRODUCT, 1)
            resp = shop.checkout(user, key=uuid.uuid4().hex)
            assert resp.status_code == 201, resp.text
            with lock:
                placed.append((user, resp.json()["order_id"]))
                if len(placed) >= 50:
                    enough_placed.set()

    with ThreadPoolExecutor(8) as pool:
        burst = [pool.submit(buy, u) for u in users]
        assert enough_placed.wait(120), "the burst never reached 50 checkouts"
        broker_stack.kill_process(BROKER)
        for done in burst:
            done.result()
    with httpx.Client(timeout=10) as http:
        # While the broker is down nothing can be confirmed: events wait in the outbox.
        held = _pending(broker_stack, http)
        assert held > 0, "the kill came after every event was already confirmed"
        broker_stack.start_process(BROKER, timeout_s=120)
    assert len(placed) == USERS * ORDERS_PER_USER

    report = run_audit({n: broker_stack.service_url(n) for n in broker_stack.topology.service_names},
                       broker_stack.admin_token, drain_timeout_s=180)
    assert report.drained, f"{report.pending_work} still pending after the drain"
    assert report.ok, "\n".join(str(v) for v in report.violations)

    with httpx.Client(timeout=30) as http:
        data = fetch_audit_data({n: broker_stack.service_url(n) for n in broker_stack.topology.service_names},
                                broker_stack.admin_token, http=http)
    status = {o["order_id"]: o["status"] for o in data.orders["orders"]}
    ours = {order_id for _user, order_id in placed}
    assert {status[o] for o in ours} == {"paid"}
    applied = Counter((e["order_id"], e["type"]) for e in data.notifications["events"] if e["applied"] == 1)
    for order_id in ours:
        assert applied[(order_id, "order.created")] == 1 and applied[(order_id, "order.paid")] == 1, order_id
    emails_per_order = Counter(e["order_id"] for e in data.notifications["events"] if e["order_id"] in ours)
    assert set(emails_per_order.values()) == {2}


def test_a_poison_message_goes_to_the_dead_letter_queue_and_the_consumer_goes_on(broker_stack: Stack,
                                                                                 shop: ShopClient) -> None:
    conn = pika.BlockingConnection(broker.parameters(broker_stack.topology.amqp_url))
    try:
        channel = conn.channel()
        broker.declare(channel)
        dead_before = broker.queue_depths(channel)[broker.DEAD_LETTER_QUEUE]
        channel.basic_publish(broker.EXCHANGE, "order.paid", b"{not json",
                              pika.BasicProperties(message_id="poison-1", delivery_mode=2))
        poll_until(lambda: broker.queue_depths(channel)[broker.DEAD_LETTER_QUEUE] == dead_before + 1,
                   timeout_s=30, interval_s=0.2, message="the poison message in the dead-letter queue")
        # set aside once: it is not redelivered (the main queue is empty again)
        assert broker.queue_depths(channel)[broker.QUEUE] == 0
    finally:
        conn.close()
    assert 'shoplab_notifications_consumer_messages_total{outcome="dead_lettered"} 1.0' in _metrics(broker_stack)

    user = shop.signup()
    shop.add_to_cart(user, PRODUCT, 1)
    order_id = shop.checkout(user).json()["order_id"]
    shop.wait_for_notification(user, order_id, "order.paid", timeout_s=60)

    report = run_audit({n: broker_stack.service_url(n) for n in broker_stack.topology.service_names},
                       broker_stack.admin_token, drain_timeout_s=60)
    assert [v.invariant for v in report.violations] == ["no_dead_letter"]
    assert "poison-1" in report.violations[0].message and report.counts["dead_letters"] == 1


def test_latency_on_the_consumer_edge_backs_up_the_queue_and_shows_the_lag(broker_stack: Stack,
                                                                           shop: ShopClient) -> None:
    topo = broker_stack.topology
    edge = next(e for e in topo.broker_edges if e.callee == "notifications")
    users = [shop.signup() for _ in range(4)]
    with httpx.Client(base_url=topo.toxiproxy_url, timeout=10) as toxiproxy:
        for stream in ("downstream", "upstream"):
            toxiproxy.post(f"/proxies/{edge.proxy_name}/toxics",
                           json={"name": f"slow_{stream}", "type": "latency", "stream": stream,
                                 "attributes": {"latency": 2000}}).raise_for_status()
        try:
            for _round in range(6):
                for user in users:
                    shop.add_to_cart(user, PRODUCT, 1)
                    assert shop.checkout(user, key=uuid.uuid4().hex).status_code == 201
            depth = f'shoplab_broker_queue_depth{{queue="{broker.QUEUE}"}}'
            poll_until(lambda: _sample(_metrics(broker_stack), depth) > 0, timeout_s=60, interval_s=0.5,
                       message="the queue to back up behind the slow consumer")
            # what the experiments' queue_depth_* probes read each second: the same gauge, through the runner's scrape
            scraper = ShopMetrics(topo, broker=True)
            try:
                poll_until(lambda: (scraper.scrape().broker or BrokerGauges()).queue_depth, timeout_s=30,
                           interval_s=0.5, message="the runner's scrape to read the backed-up queue")
            finally:
                scraper.close()
            poll_until(lambda: _sample(_metrics(broker_stack),
                                       "shoplab_notifications_consumer_last_delivery_lag_seconds") >= 2.0,
                       timeout_s=60, interval_s=0.5, message="a delivery lag of at least the edge's 2 s")
        finally:
            toxiproxy.post("/reset").raise_for_status()
    report = run_audit({n: broker_stack.service_url(n) for n in topo.service_names}, broker_stack.admin_token,
                       drain_timeout_s=120)
    assert report.drained and {v.invariant for v in report.violations} <= {"no_dead_letter"}


def test_the_broker_lives_in_the_run_folder_and_answers_status(broker_stack: Stack) -> None:
    base = Path(broker_stack.run_dir) / "rabbitmq"
    assert (base / ".erlang.cookie").is_file() and (base / "mnesia").is_dir()
    by_name = {s.name: s for s in broker_stack.status()}
    assert by_name[BROKER].state == "RUNNING" and by_name[BROKER].healthy is True
    assert by_name["notifications-consumer"].state == "RUNNING"


def test_a_paused_broker_whose_runner_died_is_continued_by_the_reaper(broker_stack: Stack) -> None:
    # A run pauses RabbitMQ (SIGSTOP) under a short lease and dies without rolling back.
    pid = next(s.pid for s in broker_stack.status() if s.name == BROKER)
    assert pid is not None
    with ToxiproxyClient(broker_stack.topology.toxiproxy_url) as toxiproxy, \
            ShopAdmin(broker_stack.topology, broker_stack.admin_token) as admin:
        faults = LeasedFaults(ShopFaults(toxiproxy, admin, broker_stack), LeaseTable(broker_stack.run_dir),
                              "run-killed", ttl_s=2)
        faults.build(ProcessFaultSpec(BROKER, ProcessAction.PAUSE)).apply()

    def stopped() -> list[str]:
        root = psutil.Process(pid)
        return [p.name() for p in (root, *root.children(recursive=True)) if p.status() == psutil.STATUS_STOPPED]

    # paused at once (checked within the 2 s lease: an AMQP probe would take longer than that)
    assert "beam.smp" in stopped()
    poll_until(lambda: not stopped(), timeout_s=30, interval_s=0.2, message="the reaper to continue the paused broker")
    poll_until(lambda: broker.is_ready(broker_stack.topology.amqp_url), timeout_s=60, interval_s=0.5,
               message="the continued broker to answer AMQP again")
    assert LeaseTable(broker_stack.run_dir).read() == []
