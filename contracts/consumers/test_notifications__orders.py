"""Message contract orders ⇢ notifications over RabbitMQ: the order events the consumer applies.

A Pact *message* pact (v3/v4 asynchronous messages): notifications is the consumer of the
events the orders outbox relay publishes (``SHOPLAB_EVENTS=amqp``). Each interaction is
handed to the consumer's real handler (``Consumer.handle``, on a throwaway store), which must
apply it; the provider side is verified against the relay's real message builder
(``shop.orders.clients.event_message``, ``contracts/messages.py``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pact import Pact, match

from contracts.consumer import open_pact
from contracts.messages import EVENT_EXAMPLES, description_of
from shop.kit.db import make_engine
from shop.notifications.consumer import Consumer, ConsumerMetrics
from shop.notifications.service import NotificationService
from shop.notifications.store import NotificationStore

pytestmark = pytest.mark.contracts


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the notifications ⇢ orders message pact."""
    with open_pact("notifications", "orders", pact_output_dir) as pact:
        yield pact


def _apply(body: str | bytes | None, metadata: dict[str, Any]) -> None:
    """Hand one message to the consumer's real handler; it must apply it (not dead-letter it)."""
    assert body is not None
    raw = body.encode() if isinstance(body, str) else body
    with tempfile.TemporaryDirectory() as tmp:
        store = NotificationStore(make_engine(Path(tmp) / "notifications.sqlite3"))
        store.create_schema()
        outcome = Consumer(NotificationService(store), ConsumerMetrics()).handle(raw, "contract", {})
        store.engine.dispose()
    assert outcome == "applied", outcome
    assert metadata.get("contentType") == "application/json"


@pytest.mark.parametrize("event_type", sorted(EVENT_EXAMPLES))
def test_notifications_applies_each_order_event(pact: Pact, event_type: str) -> None:
    example = EVENT_EXAMPLES[event_type]
    body = {
        "event_id": match.string(example.event_id),
        "type": event_type,
        "order_id": match.string(example.order_id),
        "user_id": match.string(example.user_id),
        "payload": {k: match.like(v) for k, v in example.payload.items()},
    }
    (
        pact.upon_receiving(description_of(event_type), "Async")
        .with_body(body, "application/json")
        .with_metadata({"contentType": "application/json", "routingKey": event_type})
    )
    pact.verify(_apply, "Async")
