"""Keep the payments ledger (one row per charge) in the service's own SQLite file."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shop.kit.db import is_database_ready, read_scope
from shop.payments.model import ChargeRow, DuplicateKey

metadata = MetaData()

charges = Table(
    "charges",
    metadata,
    Column("charge_id", String(64), primary_key=True),
    # Unique: the database, not the code path, guarantees one charge per key.
    Column("idempotency_key", String(128), nullable=False, unique=True),
    Column("order_id", String(128), nullable=False, index=True),
    Column("amount_cents", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("card_last4", String(4), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.current_timestamp()),
)


class LedgerStore:
    """Read and write the ledger."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_schema(self) -> None:
        """Create the tables when missing."""
        metadata.create_all(self.engine)

    def get_by_key(self, key: str) -> ChargeRow | None:
        """Return the charge recorded under ``key``, if any."""
        with read_scope(self.engine) as conn:
            row = conn.execute(select(charges).where(charges.c.idempotency_key == key)).mappings().first()
        return _row(row) if row else None

    def insert(self, charge: ChargeRow) -> None:
        """Insert one charge; raise DuplicateKey when its key is taken."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(charges).values(**charge.__dict__))
        except IntegrityError as exc:
            raise DuplicateKey(charge.idempotency_key) from exc

    def delete(self, charge_id: str) -> bool:
        """Delete one row (admin test hook); say whether it existed."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(charges).where(charges.c.charge_id == charge_id))
        return bool(result.rowcount)

    def list_all(self) -> list[ChargeRow]:
        """Return every charge, oldest first."""
        with read_scope(self.engine) as conn:
            rows = conn.execute(select(charges).order_by(charges.c.created_at, charges.c.charge_id)).mappings()
            return [_row(r) for r in rows]

    def ping(self) -> bool:
        """Say whether the database answers."""
        return is_database_ready(self.engine)


def _row(row: Any) -> ChargeRow:
    return ChargeRow(
        charge_id=row["charge_id"],
        idempotency_key=row["idempotency_key"],
        order_id=row["order_id"],
        amount_cents=row["amount_cents"],
        status=row["status"],
        card_last4=row["card_last4"] or "",
    )
