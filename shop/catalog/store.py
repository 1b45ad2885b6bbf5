"""catalog's tables in SQLite (SQLAlchemy Core) and the ``CatalogStore`` the domain uses."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    func,
    insert,
    select,
    update,
)

from shop.catalog.model import Line, Product, Reservation, ReservationStatus, StockRecord
from shop.kit.db import read_scope

metadata = MetaData()

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("category", String(50), nullable=False, index=True),
    Column("price_cents", Integer, nullable=False),
    Column("stock", Integer, nullable=False),
    Column("seeded_stock", Integer, nullable=False),
)

reservations = Table(
    "reservations",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
)

reservation_items = Table(
    "reservation_items",
    metadata,
    Column("order_id", ForeignKey("reservations.order_id"), primary_key=True),
    Column("product_id", ForeignKey("products.id"), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("qty", Integer, nullable=False),
)


def _product(row: Row) -> Product:
    return Product(row.id, row.name, row.category, row.price_cents, row.stock)


def _lines(conn: Connection, order_id: str | None = None) -> dict[str, tuple[Line, ...]]:
    """Return the lines of one reservation (or of all), in the order they were asked for, by order id."""
    query = select(reservation_items).order_by(reservation_items.c.order_id, reservation_items.c.position)
    if order_id is not None:
        query = query.where(reservation_items.c.order_id == order_id)
    lines: dict[str, list[Line]] = {}
    for r in conn.execute(query):
        lines.setdefault(r.order_id, []).append(Line(r.product_id, r.qty))
    return {key: tuple(items) for key, items in lines.items()}


class CatalogTx:
    """The domain's view of one write transaction on one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get_products(self, ids: Iterable[int]) -> dict[int, Product]:
        """Return the products with these ids."""
        wanted = list(ids)
        rows = self.conn.execute(select(products).where(products.c.id.in_(wanted)))
        return {r.id: _product(r) for r in rows}

    def set_stock(self, product_id: int, stock: int) -> None:
        """Set a product's current stock."""
        self.conn.execute(update(products).where(products.c.id == product_id).values(stock=stock))

    def restock(self, product_id: int, stock: int) -> None:
        """Set stock and shift seeded stock by the same delta."""
        # SQL evaluates every SET expression on the row as it was, so the delta uses the old stock.
        self.conn.execute(
            update(products)
            .where(products.c.id == product_id)
            .values(seeded_stock=products.c.seeded_stock + (stock - products.c.stock), stock=stock)
        )

    def get_reservation(self, order_id: str) -> Reservation | None:
        """Return the reservation of ``order_id`` or None."""
        row = self.conn.execute(select(reservations).where(reservations.c.order_id == order_id)).one_or_none()
        if row is None:
            return None
        items = _lines(self.conn, order_id).get(order_id, ())
        return Reservation(row.order_id, ReservationStatus(row.status), items)

    def add_reservation(self, reservation: Reservation) -> None:
        """Store a new reservation."""
        self.conn.execute(
            insert(reservations).values(
                order_id=reservation.order_id, status=reservation.status.value, created_at=time.time()
            )
        )
        if not reservation.items:
            return
        self.conn.execute(
            insert(reservation_items),
            [
                {
                    "order_id": reservation.order_id,
                    "product_id": line.product_id,
                    "position": i,
                    "qty": line.qty,
                }
                for i, line in enumerate(reservation.items)
            ],
        )

    def set_reservation_status(self, order_id: str, status: ReservationStatus) -> None:
        """Change a reservation's status."""
        self.conn.execute(
            update(reservations).where(reservations.c.order_id == order_id).values(status=status.value)
        )


class CatalogStore:
    """catalog's SQLite file; writes are BEGIN IMMEDIATE, reads deferred (kit/db.py)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[CatalogTx]:
        """Open one serialised write transaction: commit on success, roll back on error."""
        with self.engine.begin() as conn:
            yield CatalogTx(conn)

    def seed_if_empty(self, seed: Iterable[Product]) -> bool:
        """Insert the seed catalog unless products exist; say whether it seeded."""
        with self.engine.begin() as conn:
            if conn.execute(select(func.count()).select_from(products)).scalar():
                return False
            rows = [
                {
                    "id": p.id,
                    "name": p.name,
                    "category": p.category,
                    "price_cents": p.price_cents,
                    "stock": p.stock,
                    "seeded_stock": p.stock,
                }
                for p in seed
            ]
            if rows:
                conn.execute(insert(products), rows)
            return True

    def list_products(self) -> list[Product]:
        """Return every product by id."""
        with read_scope(self.engine) as conn:
            return [_product(r) for r in conn.execute(select(products).order_by(products.c.id))]

    def get_product(self, product_id: int) -> Product | None:
        """Return one product or None."""
        with read_scope(self.engine) as conn:
            row = conn.execute(select(products).where(products.c.id == product_id)).one_or_none()
            return None if row is None else _product(row)

    def list_stock(self) -> list[StockRecord]:
        """Return seeded and current stock per product."""
        with read_scope(self.engine) as conn:
            rows = conn.execute(
                select(products.c.id, products.c.seeded_stock, products.c.stock).order_by(products.c.id)
            )
            return [StockRecord(r.id, r.seeded_stock, r.stock) for r in rows]

    def list_reservations(self) -> list[Reservation]:
        """Return every reservation, oldest first."""
        with read_scope(self.engine) as conn:
            rows = conn.execute(
                select(reservations).order_by(reservations.c.created_at, reservations.c.order_id)
            ).all()
            # One read of every line instead of one per reservation (the audit reads them all).
            lines = _lines(conn)
            return [
                Reservation(r.order_id, ReservationStatus(r.status), lines.get(r.order_id, ())) for r in rows
            ]
