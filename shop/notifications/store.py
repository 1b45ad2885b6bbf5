"""Keep received events and the "sent" emails in the service's own SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shop.kit.db import is_database_ready, read_scope
from shop.notifications.model import DeadLetter, DuplicateEvent, Email, EventRecord

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("order_id", String(128), nullable=False, index=True),
    Column("user_id", String(128), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("received", Integer, nullable=False),
    Column("applied", Integer, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

emails = Table(
    "emails",
    metadata,
    Column("email_id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=False, index=True),
    Column("user_id", String(128), nullable=False, index=True),
    Column("order_id", String(128), nullable=False),
    Column("type", String(64), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)


dead_letters = Table(
    "dead_letters",
    metadata,
    Column("dead_letter_id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(128), nullable=False),
    Column("reason", String(512), nullable=False),
    Column("body_excerpt", String(512), nullable=False),
    Column("dead_at", DateTime(timezone=True), nullable=False),
)


class NotificationStore:
    """Read and write events and emails."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_schema(self) -> None:
        """Create the tables when missing."""
        metadata.create_all(self.engine)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """Open one write transaction (BEGIN IMMEDIATE on SQLite); DuplicateEvent when a racer inserted first."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except IntegrityError as exc:
            raise DuplicateEvent("a racing writer inserted the event first") from exc

    def get_event(self, conn: Connection, event_id: str) -> EventRecord | None:
        """Return the event ``event_id`` inside ``conn``'s transaction."""
        row = conn.execute(select(events).where(events.c.event_id == event_id)).mappings().first()
        return _event(row) if row else None

    def count_repeat(self, conn: Connection, event_id: str) -> None:
        """Count one more arrival of a known event."""
        conn.execute(update(events).where(events.c.event_id == event_id).values(received=events.c.received + 1))

    def insert_event(self, conn: Connection, row: dict[str, Any]) -> None:
        """Insert a first-seen event (a racing writer's insert ends the transaction in DuplicateEvent)."""
        conn.execute(insert(events).values(**row))

    def insert_email(self, conn: Connection, email: Email) -> None:
        """Record one sent email."""
        conn.execute(insert(emails).values(**email.__dict__))

    def list_emails(self, user_id: str) -> list[Email]:
        """Return the emails sent to ``user_id``, oldest first."""
        with read_scope(self.engine) as conn:
            rows = conn.execute(
                select(emails).where(emails.c.user_id == user_id).order_by(emails.c.email_id)
            ).mappings()
            return [Email(**{k: r[k] for k in Email.__dataclass_fields__}) for r in rows]

    def list_events(self) -> list[EventRecord]:
        """Return every event received."""
        with read_scope(self.engine) as conn:
            rows = conn.execute(select(events).order_by(events.c.received_at)).mappings()
            return [_event(r) for r in rows]

    def add_dead_letter(self, letter: DeadLetter) -> None:
        """Record one message the consumer set aside."""
        with self.engine.begin() as conn:
            conn.execute(insert(dead_letters).values(**letter.__dict__))

    def list_dead_letters(self) -> list[DeadLetter]:
        """Return the messages set aside, oldest first."""
        with read_scope(self.engine) as conn:
            rows = conn.execute(select(dead_letters).order_by(dead_letters.c.dead_letter_id)).mappings()
            return [DeadLetter(**{k: r[k] for k in DeadLetter.__dataclass_fields__}) for r in rows]

    def ping(self) -> bool:
        """Say whether the database answers."""
        return is_database_ready(self.engine)


def _event(row: Any) -> EventRecord:
    return EventRecord(
        event_id=row["event_id"],
        type=row["type"],
        order_id=row["order_id"],
        user_id=row["user_id"],
        received=row["received"],
        applied=row["applied"],
    )

