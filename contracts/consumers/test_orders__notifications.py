"""Contract orders→notifications: the outbox delivers each event; a repeat is accepted; an outage is unavailable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact, match
from pact.interaction import HttpInteraction

from contracts.consumer import Matcher, error_body, from_state, open_pact, serve_peer, unavailable_state
from shop.kit.errors import DependencyUnavailable
from shop.orders.clients import NotificationsClient
from shop.orders.model import OutboxEvent

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


def _email(order_id: object) -> dict[str, object]:
    return {
        "event_id": match.str("evt-contract-1"),
        "type": match.str("order.paid"),
        "order_id": order_id,
        "subject": match.str("Your order ord-contract-1 is paid"),
        "body": match.str("Your order ord-contract-1 is paid.\nTotal: 25.00"),
        "sent_at": match.str("2026-11-22T00:00:00+00:00"),
    }


def test_orders_lists_a_users_emails_and_keeps_those_about_one_order(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for the emails sent to a user")
        .given("the user was sent an email about an order")
        .with_request("GET", "/notifications")
        .with_query_parameter("user_id", from_state("${user_id}", EVENT.user_id))
        .will_respond_with(200)
        .with_body({"items": match.each_like(_email(match.str(EVENT.order_id)), min=1)},
                   content_type="application/json")
    )
    with serve_peer(pact, NotificationsClient) as notifications:
        emails = notifications.list_for_order(EVENT.user_id, EVENT.order_id)
        assert notifications.list_for_order(EVENT.user_id, "ord-someone-else") == []
    assert [e["subject"] for e in emails] == ["Your order ord-contract-1 is paid"]


def test_orders_sees_a_notifications_outage_on_reads_as_unavailable(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for a user's emails while notifications is unavailable")
        .given(unavailable_state("notifications"))
        .with_request("GET", "/notifications")
        .with_query_parameter("user_id", from_state("${user_id}", EVENT.user_id))
        .will_respond_with(503)
        .with_body(error_body(), content_type="application/json")
    )
    with serve_peer(pact, NotificationsClient) as notifications, pytest.raises(DependencyUnavailable):
        notifications.list_for_order(EVENT.user_id, EVENT.order_id)
