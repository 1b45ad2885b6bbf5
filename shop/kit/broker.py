"""Speak AMQP to RabbitMQ for the order events (``SHOPLAB_EVENTS=amqp``), with pika.

One topic exchange carries the events; notifications' queue is bound to ``order.#`` and
dead-letters what its consumer rejects into a queue of its own, so a message nobody can
parse is set aside once instead of being redelivered forever. The publisher waits for the
broker's confirm of every message: an event counts as delivered only once confirmed.

pika, not kombu: the relay needs exactly three AMQP things (a durable topology with a
dead-letter exchange, publisher confirms, manual acks with a prefetch) and pika's
``BlockingConnection`` gives each as one call with AMQP's own names; kombu's
transport abstraction would hide the confirm and the dead-lettering we want to show.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

EXCHANGE = "shop.orders"
QUEUE = "notifications.order-events"
DEAD_LETTER_EXCHANGE = "shop.orders.dead-letters"
DEAD_LETTER_QUEUE = "notifications.order-events.dead"
BINDING = "order.#"
# The publisher's clock, in milliseconds: the consumer's delivery lag counts from it.
PUBLISHED_AT_HEADER = "x-published-at-ms"
# A paused broker must not hold a publish or a consume forever: heartbeats close the connection.
HEARTBEAT_S = 5
TIMEOUT_S = 3.0

# What a broken or unreachable broker raises through pika.
BROKER_ERRORS: tuple[type[BaseException], ...] = (pika.exceptions.AMQPError, OSError)


class BrokerUnavailable(Exception):
    """The broker could not be reached, or did not confirm a message."""


# What a consumer or a watcher catches to reconnect: our own refusal or pika's.
RECONNECT_ERRORS: tuple[type[BaseException], ...] = (BrokerUnavailable, *BROKER_ERRORS)


@dataclass(frozen=True)
class Message:
    """One event as it goes over the wire: routing key, JSON body, its id and the headers."""

    routing_key: str
    body: bytes
    message_id: str
    headers: dict[str, str]


def parameters(url: str) -> pika.URLParameters:
    """Return connection parameters for ``url`` with short timeouts and heartbeats."""
    params = pika.URLParameters(url)
    params.heartbeat = HEARTBEAT_S
    params.socket_timeout = TIMEOUT_S
    params.stack_timeout = TIMEOUT_S * 2
    params.blocked_connection_timeout = TIMEOUT_S * 3
    params.connection_attempts = 1
    return params


def connect(url: str) -> pika.BlockingConnection:
    """Open a blocking connection to ``url``; raise BrokerUnavailable naming why not."""
    try:
        return pika.BlockingConnection(parameters(url))
    except BROKER_ERRORS as exc:
        raise BrokerUnavailable(f"cannot connect to the broker: {type(exc).__name__}: {exc}") from exc


def declare(channel: BlockingChannel) -> None:
    """Declare the exchanges and queues (idempotent; both sides call it, whoever comes first)."""
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="fanout", durable=True)
    channel.queue_declare(DEAD_LETTER_QUEUE, durable=True)
    channel.queue_bind(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE)
    channel.queue_declare(QUEUE, durable=True, arguments={"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE})
    channel.queue_bind(QUEUE, EXCHANGE, routing_key=BINDING)


def is_ready(url: str) -> bool:
    """Say whether the broker at ``url`` accepts an AMQP connection and opens a channel."""
    try:
        conn = pika.BlockingConnection(parameters(url))
    except BROKER_ERRORS:
        return False
    try:
        conn.channel().close()
        return True
    except BROKER_ERRORS:
        return False
    finally:
        _close(conn)


def queue_depths(channel: BlockingChannel) -> dict[str, int]:
    """Return the ready messages in notifications' queue and in its dead-letter queue."""
    return {q: int(channel.queue_declare(q, passive=True).method.message_count) for q in (QUEUE, DEAD_LETTER_QUEUE)}


class ConfirmingPublisher:
    """Publish persistent messages and wait for the broker's confirm of each.

    One connection, opened on first use and again after any failure; not thread-safe
    (the outbox relay publishes from one thread).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def _open(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        self._conn = connect(self.url)
        channel = self._conn.channel()
        declare(channel)
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def publish(self, message: Message, headers: Mapping[str, str] | None = None) -> None:
        """Publish ``message`` and return once the broker confirmed it; raise BrokerUnavailable otherwise."""
        props = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=message.message_id,
            type=message.routing_key,
            timestamp=int(time.time()),
            headers={**message.headers, **dict(headers or {}), PUBLISHED_AT_HEADER: str(int(time.time() * 1000))},
        )
        try:
            channel = self._open()
            # With confirms on, pika returns only after the broker's ack; a nack or an
            # unroutable message raises.
            channel.basic_publish(EXCHANGE, message.routing_key, message.body, props, mandatory=True)
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
            self.close()
            raise BrokerUnavailable(f"the broker did not confirm {message.message_id}: {type(exc).__name__}") from exc
        except BrokerUnavailable:
            self.close()
            raise
        except BROKER_ERRORS as exc:
            self.close()
            raise BrokerUnavailable(f"publishing {message.message_id} failed: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Drop the connection (the next publish opens a new one)."""
        if self._conn is not None:
            _close(self._conn)
        self._conn = None
        self._channel = None


def _close(conn: Any) -> None:
    try:
        if conn.is_open:
            conn.close()
    except BROKER_ERRORS:
        pass
