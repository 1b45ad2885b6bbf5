"""The order events as messages: examples for the message pact, and its provider verification.

The provider side of ``notifications-orders.json`` is the outbox relay's real message builder,
``shop.orders.clients.event_message``: the verifier asks for each interaction by its
description and gets exactly what the relay would publish for that event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.verify import VerificationResult
from shop.orders.clients import event_message
from shop.orders.model import OutboxEvent

MESSAGE_EDGES: tuple[tuple[str, str], ...] = (("notifications", "orders"),)

EVENT_EXAMPLES: dict[str, OutboxEvent] = {
    kind: OutboxEvent(event_id=f"evt-contract-{kind}", type=kind, order_id="ord-contract-1",
                      user_id="usr-contract-1", payload=payload)
    for kind, payload in (
        ("order.created", {"total_cents": 2500}),
        ("order.paid", {"total_cents": 2500}),
        ("order.payment_failed", {"total_cents": 2500, "reason": "card_declined"}),
        ("order.rejected", {"total_cents": 2500, "reason": "insufficient_stock"}),
    )
}


def description_of(event_type: str) -> str:
    """Return the interaction's description for one event type."""
    return f"an {event_type} event"


def _produce(event_type: str) -> dict[str, Any]:
    message = event_message(EVENT_EXAMPLES[event_type])
    return {"contents": message.body, "content_type": "application/json",
            "metadata": {"contentType": "application/json", "routingKey": message.routing_key}}


def verify_message_pact(pact_path: Path) -> VerificationResult:
    """Verify a message pact against the relay's message builder; name each failed interaction."""
    from pact import Verifier

    data = json.loads(pact_path.read_text())
    handlers: dict[str, Any] = {description_of(kind): (lambda k=kind: _produce(k)) for kind in EVENT_EXAMPLES}
    verifier = Verifier(data["provider"]["name"], host="127.0.0.1").message_handler(handlers).add_source(pact_path)
    try:
        verifier.verify()
    except Exception as exc:  # the FFI raises one error naming the mismatches
        text = str(exc)
        failed = tuple(i["description"] for i in data.get("interactions", []) if i["description"] in text) or (
            "message verification",)
        return VerificationResult(data["consumer"]["name"], data["provider"]["name"], False, text[-2000:], failed)
    return VerificationResult(data["consumer"]["name"], data["provider"]["name"], True, "")
