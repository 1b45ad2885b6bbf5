"""Order events over AMQP without a broker: parsing, the consumer's decisions, the message builder, the wiring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shop.kit import broker
from shop.kit.broker import BrokerUnavailable, Message
from shop.kit.config import MissingSetting
from shop.kit.db import make_engine
from shop.kit.errors import DependencyUnavailable
from shop.notifications.consumer import Consumer, ConsumerMetrics
from shop.notifications.model import UnparseableEvent
from shop.notifications.service import NotificationService, parse_event
from shop.notifications.store import NotificationStore
from shop.orders.clients import EventPublisher, event_message
from shop.orders.config import events_transport
from shop.orders.model import OutboxEvent
from shop.topology import BROKER, Topology
from shoplab.runtime import broker as runtime_broker
from shoplab.runtime import programs as programs_module

pytestmark = pytest.mark.unit

EVENT = OutboxEvent(event_id="evt_1", type="order.paid", order_id="ord_1", user_id="u_1",
                    payload={"total_cents": 1200})


@pytest.fixture
def service(tmp_path: Path) -> NotificationService:
    store = NotificationStore(make_engine(tmp_path / "notifications.sqlite3"))
    store.create_schema()
    return NotificationService(store)


def test_the_message_is_the_http_body_keyed_by_type_and_identified_by_the_event_id() -> None:
    msg = event_message(EVENT)
    assert msg.routing_key == "order.paid" and msg.message_id == "evt_1"
    assert json.loads(msg.body) == {"event_id": "evt_1", "type": "order.paid", "order_id": "ord_1",
                                    "user_id": "u_1", "payload": {"total_cents": 1200}}
    assert parse_event(msg.body)["event_id"] == "evt_1"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"event_id": "e", "type": "Order Paid", '
                                  b'"order_id": "o", "user_id": "u"}',
                                  b'{"event_id": "", "type": "order.paid", "order_id": "o", "user_id": "u"}',
                                  b'{"event_id": "e", "type": "order.paid", "order_id": "o", "user_id": "u", '
                                  b'"payload": []}', b"\xff\xfe"])
def test_what_is_not_an_order_event_is_unparseable(body: bytes) -> None:
    with pytest.raises(UnparseableEvent):
        parse_event(body)


def test_the_consumer_applies_once_counts_the_repeat_and_sets_poison_aside(service: NotificationService) -> None:
    metrics = ConsumerMetrics()
    consumer = Consumer(service, metrics, clock=lambda: 1000.0)
    body = event_message(EVENT).body
    headers = {broker.PUBLISHED_AT_HEADER: "997500"}
    assert consumer.handle(body, "evt_1", headers) == "applied"
    assert consumer.handle(body, "evt_1", headers) == "duplicate"
    assert consumer.handle(b"{not json", "poison", {}) == "dead_lettered"
    audit = {e["event_id"]: e for e in service.get_audit()}
    assert audit["evt_1"]["applied"] == 1 and audit["evt_1"]["received"] == 2
    [dead] = service.get_dead_letters()
    assert dead["message_id"] == "poison" and "not JSON" in dead["reason"] and dead["body_excerpt"] == "{not json"
    assert metrics.registry.get_sample_value("shoplab_notifications_consumer_last_delivery_lag_seconds") == 2.5
    assert metrics.registry.get_sample_value("shoplab_notifications_consumer_delivery_lag_seconds_count") == 2


class _Channel:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, bool | None]] = []

    def basic_ack(self, tag: int) -> None:
        self.calls.append(("ack", tag, None))

    def basic_reject(self, tag: int, requeue: bool) -> None:
        self.calls.append(("reject", tag, requeue))

    def basic_nack(self, tag: int, requeue: bool) -> None:
        self.calls.append(("nack", tag, requeue))


class _Method:
    def __init__(self, tag: int) -> None:
        self.delivery_tag = tag


class _Props:
    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.headers: dict[str, Any] = {}


def test_poison_is_rejected_without_requeue_and_a_failing_store_requeues(service: NotificationService) -> None:
    consumer = Consumer(service, ConsumerMetrics())
    channel = _Channel()
    consumer.on_message(channel, _Method(1), _Props("evt_1"), event_message(EVENT).body)  # type: ignore[arg-type]
    consumer.on_message(channel, _Method(2), _Props("bad"), b"nope")  # type: ignore[arg-type]

    def broken(**_kw: Any) -> Any:
        raise RuntimeError("database is locked")

    service.receive = broken  # type: ignore[method-assign]
    consumer.on_message(channel, _Method(3), _Props("evt_2"), event_message(EVENT).body)  # type: ignore[arg-type]
    assert channel.calls == [("ack", 1, None), ("reject", 2, False), ("nack", 3, True)]


class _FailingPublisher:
    def publish(self, message: Message, headers: dict[str, str] | None = None) -> None:
        raise BrokerUnavailable("cannot connect to the broker: ConnectionRefusedError")


def test_an_unconfirmed_publish_is_an_outage_of_the_broker_not_a_refusal() -> None:
    publisher = EventPublisher(_FailingPublisher())  # type: ignore[arg-type]
    with pytest.raises(DependencyUnavailable) as caught:
        publisher.deliver(EVENT)
    assert caught.value.dependency == BROKER
    assert type(caught.value) is DependencyUnavailable  # not EventRejected: it never dead-letters


def test_events_transport_is_http_by_default_and_amqp_needs_a_url() -> None:
    assert events_transport({}) == "http"
    assert events_transport({"SHOPLAB_EVENTS": "amqp", "RABBITMQ_URL": "amqp://x"}) == "amqp"
    with pytest.raises(MissingSetting, match="SHOPLAB_EVENTS"):
        events_transport({"SHOPLAB_EVENTS": "kafka"})
    with pytest.raises(MissingSetting, match="RABBITMQ_URL"):
        events_transport({"SHOPLAB_EVENTS": "amqp"})


def test_the_broker_programs_keep_everything_in_the_run_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_broker, "ensure_tool", lambda _name: Path("/usr/lib/rabbitmq/bin/rabbitmq-server"))
    topo = Topology(port_offset=300)
    state = {"admin_token": "t", "jwt_secret": "s"}
    progs = programs_module.native_programs(topo, state, run_dir=tmp_path, data_dir=tmp_path / "data",
                                            observability_on=False, profile="resilient", extra_env={},
                                            with_worker=True, with_broker=True)
    by_name = {p.name: p for p in progs}
    rabbit = by_name[BROKER]
    assert rabbit.amqp_ready and rabbit.port == 5672 + 300
    base = str(tmp_path / "rabbitmq")
    for key in ("HOME", "RABBITMQ_MNESIA_BASE", "RABBITMQ_LOG_BASE", "RABBITMQ_CONFIG_FILE",
                "RABBITMQ_CONF_ENV_FILE", "RABBITMQ_ENABLED_PLUGINS_FILE"):
        assert rabbit.env[key].startswith(base), key
    assert rabbit.env["ERL_EPMD_PORT"] == str(4369 + 300) and "-start_epmd false" in rabbit.env["RABBITMQ_SERVER_ERL_ARGS"]
    assert by_name["rabbitmq-epmd"].command[-2:] == ["-port", str(4369 + 300)]
    assert "listeners.tcp.default = 127.0.0.1:5972" in (tmp_path / "rabbitmq" / "rabbitmq.conf").read_text()
    # the services reach the broker only through their own proxies
    publisher, consumer = topo.broker_edges
    assert by_name["orders-worker"].env["RABBITMQ_URL"].endswith(f":{publisher.listen_port}/%2F")
    assert by_name["notifications-consumer"].env["RABBITMQ_URL"].endswith(f":{consumer.listen_port}/%2F")
    assert by_name["notifications-consumer"].env["SHOPLAB_EVENTS"] == "amqp"


def test_without_the_broker_nothing_of_it_runs(tmp_path: Path) -> None:
    progs = programs_module.native_programs(Topology(), {"admin_token": "t", "jwt_secret": "s"}, run_dir=tmp_path,
                                            data_dir=tmp_path / "data", observability_on=False, profile="resilient",
                                            extra_env={}, with_worker=True)
    names = {p.name for p in progs}
    assert not names & {BROKER, "rabbitmq-epmd", "notifications-consumer"}
    assert all("SHOPLAB_EVENTS" not in p.env for p in progs)
    assert not (tmp_path / "rabbitmq").exists()


def test_broker_edges_follow_the_service_edges_and_lead_to_the_broker() -> None:
    topo = Topology(port_offset=100)
    assert [e.proxy_name for e in topo.broker_edges] == ["orders__rabbitmq", "rabbitmq__notifications"]
    ports = [e.listen_port for e in topo.proxied_edges]
    assert ports == list(range(ports[0], ports[0] + len(ports)))
