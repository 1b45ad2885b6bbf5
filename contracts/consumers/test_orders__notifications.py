"""Contract orders→notifications: the outbox delivers each event; a repeat is accepted; an outage is unavailable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact
from pact.interaction import HttpInteraction

from contracts.consumer import Matcher, error_body, from_state, open_pact, serve_peer, unavailable_state
from shop.kit.errors import DependencyUnavailable
from shop.orders.clients import NotificationsClient
from shop.orders.store import OutboxEvent

pytestmark = pytest.mark.contracts

EVENT = OutboxEvent(event_id="evt-contract-1", type="order.paid", order_id="ord-contract-1",
                    user_id="usr-contract-1", payload={"total_cents": 2500})


@pytest.fixture
def pact(pact_output_dir: Path) -> Iterator[Pact]:
    """Give the orders→notifications pact."""
    with open_pact("orders", "notifications", pact_output_dir) as pact:
        yield pact


def _event_id() -> Matcher:
    return from_state("${event_id}", EVENT.event_id)


def _deliver(pact: Pact, description: str, state: str) -> HttpInteraction:
    return (
        pact.upon_receiving(description)
        .given(state, type=EVENT.type)
        .with_request("POST", "/events")
        .with_header("Idempotency-Key", _event_id())
        .with_body({"event_id": _event_id(), "type": EVENT.type, "order_id": EVENT.order_id,
                    "user_id": EVENT.user_id, "payload": EVENT.payload}, content_type="application/json")
    )


def test_orders_delivers_a_new_event(pact: Pact) -> None:
    _deliver(pact, "a new event", "the event has not been received yet").will_respond_with(201).with_body(
        {"event_id": _event_id()}, content_type="application/json"
    )
    with serve_peer(pact, NotificationsClient) as notifications:
        notifications.deliver(EVENT)


def test_orders_redelivers_an_event_without_a_second_effect(pact: Pact) -> None:
    interaction = _deliver(pact, "an event delivered twice", "the event was already received")
    interaction.will_respond_with(200).with_body({"event_id": _event_id()}, content_type="application/json")
    with serve_peer(pact, NotificationsClient) as notifications:
        notifications.deliver(EVENT)


def test_orders_keeps_the_event_when_notifications_is_unavailable(pact: Pact) -> None:
    interaction = _deliver(pact, "an event while notifications is unavailable", unavailable_state("notifications"))
    interaction.will_respond_with(503).with_body(error_body(), content_type="application/json")
    with serve_peer(pact, NotificationsClient) as notifications, pytest.raises(DependencyUnavailable):
        notifications.deliver(EVENT)
