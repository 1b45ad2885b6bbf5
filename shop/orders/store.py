"""Keep orders, their items and the outbox in the orders service's own SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from shop.kit.db import is_database_ready, read_scope
from shop.orders.model import DuplicateOrder, Order, OrderItem, OrderStatus, OutboxEvent

metadata = MetaData()

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("user_id", String(128), nullable=False, index=True),
    Column("status", String(32), nullable=False, index=True),
    Column("reason", String(128), nullable=True),
    Column("total_cents", Integer, nullable=False),
    # The card only selects the simulator's outcome (test cards); it is never logged, and it is
    # erased when the order ends: from then on only its last four digits stay.
    Column("card", String(32), nullable=True),
    Column("card_last4", String(4), nullable=True),
    Column("idempotency_key", String(255), nullable=True),
    Column("request_hash", String(64), nullable=True),
    Column("cart_version", Integer, nullable=True),
    Column("charge_id", String(64), nullable=True),
    # W3C trace context of the checkout, so the worker's spans join the checkout's trace.
    Column("trace_context", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # One order per (user, key): the database settles a race between two checkouts.
    UniqueConstraint("user_id", "idempotency_key", name="uq_orders_user_key"),
    # One order per cart version: two quick clicks without a key give one order.
    UniqueConstraint("user_id", "cart_version", name="uq_orders_user_cart_version"),
)

order_items = Table(
    "order_items",
    metadata,
    Column("order_id", String(64), ForeignKey("orders.order_id"), primary_key=True),
    Column("product_id", Integer, primary_key=True),
    Column("name", String(256), nullable=False, default=""),
    Column("qty", Integer, nullable=False),
    Column("price_cents", Integer, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("order_id", String(64), nullable=False, index=True),
    Column("user_id", String(128), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("trace_context", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()),
    Column("delivered_at", DateTime(timezone=True), nullable=True, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(512), nullable=True),
    # Per-event backoff: not tried again before this epoch time (None: at once).
    Column("next_attempt_at", Float, nullable=True),
    # Set when the event is dead-lettered: no longer tried, listed by the audit, replayable.
    Column("dead_at", DateTime(timezone=True), nullable=True),
)


def last_four(card: str | None) -> str | None:
    """Return the last four digits of a card number, or None."""
    digits = "".join(c for c in card or "" if c.isdigit())
    return digits[-4:] or None


def utcnow() -> datetime:
    """Return the current UTC time."""
    return datetime.now(UTC)


class OrderStore:
    """Read and write orders and the outbox; every write is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_schema(self) -> None:
        """Create the tables when missing."""
        metadata.create_all(self.engine)

    def ping(self) -> bool:
        """Say whether the database answers."""
        return is_database_ready(self.engine)

    # -- writes ---------------------------------------------------------------------
    def create_order(self, order: Order, event: OutboxEvent) -> None:
        """Insert the order, its items and its first outbox event in ONE transaction.

        Raises DuplicateOrder when (user, idempotency key) is taken.
        """
        now = utcnow()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(orders).values(
                        order_id=order.order_id,
                        user_id=order.user_id,
                        status=order.status,
                        reason=order.reason,
                        total_cents=order.total_cents,
                        card=order.card,
                        card_last4=last_four(order.card),
                        idempotency_key=order.idempotency_key,
                        request_hash=order.request_hash,
                        cart_version=order.cart_version,
                        trace_context=order.trace_context,
                        created_at=now,
                        updated_at=now,
                    )
                )
                conn.execute(
                    insert(order_items),
                    [
                        {"order_id": order.order_id, "product_id": i.product_id, "name": i.name,
                         "qty": i.qty, "price_cents": i.price_cents}
                        for i in order.items
                    ],
                )
                _insert_event(conn, event)
        except IntegrityError as exc:
            raise DuplicateOrder(order.order_id) from exc

    def finish_order(
        self,
        order_id: str,
        *,
        status: str,
        event: OutboxEvent,
        reason: str | None = None,
        charge_id: str | None = None,
    ) -> bool:
        """Move a pending order to ``status`` and queue ``event``, in one transaction.

        Only a ``pending`` order moves, so a rerun (or a second worker) never writes a
        second event; returns whether this call moved it.
        """
        with self.engine.begin() as conn:
            # Overwrite the erased card number on disk too, not just unlink it from the row.
            conn.exec_driver_sql("PRAGMA secure_delete = ON")
            result = conn.execute(
                update(orders)
                .where(orders.c.order_id == order_id, orders.c.status == OrderStatus.PENDING)
                .values(status=status, reason=reason, charge_id=charge_id, updated_at=utcnow(), card=None)
            )
            if result.rowcount != 1:
                return False
            _insert_event(conn, event)
        return True

    def mark_delivered(self, event_id: str) -> None:
        """Record that notifications took ``event_id`` in."""
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.event_id == event_id, outbox.c.delivered_at.is_(None))
                .values(delivered_at=utcnow(), attempts=outbox.c.attempts + 1, last_error=None)
            )

    def record_attempt(self, event_id: str, error: str, *, retry_at: float | None = None,
                       dead: bool = False) -> None:
        """Record a failed delivery attempt: retried from ``retry_at`` on, or dead-lettered."""
        with self.engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.event_id == event_id)
                .values(attempts=outbox.c.attempts + 1, last_error=error[:500], next_attempt_at=retry_at,
                        dead_at=utcnow() if dead else None)
            )

    def replay(self, event_id: str) -> OutboxEvent | None:
        """Bring a dead-lettered (or waiting) event back for delivery at once; None when unknown."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.event_id == event_id, outbox.c.delivered_at.is_(None))
                .values(attempts=0, next_attempt_at=None, dead_at=None)
            )
            if result.rowcount != 1:
                return None
            row = conn.execute(select(outbox).where(outbox.c.event_id == event_id)).mappings().one()
            return _event(row)

    # -- reads ----------------------------------------------------------------------
    def get_order(self, order_id: str) -> Order | None:
        """Return one order, or None."""
        with read_scope(self.engine) as conn:
            row = conn.execute(select(orders).where(orders.c.order_id == order_id)).mappings().first()
            if row is None:
                return None
            return _order(row, _items(conn, [order_id])[order_id])

    def get_by_key(self, user_id: str, key: str) -> Order | None:
        """Return the order a user made with ``key``, or None."""
        with read_scope(self.engine) as conn:
            row = (
                conn.execute(select(orders).where(orders.c.user_id == user_id, orders.c.idempotency_key == key))
                .mappings()
                .first()
            )
            if row is None:
                return None
            return _order(row, _items(conn, [row["order_id"]])[row["order_id"]])

    def get_by_cart_version(self, user_id: str, version: int) -> Order | None:
        """Return the order a user made from one version of the cart, or None."""
        with read_scope(self.engine) as conn:
            row = (
                conn.execute(select(orders).where(orders.c.user_id == user_id, orders.c.cart_version == version))
                .mappings()
                .first()
            )
            if row is None:
                return None
            return _order(row, _items(conn, [row["order_id"]])[row["order_id"]])

    def list_orders(self, *, user_id: str | None = None, status: str | None = None,
                    limit: int | None = None) -> list[Order]:
        """Return orders, oldest first, optionally of one user or status."""
        query = select(orders).order_by(orders.c.created_at, orders.c.order_id)
        if user_id is not None:
            query = query.where(orders.c.user_id == user_id)
        if status is not None:
            query = query.where(orders.c.status == status)
        if limit is not None:
            query = query.limit(limit)
        with read_scope(self.engine) as conn:
            rows = list(conn.execute(query).mappings())
            items = _items(conn, [r["order_id"] for r in rows])
            return [_order(r, items.get(r["order_id"], ())) for r in rows]

    def list_outbox(self, *, undelivered_only: bool = False, due_at: float | None = None,
                    limit: int | None = None) -> list[OutboxEvent]:
        """Return outbox events in the order they were written.

        ``undelivered_only`` keeps the ones still to deliver (never the dead-lettered);
        ``due_at`` also drops those whose backoff lasts past that epoch time.
        """
        query = select(outbox).order_by(outbox.c.seq)
        if undelivered_only:
            query = query.where(outbox.c.delivered_at.is_(None), outbox.c.dead_at.is_(None))
        if due_at is not None:
            query = query.where(outbox.c.next_attempt_at.is_(None) | (outbox.c.next_attempt_at <= due_at))
        if limit is not None:
            query = query.limit(limit)
        with read_scope(self.engine) as conn:
            return [_event(r) for r in conn.execute(query).mappings()]

    def list_dead_letters(self) -> list[OutboxEvent]:
        """Return the dead-lettered events, oldest first."""
        query = select(outbox).where(outbox.c.dead_at.is_not(None)).order_by(outbox.c.seq)
        with read_scope(self.engine) as conn:
            return [_event(r) for r in conn.execute(query).mappings()]

    def count_pending_work(self) -> int:
        """Count pending orders plus undelivered outbox events."""
        with read_scope(self.engine) as conn:
            pending = conn.execute(
                select(func.count()).select_from(orders).where(orders.c.status == OrderStatus.PENDING)
            ).scalar_one()
            # A dead-lettered event waits for an admin, not for the worker: it is no pending work.
            undelivered = conn.execute(
                select(func.count()).select_from(outbox)
                .where(outbox.c.delivered_at.is_(None), outbox.c.dead_at.is_(None))
            ).scalar_one()
        return int(pending) + int(undelivered)


def _insert_event(conn: Connection, event: OutboxEvent) -> None:
    conn.execute(
        insert(outbox).values(
            event_id=event.event_id, type=event.type, order_id=event.order_id, user_id=event.user_id,
            payload=event.payload, trace_context=event.trace_context, created_at=utcnow(), attempts=0,
        )
    )


def _event(r: Any) -> OutboxEvent:
    return OutboxEvent(
        event_id=r["event_id"], type=r["type"], order_id=r["order_id"], user_id=r["user_id"],
        payload=dict(r["payload"] or {}), delivered=r["delivered_at"] is not None,
        attempts=r["attempts"], trace_context=r["trace_context"], last_error=r["last_error"],
        dead=r["dead_at"] is not None,
    )


def _items(conn: Connection, order_ids: list[str]) -> dict[str, tuple[OrderItem, ...]]:
    out: dict[str, list[OrderItem]] = {oid: [] for oid in order_ids}
    if not order_ids:
        return {}
    rows = conn.execute(
        select(order_items).where(order_items.c.order_id.in_(order_ids)).order_by(order_items.c.product_id)
    ).mappings()
    for r in rows:
        out[r["order_id"]].append(
            OrderItem(product_id=r["product_id"], qty=r["qty"], price_cents=r["price_cents"], name=r["name"])
        )
    return {k: tuple(v) for k, v in out.items()}


def _order(row: Any, items: tuple[OrderItem, ...]) -> Order:
    return Order(
        order_id=row["order_id"], user_id=row["user_id"], status=row["status"], total_cents=row["total_cents"],
        items=tuple(items), card=row["card"], reason=row["reason"], idempotency_key=row["idempotency_key"],
        charge_id=row["charge_id"], trace_context=row["trace_context"], created_at=row["created_at"], updated_at=row["updated_at"],
        request_hash=row["request_hash"], cart_version=row["cart_version"], card_last4=row["card_last4"],
    )
