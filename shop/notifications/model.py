"""Name what notifications speaks of: received events and the "sent" emails.

No Flask, no SQLAlchemy, no HTTP: the store, the service and the api import these words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EventRecord:
    """One received event and how often it arrived / took effect."""

    event_id: str
    type: str
    order_id: str
    user_id: str
    received: int
    applied: int


@dataclass(frozen=True)
class Email:
    """One "sent" email."""

    event_id: str
    user_id: str
    order_id: str
    type: str
    subject: str
    body: str
    sent_at: Any


class DuplicateEvent(Exception):
    """A racing writer inserted this event first (the store's signal to the service)."""


@dataclass(frozen=True)
class DeadLetter:
    """A message the consumer could not parse, set aside in the dead-letter queue (never retried)."""

    message_id: str
    reason: str
    body_excerpt: str
    dead_at: Any


class UnparseableEvent(Exception):
    """A message body is not an order event (bad JSON, missing or mistyped field)."""
