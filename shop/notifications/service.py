"""Take order events in exactly once (by event id) and "send" one email per event."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shop.notifications.model import DeadLetter, DuplicateEvent, Email, UnparseableEvent
from shop.notifications.store import NotificationStore

SUBJECTS: dict[str, str] = {
    "order.created": "We received your order {order_id}",
    "order.paid": "Your order {order_id} is paid",
    "order.payment_failed": "Payment failed for your order {order_id}",
    "order.rejected": "We could not accept your order {order_id}",
}


def render_email(event_type: str, order_id: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Return the subject and body of the email for one event."""
    subject = SUBJECTS.get(event_type, "News about your order {order_id}").format(order_id=order_id)
    lines = [subject + "."]
    total = payload.get("total_cents")
    # The payload is the sender's free-form data: use only what has the expected type.
    if isinstance(total, int) and not isinstance(total, bool) and abs(total) < 10**15:
        lines.append(f"Total: {total / 100:.2f}")
    reason = payload.get("reason")
    if isinstance(reason, str) and reason:
        lines.append(f"Reason: {reason[:200]}")
    return subject, "\n".join(lines)


EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_ID_FIELDS = ("event_id", "order_id", "user_id")


def parse_event(body: bytes) -> dict[str, Any]:
    """Return the fields of an order event message (the ``POST /events`` body); raise UnparseableEvent.

    The same rules as the HTTP API's model: ids of 1-128 characters, a dotted lowercase
    type of at most 64, an object payload.
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnparseableEvent(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UnparseableEvent(f"not a JSON object but {type(data).__name__}")
    for name in _ID_FIELDS:
        value = data.get(name)
        if not isinstance(value, str) or not 1 <= len(value) <= 128:
            raise UnparseableEvent(f"{name} must be a string of 1-128 characters")
    kind = data.get("type")
    if not isinstance(kind, str) or len(kind) > 64 or not EVENT_TYPE.match(kind):
        raise UnparseableEvent("type must be a dotted lowercase name of at most 64 characters")
    payload = data.get("payload", {})
    if not isinstance(payload, dict):
        raise UnparseableEvent("payload must be an object")
    return {"event_id": data["event_id"], "type": kind, "order_id": data["order_id"],
            "user_id": data["user_id"], "payload": payload}


class NotificationService:
    """Apply each event once; count repeats without a second effect."""

    def __init__(self, store: NotificationStore, *, now: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self._now = now or (lambda: datetime.now(UTC))

    def receive(
        self, *, event_id: str, type: str, order_id: str, user_id: str, payload: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Take one event in; return its record and whether this call applied it."""
        try:
            return self._receive_once(event_id, type, order_id, user_id, payload)
        except DuplicateEvent:
            # A concurrent delivery of the same event inserted it first: count a repeat.
            return self._receive_once(event_id, type, order_id, user_id, payload)

    def _receive_once(
        self, event_id: str, type: str, order_id: str, user_id: str, payload: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        with self.store.begin() as conn:
            existing = self.store.get_event(conn, event_id)
            if existing is not None:
                self.store.count_repeat(conn, event_id)
                return {"event_id": event_id, "type": existing.type, "order_id": existing.order_id}, False
            now = self._now()
            self.store.insert_event(
                conn,
                {
                    "event_id": event_id,
                    "type": type,
                    "order_id": order_id,
                    "user_id": user_id,
                    "payload": payload,
                    "received": 1,
                    "applied": 1,
                    "received_at": now,
                },
            )
            subject, body = render_email(type, order_id, payload)
            self.store.insert_email(
                conn,
                Email(event_id=event_id, user_id=user_id, order_id=order_id, type=type,
                      subject=subject, body=body, sent_at=now),
            )
        return {"event_id": event_id, "type": type, "order_id": order_id}, True

    def list_for_user(self, user_id: str) -> list[dict[str, Any]]:
        """Return the emails sent to ``user_id``."""
        return [
            {
                "event_id": e.event_id,
                "type": e.type,
                "order_id": e.order_id,
                "subject": e.subject,
                "body": e.body,
                "sent_at": _iso(e.sent_at),
            }
            for e in self.store.list_emails(user_id)
        ]

    def set_aside(self, message_id: str, reason: str, body: bytes) -> None:
        """Record a message the consumer could not parse (it goes to the dead-letter queue)."""
        excerpt = body[:200].decode("utf-8", errors="replace")
        self.store.add_dead_letter(DeadLetter(message_id=message_id[:128], reason=reason[:500],
                                              body_excerpt=excerpt, dead_at=self._now()))

    def get_dead_letters(self) -> list[dict[str, Any]]:
        """Return the messages set aside, for the audit."""
        return [{"message_id": d.message_id, "reason": d.reason, "body_excerpt": d.body_excerpt,
                 "dead_at": _iso(d.dead_at)} for d in self.store.list_dead_letters()]

    def get_audit(self) -> list[dict[str, Any]]:
        """Return every event with its received and applied counts."""
        return [
            {"event_id": e.event_id, "type": e.type, "order_id": e.order_id,
             "received": e.received, "applied": e.applied}
            for e in self.store.list_events()
        ]


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    return str(value)
